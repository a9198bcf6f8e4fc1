/* syscall.S: SYSCALL entry/exit and the first IRETQ into user mode.
   See syscall.h for the contract. */
#include "arch/x86_64/syscall.h"

.section .text
.code64

/* Frame built on the kernel stack (low to high):
   pad r10 r9 r8 rdx rsi rdi | rip cs rflags rsp ss
   The upper five words are an IRETQ frame, used when SYSRET is unsafe. */
.global syscall_entry
.type syscall_entry, @function
syscall_entry:
    swapgs
    movq %rsp, %gs:CAPOS_PERCPU_SYSCALL_URSP
    movq %gs:CAPOS_PERCPU_SYSCALL_KRSP, %rsp
    pushq $0x23                         /* user ss */
    pushq %gs:CAPOS_PERCPU_SYSCALL_URSP /* user rsp */
    pushq %r11                          /* user rflags */
    pushq $0x2b                         /* user cs */
    pushq %rcx                          /* user rip */
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %r8
    pushq %r9
    pushq %r10
    pushq $0                            /* pad: rsp % 16 == 0 at the call */
    movq %rax, %rdx                     /* number -> third argument */
    cld
    /* Interrupts stay off (SFMASK cleared IF): cap_enter enables them
       itself before any work that may run long or wait (ring_dispatch.cpp),
       so the short NOP path never pays for an STI. */
    call syscall_dispatch
    cli
    pushq %rax
    pushq %rax                          /* keep rsp 16-byte aligned for the call */
    call user_return_prepare
    popq %rax
    popq %rax
    addq $8, %rsp                       /* pad */
    popq %r10
    popq %r9
    popq %r8
    popq %rdx
    popq %rsi
    popq %rdi
    /* SYSRET to a non-canonical RIP would #GP in ring 0 with the user rsp:
       take the IRETQ path for any RIP at or above 2^47. */
    movq 0(%rsp), %rcx
    shrq $47, %rcx
    jnz 1f
    movq 0(%rsp), %rcx
    movq 16(%rsp), %r11
    movq 24(%rsp), %rsp
    swapgs
    sysretq
1:  xorl %ecx, %ecx
    xorl %r11d, %r11d
    swapgs
    iretq
.size syscall_entry, . - syscall_entry

/* void capos_enter_user(const UserEntry* e) (rdi): rip, rsp, rdi, rsi */
.global capos_enter_user
.type capos_enter_user, @function
capos_enter_user:
    pushq $0x23                         /* ss */
    pushq 8(%rdi)                       /* rsp */
    pushq $0x202                        /* rflags: IF */
    pushq $0x2b                         /* cs */
    pushq 0(%rdi)                       /* rip */
    movq 24(%rdi), %rsi
    movq 16(%rdi), %rdi
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    swapgs
    iretq
.size capos_enter_user, . - capos_enter_user

.section .note.GNU-stack, "", @progbits
