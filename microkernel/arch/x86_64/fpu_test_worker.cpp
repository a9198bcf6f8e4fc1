// fpu_test_worker.cpp: SSE/AVX code for the FPU-state tests. Built without
// -mgeneral-regs-only (see microkernel/meson.build); only threads created
// with uses_fpu may call it.
#include "arch/x86_64/fpu_test_worker.h"

namespace kern::fpu_test {

// What both variants do with their registers loaded (the same text, so the
// SSE and AVX cases measure the same wait): spin until *counter reaches
// target or max_cycles TSC cycles pass, counting turns in spins.
#define HOLD_SPIN                                                                                \
    "rdtsc\n shl $32, %%rdx\n or %%rdx, %%rax\n mov %%rax, %%r8\n"                               \
    "1:\n"                                                                                       \
    "inc %[spins]\n"                                                                             \
    "mov (%[ctr]), %%rax\n cmp %[tgt], %%rax\n jae 2f\n"                                         \
    "rdtsc\n shl $32, %%rdx\n or %%rdx, %%rax\n sub %%r8, %%rax\n cmp %[maxc], %%rax\n jae 2f\n" \
    "pause\n jmp 1b\n"                                                                           \
    "2:\n"
// Their operands and clobbers (xmmN also names the low half of ymmN).
#define HOLD_OPERANDS                                                                                             \
    : [spins] "+r"(spins), [mxo] "=m"(mx_out)                                                                   \
    : [p] "r"(pattern), [o] "r"(out), [ctr] "r"(counter), [tgt] "r"(target), [maxc] "r"(max_cycles),           \
      [mxi] "m"(mx_in)                                                                                          \
    : "rax", "rdx", "r8", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
      "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

uint64_t hold_registers(const uint8_t* pattern, uint8_t* out, bool avx, uint32_t mxcsr,
                        const volatile uint64_t* counter, uint64_t target, uint64_t max_cycles, uint32_t* mxcsr_out) {
    uint64_t spins = 0;
    uint32_t mx_in = mxcsr;
    uint32_t mx_out = 0;
    if (avx) {
        asm volatile(
            "ldmxcsr %[mxi]\n"
            "vmovdqu 0(%[p]), %%ymm0\n vmovdqu 32(%[p]), %%ymm1\n"
            "vmovdqu 64(%[p]), %%ymm2\n vmovdqu 96(%[p]), %%ymm3\n"
            "vmovdqu 128(%[p]), %%ymm4\n vmovdqu 160(%[p]), %%ymm5\n"
            "vmovdqu 192(%[p]), %%ymm6\n vmovdqu 224(%[p]), %%ymm7\n"
            "vmovdqu 256(%[p]), %%ymm8\n vmovdqu 288(%[p]), %%ymm9\n"
            "vmovdqu 320(%[p]), %%ymm10\n vmovdqu 352(%[p]), %%ymm11\n"
            "vmovdqu 384(%[p]), %%ymm12\n vmovdqu 416(%[p]), %%ymm13\n"
            "vmovdqu 448(%[p]), %%ymm14\n vmovdqu 480(%[p]), %%ymm15\n" HOLD_SPIN
            "vmovdqu %%ymm0, 0(%[o])\n vmovdqu %%ymm1, 32(%[o])\n"
            "vmovdqu %%ymm2, 64(%[o])\n vmovdqu %%ymm3, 96(%[o])\n"
            "vmovdqu %%ymm4, 128(%[o])\n vmovdqu %%ymm5, 160(%[o])\n"
            "vmovdqu %%ymm6, 192(%[o])\n vmovdqu %%ymm7, 224(%[o])\n"
            "vmovdqu %%ymm8, 256(%[o])\n vmovdqu %%ymm9, 288(%[o])\n"
            "vmovdqu %%ymm10, 320(%[o])\n vmovdqu %%ymm11, 352(%[o])\n"
            "vmovdqu %%ymm12, 384(%[o])\n vmovdqu %%ymm13, 416(%[o])\n"
            "vmovdqu %%ymm14, 448(%[o])\n vmovdqu %%ymm15, 480(%[o])\n"
            "stmxcsr %[mxo]\n"
            "vzeroupper\n" HOLD_OPERANDS);
    } else {
        asm volatile(
            "ldmxcsr %[mxi]\n"
            "movdqu 0(%[p]), %%xmm0\n movdqu 16(%[p]), %%xmm1\n"
            "movdqu 32(%[p]), %%xmm2\n movdqu 48(%[p]), %%xmm3\n"
            "movdqu 64(%[p]), %%xmm4\n movdqu 80(%[p]), %%xmm5\n"
            "movdqu 96(%[p]), %%xmm6\n movdqu 112(%[p]), %%xmm7\n"
            "movdqu 128(%[p]), %%xmm8\n movdqu 144(%[p]), %%xmm9\n"
            "movdqu 160(%[p]), %%xmm10\n movdqu 176(%[p]), %%xmm11\n"
            "movdqu 192(%[p]), %%xmm12\n movdqu 208(%[p]), %%xmm13\n"
            "movdqu 224(%[p]), %%xmm14\n movdqu 240(%[p]), %%xmm15\n" HOLD_SPIN
            "movdqu %%xmm0, 0(%[o])\n movdqu %%xmm1, 16(%[o])\n"
            "movdqu %%xmm2, 32(%[o])\n movdqu %%xmm3, 48(%[o])\n"
            "movdqu %%xmm4, 64(%[o])\n movdqu %%xmm5, 80(%[o])\n"
            "movdqu %%xmm6, 96(%[o])\n movdqu %%xmm7, 112(%[o])\n"
            "movdqu %%xmm8, 128(%[o])\n movdqu %%xmm9, 144(%[o])\n"
            "movdqu %%xmm10, 160(%[o])\n movdqu %%xmm11, 176(%[o])\n"
            "movdqu %%xmm12, 192(%[o])\n movdqu %%xmm13, 208(%[o])\n"
            "movdqu %%xmm14, 224(%[o])\n movdqu %%xmm15, 240(%[o])\n"
            "stmxcsr %[mxo]\n" HOLD_OPERANDS);
    }
    *mxcsr_out = mx_out;
    return spins;
}

#undef HOLD_SPIN
#undef HOLD_OPERANDS

uint64_t twice_half_series(uint64_t n) {
    // Compiler-generated SSE2 arithmetic; every partial sum is an exact
    // binary fraction (below 2^53), so the result is exact if the registers
    // survive every preemption in between.
    double acc = 0.0;
    for (uint64_t i = 0; i < n; ++i) acc += static_cast<double>(i) * 0.5;
    return static_cast<uint64_t>(acc * 2.0);
}

}  // namespace kern::fpu_test
