// accel.h: what runs this guest, for the server's default decision deadline
// (docs/placement.md, "The deadline").
//
// The kernel's 50 us default is a hardware figure (KVM, bare metal). Under
// QEMU's TCG every step of a decision is emulated and the host schedules
// the vCPU threads, and the measured p99 is milliseconds, so there the
// server asks for kTcgDeadlineUs. CPUID is not privileged, so the server
// looks itself: leaf 1 ECX bit 31 says "under a hypervisor", leaf
// 0x40000000 names it; QEMU's TCG answers "TCGTCGTCGTCG" (its tcg-cpuid
// property, on by default), KVM "KVMKVMKVM\0\0\0". Anything else (bare
// metal, KVM, another hypervisor) counts as hardware speed.
#pragma once

#include <stdint.h>

namespace placement {

enum class Accel : uint8_t { hardware, tcg };

// Derived from measurement (docs/placement.md, "The deadline"): twice the
// largest decision-latency p99 of any measured boot (rings, calls, poll;
// -smp 2 and 4; multi-threaded TCG on the project's shared 2-core host),
// rounded up to 50 ms. Measured 2026-12-02 over 42 boots: largest p99
// 302 ms (rings, -smp 2, host load 5), so 650 ms.
constexpr uint64_t kTcgDeadlineUs = 650'000;
constexpr uint64_t kHardwareDeadlineUs = 50;

inline void cpuid(uint32_t leaf, uint32_t r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0u));
}

inline Accel detect_accel() {
    uint32_t r[4];
    cpuid(1, r);
    if ((r[2] & (1u << 31)) == 0) return Accel::hardware;
    cpuid(0x4000'0000u, r);
    // The 12 signature bytes are EBX, ECX, EDX in that order.
    const uint32_t tcg[3] = {0x54474354u, 0x43544743u, 0x47435447u};  // "TCGT" "CGTC" "GTCG"
    return r[1] == tcg[0] && r[2] == tcg[1] && r[3] == tcg[2] ? Accel::tcg : Accel::hardware;
}

inline const char* accel_name(Accel a) { return a == Accel::tcg ? "tcg" : "hardware"; }

inline uint64_t default_deadline_us(Accel a) { return a == Accel::tcg ? kTcgDeadlineUs : kHardwareDeadlineUs; }

}  // namespace placement
