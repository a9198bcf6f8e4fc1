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

.altmacro
.macro ISR_STUBS from, to
    ISR_STUB \from
    .if \to-\from
    ISR_STUBS %(\from+1), \to
    .endif
.endm

ISR_STUBS 0, 63
ISR_STUBS 64, 127
ISR_STUBS 128, 191
ISR_STUBS 192, 255

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
.macro STUB_ADDRS from, to
    STUB_ADDR \from
    .if \to-\from
    STUB_ADDRS %(\from+1), \to
    .endif
.endm
STUB_ADDRS 0, 63
STUB_ADDRS 64, 127
STUB_ADDRS 128, 191
STUB_ADDRS 192, 255
