// start.h - the start-up block the kernel hands a new process's first thread.
//
// Process entry contract (implemented by libcap/crt0.S, documented in
// docs/libcap.md):
//   rip = ELF e_entry (libcap's _start)
//   rdi = user address of a StartBlock (read-only is enough; libcap copies it)
//   rsp = top of the main thread's stack, 16-byte aligned (so the first push
//         of a call mis-aligns it as the SysV ABI expects at a function entry
//         minus the return address: crt0 calls with rsp % 16 == 0)
//   FS base = thread pointer of thread 0's TLS block (x86-64 variant II, the
//         PT_TLS image copied in, %fs:0 holds the thread pointer itself);
//         set even without PT_TLS (a block of at least 16 bytes)
//   thread 0's ring is mapped and initialised at user_ring_addr(0)
//   all other general registers are zero, rflags = 0x202, x87/SSE in the
//   FNINIT / MXCSR=0x1f80 state.
// Threads created later through Process.createThread enter at `entry` with
// rdi = arg, rsp = stackTop, FS base = the TLS block of their own slot
// (layout.h), and their own ring already mapped at user_ring_addr(index).
// libcap derives `index` from the thread pointer:
//   index = (tp - kUserTlsBase) / kUserTlsStride.
//
// The block and everything it points to lie in user memory mapped read-only
// (or read-write) in the new process; the kernel never reads them back.
#pragma once

#include <stdint.h>

#include "capos/abi/cap.h"

namespace capos::abi {

inline constexpr uint32_t kStartMagic = 0x54525453;  // "STRT"
inline constexpr uint32_t kStartVersion = 1;

// Well-known initial capabilities, by index into StartBlock::wellknown. An
// entry the creator chose not to grant is kNullCap.
enum class StartCap : uint32_t {
    process = 0,  // Process: this process (exit, map, allocate, createThread)
    thread = 1,   // Thread: the main thread itself
    console = 2,  // Console: where print output goes
    park = 3,     // Park: futex-style wait/wake for this process's words
    timer = 4,    // Timer: monotonic time, sleep
    count = 8,    // room reserved for more well-known caps
};

// One further capability granted by the creator, with a name for lookup
// (for example "spawner", "placement"). The name is NUL-padded.
struct NamedCap {
    CapHandle handle;
    char name[24];
};
static_assert(sizeof(NamedCap) == 32);

struct StartBlock {
    uint32_t magic;         // kStartMagic
    uint32_t version;       // kStartVersion
    uint32_t thread_index;  // 0 for the first thread
    uint32_t named_count;   // entries at named_addr
    uint64_t ring_addr;     // this thread's ring (user_ring_addr(thread_index))
    uint64_t stack_top;     // initial rsp
    uint64_t stack_size;    // bytes mapped below stack_top
    uint64_t args_addr;     // module command line: UTF-8, NUL-terminated, args_len bytes before the NUL
    uint64_t args_len;
    uint64_t named_addr;                                          // NamedCap[named_count]
    CapHandle wellknown[static_cast<uint32_t>(StartCap::count)];  // indexed by StartCap
    uint64_t reserved[4];                                         // zero
};
static_assert(sizeof(StartBlock) == 64 + 8 * 8 + 32);

}  // namespace capos::abi
