// benchmarks/workloads/cycles.h — the guest cycle source used to time benchmark phases.
//
// Every timing the benchmarks report is a difference of two reads of this
// counter taken inside the guest, on capOS and on Linux alike, so the two are
// measured with the same clock. On x86_64 that is the TSC; QEMU (TCG and KVM)
// keeps it synchronised across vCPUs, so reads on different CPUs may be
// subtracted. `lfence` before `rdtsc` keeps the read from being hoisted above
// the work it brackets.
#pragma once

#include <stdint.h>

namespace bench {

#if defined(__x86_64__)
inline uint64_t cycles_now() {
    uint32_t lo = 0;
    uint32_t hi = 0;
    __asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return (static_cast<uint64_t>(hi) << 32) | lo;
}
inline constexpr const char* kCycleSource = "rdtsc";
#else
#error "bench::cycles_now: no cycle source for this architecture"
#endif

}  // namespace bench
