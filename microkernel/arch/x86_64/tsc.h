// tsc.h: the TSC rate as measured at boot (arch/interface/timer.h has the
// public conversion helpers).
#pragma once

#include <stdint.h>

namespace kern::arch {

// a * b / c with a 128-bit intermediate (mul + div; no libgcc in the
// kernel). Saturates at UINT64_MAX when the quotient does not fit; c > 0.
inline uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c) {
    uint64_t lo, hi;
    asm("mulq %3" : "=a"(lo), "=d"(hi) : "a"(a), "rm"(b));
    if (hi >= c) return ~0ull;
    uint64_t q, r;
    asm("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(c));
    (void)r;
    return q;
}

// Records the calibrated TSC rate (boot CPU, once).
void tsc_set_hz(uint64_t hz);
// CPUID 0x15 (crystal ratio) TSC rate, 0 when the leaf is absent or partial.
uint64_t tsc_hz_from_cpuid15();
// CPUID 0x16 base frequency in Hz, 0 when absent.
uint64_t tsc_hz_from_cpuid16();

}  // namespace kern::arch
