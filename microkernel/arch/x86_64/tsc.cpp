// tsc.cpp: TSC rate bookkeeping and cycle/time conversions.
#include "arch/x86_64/tsc.h"

#include "arch/interface/timer.h"
#include "arch/x86_64/asm.h"

namespace kern::arch {
namespace {
uint64_t g_tsc_hz = 0;
}  // namespace

void tsc_set_hz(uint64_t hz) { g_tsc_hz = hz; }
uint64_t tsc_hz() { return g_tsc_hz; }

uint64_t tsc_hz_from_cpuid15() {
    if (cpuid(0).eax < 0x15) return 0;
    CpuidResult r = cpuid(0x15);
    if (r.eax == 0 || r.ebx == 0 || r.ecx == 0) return 0;
    return static_cast<uint64_t>(r.ecx) * r.ebx / r.eax;
}

uint64_t tsc_hz_from_cpuid16() {
    if (cpuid(0).eax < 0x16) return 0;
    return static_cast<uint64_t>(cpuid(0x16).eax & 0xffff) * 1000000ull;
}

uint64_t cycles_to_ns(uint64_t cycles) {
    if (g_tsc_hz == 0) return cycles;  // before calibration: assume 1 GHz
    return mul_div(cycles, 1000000000ull, g_tsc_hz);
}

uint64_t ns_to_cycles(uint64_t ns) {
    if (g_tsc_hz == 0) return ns;
    return mul_div(ns, g_tsc_hz, 1000000000ull);
}

void delay_ns(uint64_t ns) {
    uint64_t start = rdtsc();
    uint64_t n = ns_to_cycles(ns);
    while (rdtsc() - start < n) pause();
}

}  // namespace kern::arch
