/* context_switch.S: kernel thread context switch and the first entry of a new
   thread. A switched-out thread's stack holds, from its saved rsp upward:
   r15 r14 r13 r12 rbx rbp, then the return address. Caller-saved registers
   are the C++ caller's business; FPU state is handled in C++ (fpu.cpp). */

.section .text
.code64

/* void context_switch(uint64_t* save_rsp (rdi), uint64_t new_rsp (rsi)) */
.global context_switch
.type context_switch, @function
context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.size context_switch, . - context_switch

/* First "return" of a new thread: r12 = entry, r13 = arg (from the frame
   Thread::create built). rsp is 16-byte aligned here, as before a call. */
.global thread_trampoline
.type thread_trampoline, @function
thread_trampoline:
    movq %r12, %rdi
    movq %r13, %rsi
    xorl %ebp, %ebp
    call sched_thread_start
    ud2
.size thread_trampoline, . - thread_trampoline

.section .note.GNU-stack, "", @progbits
