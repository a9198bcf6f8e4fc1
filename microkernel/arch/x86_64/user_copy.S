/* user_copy.S: the only instructions that touch user memory from the kernel.
   Each access instruction has an exception-table entry (user_copy.cpp): a
   fault on it resumes at its fixup, which returns failure instead of
   oopsing. SMAP: STAC/CLAC bracket the access when the CPU has SMAP
   (g_capos_smap; the instructions #UD without it). */

.section .text
.code64

.macro SMAP_OPEN
    cmpb $0, g_capos_smap(%rip)
    je 91f
    stac
91:
.endm
.macro SMAP_CLOSE
    cmpb $0, g_capos_smap(%rip)
    je 92f
    clac
92:
.endm

/* uint64_t capos_user_copy(void* dst (rdi), const void* src (rsi), size_t n (rdx))
   returns 0 on success, 1 if a fault stopped the copy. */
.global capos_user_copy
.type capos_user_copy, @function
capos_user_copy:
    movq %rdx, %rcx
    SMAP_OPEN
.global capos_user_copy_insn
capos_user_copy_insn:
    rep movsb
    SMAP_CLOSE
    xorl %eax, %eax
    ret
.global capos_user_copy_fixup
capos_user_copy_fixup:
    SMAP_CLOSE
    movl $1, %eax
    ret
.size capos_user_copy, . - capos_user_copy

/* uint64_t capos_user_load32(const uint32_t* src (rdi), uint32_t* out (rsi))
   one atomic 32-bit load; 0 on success, 1 on fault. */
.global capos_user_load32
.type capos_user_load32, @function
capos_user_load32:
    SMAP_OPEN
.global capos_user_load32_insn
capos_user_load32_insn:
    movl (%rdi), %eax
    SMAP_CLOSE
    movl %eax, (%rsi)
    xorl %eax, %eax
    ret
.global capos_user_load32_fixup
capos_user_load32_fixup:
    SMAP_CLOSE
    movl $1, %eax
    ret
.size capos_user_load32, . - capos_user_load32

.section .note.GNU-stack, "", @progbits
