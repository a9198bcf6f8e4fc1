// syscall.h: SYSCALL/SYSRET entry, first entry to user mode, and the per-CPU
// user-mode set-up (MSRs, SMEP/SMAP/UMIP).
//
// Entry contract (capos/abi/syscall.h): rax = number, rdi/rsi = arguments;
// rcx/r11 are clobbered, every other register but rax comes back unchanged.
// syscall.S switches to the running thread's kernel stack (PerCpu::
// syscall_kernel_rsp, kept current by user_return_prepare), saves the user
// registers the C ABI may clobber, enables interrupts and calls
// syscall_dispatch. On the way out it checks that the return RIP is canonical
// (SYSRET with a non-canonical RCX faults in ring 0 on Intel parts) and
// returns with IRETQ when it is not.
#pragma once

// Offsets of PerCpu fields used from assembly (checked in syscall.cpp).
#define CAPOS_PERCPU_SYSCALL_KRSP 0x60
#define CAPOS_PERCPU_SYSCALL_URSP 0x68

#ifndef __ASSEMBLER__
#include <stdint.h>

namespace kern::arch {

// CPU features found by user_cpu_init on the boot CPU.
struct UserCpuFeatures {
    bool smep;
    bool smap;
    bool umip;
    bool fsgsbase;
    bool tsc_aux;  // RDTSCP or RDPID: the TSC_AUX MSR exists
};

// Every CPU (call on each, interrupts off): EFER.SCE, STAR/LSTAR/SFMASK,
// CR4.SMEP/SMAP/UMIP where CPUID has them, KERNEL_GS_BASE = 0.
void user_cpu_init();
const UserCpuFeatures& user_cpu_features();

// Register state of a thread's first entry to user mode.
struct UserEntry {
    uint64_t rip;
    uint64_t rsp;
    uint64_t rdi;
    uint64_t rsi;
};

// Leaves the kernel for user mode with IRETQ: all other general registers
// zero, rflags = IF. The caller's kernel stack is abandoned (the next entry
// starts at the stack top). Interrupts must be off and user_return_prepare
// done.
[[noreturn]] void enter_user(const UserEntry& e);

// Writes FS base (MSR) if it differs from what this CPU last wrote.
void set_user_fs_base(uint64_t fs);

// Sets the kernel stack used by the next entry from user mode on this CPU
// (TSS.rsp0 for interrupts, PerCpu::syscall_kernel_rsp for SYSCALL).
void set_user_kernel_stack(uint64_t top);

}  // namespace kern::arch

extern "C" {
// SYSCALL target (syscall.S).
void syscall_entry();
// IRETQ to user mode (syscall.S); see kern::arch::enter_user.
[[noreturn]] void capos_enter_user(const kern::arch::UserEntry* e);
// Called by syscall.S with interrupts on; returns rax for user space.
int64_t syscall_dispatch(uint64_t arg0, uint64_t arg1, uint64_t number);
// Called with interrupts off on every return to user mode (syscall exit and
// isr.S): loads the current user thread's kernel stack and FS base, and ends
// the thread instead if it was told to exit. Implemented in ipc/syscall.cpp.
void user_return_prepare();
}
#endif
