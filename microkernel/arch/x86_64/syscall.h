// syscall.h: the x86_64 side of arch/interface/user.h: SYSCALL/SYSRET entry,
// the first entry to user mode (IRETQ), and the per-CPU user-mode set-up
// (MSRs, SMEP/SMAP/UMIP).
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

#include "arch/interface/user.h"

extern "C" {
// SYSCALL target (syscall.S).
void syscall_entry();
// IRETQ to user mode (syscall.S); see kern::arch::enter_user.
[[noreturn]] void capos_enter_user(const kern::arch::UserEntry* e);
}
#endif
