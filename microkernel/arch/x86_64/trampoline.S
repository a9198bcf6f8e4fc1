/* trampoline.S: AP start-up. The blob between trampoline_start and
   trampoline_end is copied to TRAMP_BASE (below 1 MiB) and entered there by
   the SIPI in real mode (CS = TRAMP_BASE >> 4, IP = 0). It switches to
   protected mode, enables PAE and long mode with the private trampoline
   PML4 (identity page + the kernel's upper half), and jumps to ap_entry64 in
   the kernel image, which switches to the kernel PML4 and the CPU's stack.
   The BSP fills the parameter block (tr_params) before each SIPI and starts
   one AP at a time. Must match smp.cpp: TRAMP_BASE and the param layout. */

#define TRAMP_BASE 0x8000
#define REL(x) ((x) - trampoline_start)
#define ABS(x) (TRAMP_BASE + REL(x))

.section .rodata
.align 16
.global trampoline_start
.global trampoline_end
.global trampoline_params
trampoline_start:
.code16
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    movb $1, REL(tr_started)
    lgdtl REL(tr_gdtr)
    mov %cr0, %eax
    or $1, %eax                              /* PE */
    mov %eax, %cr0
    ljmpl $0x08, $ABS(tr_pm32)

.code32
tr_pm32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $((1 << 5) | (1 << 7)), %eax          /* PAE, PGE */
    mov %eax, %cr4
    mov ABS(tr_cr3), %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx                    /* EFER: the BSP's value (LME, NXE, ...) */
    mov ABS(tr_efer), %eax
    mov ABS(tr_efer) + 4, %edx
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax    /* PG, WP, PE */
    mov %eax, %cr0
    ljmp $0x18, $ABS(tr_lm64)

.code64
tr_lm64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov ABS(tr_percpu), %rdi
    mov ABS(tr_stack), %rsi
    mov ABS(tr_kernel_cr3), %rdx
    mov ABS(tr_entry), %rax
    jmp *%rax

.align 16
tr_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff                 /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff                 /* 0x10: data */
    .quad 0x00af9a000000ffff                 /* 0x18: 64-bit code */
tr_gdt_end:
tr_gdtr:
    .short tr_gdt_end - tr_gdt - 1
    .long ABS(tr_gdt)

.align 8
trampoline_params:
tr_cr3:        .quad 0                       /* +0  private PML4 (below 4 GiB) */
tr_kernel_cr3: .quad 0                       /* +8  kernel PML4 */
tr_stack:      .quad 0                       /* +16 stack top (kernel virtual) */
tr_percpu:     .quad 0                       /* +24 PerCpu* */
tr_entry:      .quad 0                       /* +32 ap_entry64 */
tr_efer:       .quad 0                       /* +40 EFER value */
tr_started:    .quad 0                       /* +48 set by the AP in real mode */
trampoline_end:

/* Kernel-image half: runs on the private PML4, whose upper half is the
   kernel's, then moves to the real kernel PML4 and the CPU's stack. */
.section .text
.code64
.global ap_entry64
ap_entry64:
    mov %rdx, %cr3
    mov %rsi, %rsp
    xor %ebp, %ebp
    call smp_ap_main
1:  cli
    hlt
    jmp 1b
