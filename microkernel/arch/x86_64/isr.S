/* isr.S: interrupt and exception entry stubs. Every vector gets a stub that
   pushes a uniform frame (vector, error code, then the general registers) and
   calls isr_dispatch(InterruptFrame*). Entries from user mode swap GS so the
   kernel always finds its per-CPU block through GS. */

.section .text
.code64

/* Vectors whose exception pushes an error code. */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

.macro ISR_STUB v
    .align 16
isr_stub_\v:
    .if \v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30
    .else
    pushq $0
    .endif
    pushq $\v
    jmp isr_common
.endm

/* One stub per vector, by a counted loop rather than recursion: clang's
   assembler stops macro recursion at 20 levels. %vec passes the counter's
   value (altmacro). */
.altmacro
.set vec, 0
.rept 256
    ISR_STUB %vec
    .set vec, vec + 1
.endr

isr_common:
    testb $3, 24(%rsp)                       /* CS of the interrupted context */
    jz 1f
    swapgs
1:  pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    mov %rsp, %rdi
    cld
    call isr_dispatch
    testb $3, 144(%rsp)                      /* back to user mode? (CS above 15 regs + vector + error) */
    jz isr_return
    cli
    call user_return_prepare                 /* its kernel stack, FS base; or exit if killed */
.global isr_return
isr_return:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:  add $16, %rsp                            /* vector and error code */
    iretq

/* Table of stub addresses for the IDT builder. */
.section .rodata
.align 8
.global isr_stub_table
isr_stub_table:
.macro STUB_ADDR v
    .quad isr_stub_\v
.endm
.set vec, 0
.rept 256
    STUB_ADDR %vec
    .set vec, vec + 1
.endr
