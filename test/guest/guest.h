// guest.h - helpers shared by the in-guest kernel tests: raw ring calls and
// the kernel interfaces libcap has no typed calls for (Endpoint, spawner,
// ProcessHandle), encoded with the kernel's own small wire builder.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/ring.h"
#include "capos/abi/status.h"
#include "libcap/result.h"
#include "libcap/ring.h"

namespace guest {

using capos::abi::CapHandle;
using capos::abi::Cqe;
using capos::abi::Status;

inline constexpr uint64_t kConsole = 0xa6f94af60bef3cfeull;
inline constexpr uint64_t kTimer = 0x8a081c4faa03d410ull;
inline constexpr uint64_t kPark = 0xbd8700fc8d3d4bd1ull;
inline constexpr uint64_t kThread = 0x863074bdb22f9f23ull;
inline constexpr uint64_t kMemoryObject = 0xd3785753893e81b1ull;
inline constexpr uint64_t kProcess = 0x865f3159b338314aull;
inline constexpr uint64_t kProcessHandle = 0x88c92d58600d47feull;
inline constexpr uint64_t kEndpoint = 0xfa0e1cf897a76e62ull;
inline constexpr uint64_t kSpawner = 0x8fc82b59a1f6aa21ull;

// A call's raw completion (status not turned into an error).
struct Raw {
  Cqe cqe{};
  int64_t enter = 0;  // cap_enter result if it failed
};

// Submits one call on this thread's ring and waits for it.
Raw raw_call(CapHandle cap, uint64_t iface, uint16_t method, const void* params = nullptr, uint32_t plen = 0,
             void* result = nullptr, uint32_t rmax = 0, CapHandle* caps = nullptr, uint16_t caps_in = 0,
             uint16_t caps_out = 0, uint16_t flags = 0);

// A message of n UInt64 data words.
uint32_t words_msg(void* buf, uint32_t cap, const uint64_t* w, uint16_t n);

struct Quotas {
  uint64_t frames = 0;
  uint32_t cap_slots = 0, threads = 0, outstanding_calls = 0;
};

struct Spawned {
  CapHandle handle = 0;
  uint64_t pid = 0;
};

// ProcessSpawner.spawn of boot module `module`; grants[i] named names[i].
cap::Result<Spawned> spawn(const char* module, const char* args, const char* const* names, CapHandle* grants,
                           uint32_t ngrants, const Quotas* q = nullptr);
struct Exit {
  int64_t code;
  uint16_t reason;
};
cap::Result<Exit> wait_process(CapHandle handle);
cap::Result<void> kill_process(CapHandle handle);
cap::Result<uint64_t> free_frames();
struct KernelMemory {
  uint64_t free_frames, heap_in_use, heap_mapped, heap_allocations, processes;
};
cap::Result<KernelMemory> kernel_memory();
// Process.dropCaps (KERNEL method 8): empties the given slots of this process.
cap::Result<void> drop_caps(CapHandle* caps, uint16_t n);

cap::Result<CapHandle> create_endpoint();
cap::Result<CapHandle> mint(CapHandle ep, uint64_t badge);
struct Incoming {
  uint64_t call_id, badge, iface;
  uint16_t method;
  const uint8_t* params;
  uint32_t params_len;
  uint32_t cap_count;
  bool timed_out;
  CapHandle caps[4];
};
// buf keeps the received message (params point into it).
cap::Result<Incoming> receive(CapHandle ep, uint64_t timeout_ns, void* buf, uint32_t buflen);
cap::Result<void> reply(CapHandle ep, uint64_t call_id, int32_t status, const void* results, uint32_t rlen,
                        CapHandle* caps, uint16_t ncaps);

// Which CPU the caller runs on (RDTSCP's TSC_AUX, set by the kernel).
uint32_t cpu_now();

}  // namespace guest
