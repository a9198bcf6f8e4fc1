/* boot.S: Multiboot2 header and the 32-bit entry that enters long mode.
   GRUB leaves us in 32-bit protected mode with paging off, EAX = magic and
   EBX = physical address of the boot information. We check for long mode,
   map the first GiB both identity and at KERNEL_VMA with 2 MiB pages, and
   jump to the higher half. kmain() replaces these tables with its own. */

#define KERNEL_VMA 0xffffffff80000000
#define MB2_MAGIC  0xe85250d6
#define MB2_BOOT_MAGIC 0x36d76289
#define COM1 0x3f8

.section .multiboot, "a"
.align 8
mb2_header:
    .long MB2_MAGIC
    .long 0                                  /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
    /* end tag */
    .align 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

.section .boot.data, "aw"
.align 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff                 /* 0x08: 64-bit kernel code */
    .quad 0x00cf92000000ffff                 /* 0x10: kernel data */
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt

msg_not_mb2:   .asciz "capos: not loaded by a Multiboot2 loader\r\n"
msg_no_cpuid:  .asciz "capos: CPU has no extended CPUID\r\n"
msg_no_lm:     .asciz "capos: CPU does not support long mode (x86_64)\r\n"

.section .boot.bss, "aw", @nobits
.align 4096
boot_pml4:      .skip 4096
boot_pdpt_lo:   .skip 4096
boot_pdpt_hi:   .skip 4096
boot_pd:        .skip 4096
boot_stack32:   .skip 4096
boot_stack32_top:

.section .boot.text, "ax"
.code32
.global _start
_start:
    cli
    cld
    mov $boot_stack32_top, %esp
    mov %eax, %edi                           /* keep magic and info for kmain */
    mov %ebx, %esi

    cmp $MB2_BOOT_MAGIC, %eax
    jne .Lnot_mb2

    /* Extended CPUID and the long mode bit. */
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb .Lno_cpuid
    mov $0x80000001, %eax
    cpuid
    test $(1 << 29), %edx
    jz .Lno_lm
    mov %edx, %ebp                           /* remember NX support (bit 20) */

    /* Page tables: PML4[0] -> identity, PML4[511] -> PDPT[510] -> same PD. */
    mov $boot_pdpt_lo, %eax
    or $3, %eax
    mov %eax, boot_pml4
    mov $boot_pdpt_hi, %eax
    or $3, %eax
    mov %eax, boot_pml4 + 511 * 8
    mov $boot_pd, %eax
    or $3, %eax
    mov %eax, boot_pdpt_lo
    mov %eax, boot_pdpt_hi + 510 * 8
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax                           /* present, writable, 2 MiB page */
    mov %eax, boot_pd(, %ecx, 8)
    movl $0, boot_pd + 4(, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jne 1b

    mov %cr4, %eax
    or $(1 << 5), %eax                       /* PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3

    mov $0xc0000080, %ecx                    /* EFER */
    rdmsr
    or $(1 << 8), %eax                       /* LME */
    test $(1 << 20), %ebp
    jz 2f
    or $(1 << 11), %eax                      /* NXE */
2:  wrmsr

    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax    /* PG, WP, PE */
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_entry

.Lnot_mb2:
    mov $msg_not_mb2, %ebx
    jmp .Lfail
.Lno_cpuid:
    mov $msg_no_cpuid, %ebx
    jmp .Lfail
.Lno_lm:
    mov $msg_no_lm, %ebx
.Lfail:
    /* Print the reason on COM1 (unconfigured UART still takes bytes in QEMU). */
    movb (%ebx), %al
    test %al, %al
    jz 4f
    mov $COM1, %dx
    outb %al, %dx
    inc %ebx
    jmp .Lfail
4:  hlt
    jmp 4b

.code64
long_mode_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    movabs $higher_half_entry, %rax
    jmp *%rax

.section .text.entry, "ax"
.global higher_half_entry
higher_half_entry:
    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %edi, %edi                           /* zero-extend magic */
    mov %esi, %esi                           /* and the info address */
    call kmain
3:  cli
    hlt
    jmp 3b

.section .bss
.align 16
.global boot_stack_top
boot_stack:
    .skip 16384
boot_stack_top:
