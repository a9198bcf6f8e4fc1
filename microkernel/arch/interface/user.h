// user.h (arch interface): running user code: per-CPU set-up, the first
// entry to user mode, the per-thread state loaded on every way out, user
// faults, raw fault-tolerant access to user memory, and the entry points
// the arch calls in generic code (ipc/syscall.cpp). x86_64: SYSCALL/SYSRET,
// IRETQ and the exception table (arch/x86_64/syscall.*, user_entry.cpp,
// user_copy.*). Generic code never sees an interrupt frame's layout:
// fault_info() is its one view of a fault.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace kern::arch {

struct InterruptFrame;

// CPU protections found by the first user_cpu_init (boot CPU).
struct UserCpuFeatures {
    bool smep;      // the kernel cannot execute user pages
    bool smap;      // the kernel cannot touch user pages outside user access
    bool umip;      // user mode cannot read descriptor-table registers
    bool fsgsbase;  // user mode may write its TLS base directly
    bool tsc_aux;   // user mode can read which CPU it runs on (RDTSCP/RDPID)
};

// Every CPU, interrupts off, before its first entry to user mode: system-call
// entry, the protections above, the user TLS base cleared. The first call
// (boot CPU) reads the features and arms the user-access primitives.
void user_cpu_init();
const UserCpuFeatures& user_cpu_features();
// Installs the exception handlers that know user mode (a fault in user mode
// goes to user_fault below; one on a user-access instruction resumes at its
// fixup). Once, during bring-up; calling it again is harmless.
void user_exceptions_init();

// Register state of a thread's first entry to user mode.
struct UserEntry {
    uint64_t rip;  // entry point
    uint64_t rsp;  // stack top
    uint64_t rdi;  // first argument
    uint64_t rsi;  // second argument
};
// Leaves the kernel for user mode, every other register zero and interrupts
// on there. The caller's kernel stack is abandoned (the next entry starts at
// its top). Interrupts must be off and user_return_prepare() done.
[[noreturn]] void enter_user(const UserEntry& e);
// Per-thread state, set on each return to user mode (interrupts off):
// the user TLS base (skipped if this CPU already holds it) and the kernel
// stack the next entry from user mode on this CPU uses.
void set_user_fs_base(uint64_t fs);
void set_user_kernel_stack(uint64_t top);

// A fault as generic code reports it.
struct FaultInfo {
    uint64_t vector;  // exception number
    uint64_t error;   // error code (0 where the exception has none)
    uint64_t ip;      // faulting instruction
    uint64_t sp;      // stack pointer at the fault
    uint64_t addr;    // faulting address of a page fault, else 0
};
// Any exception frame; on the faulting CPU (addr is read from it).
FaultInfo fault_info(const InterruptFrame& f);
// Prints the full register report of an unexpected exception.
void report_exception(const InterruptFrame& f);

}  // namespace kern::arch

extern "C" {
// Raw user-memory access: callers go through ipc/user_copy.h, which checks
// the range first; these only guarantee that a fault inside the access
// returns failure. 0 on success, 1 when a fault stopped it (a copy may have
// copied part).
uint64_t capos_user_copy(void* dst, const void* src, size_t n);
// One atomic 32-bit load from user memory.
uint64_t capos_user_load32(const uint32_t* src, uint32_t* out);

// Implemented by generic code (ipc/syscall.cpp), called by the arch:
// the system call, with interrupts on; returns the result register.
int64_t syscall_dispatch(uint64_t arg0, uint64_t arg1, uint64_t number);
// Every return to user mode (syscall exit and interrupt return), interrupts
// off: loads the current user thread's kernel stack and TLS base, and ends
// the thread instead if it was told to exit.
void user_return_prepare();
}

// Implemented by generic code (ipc/syscall.cpp): an exception taken in user
// mode (interrupts off); never returns.
[[noreturn]] void user_fault(kern::arch::InterruptFrame& frame);
