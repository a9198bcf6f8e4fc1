// benchmarks/linux/placement_busy.h — per-CPU busy fractions between two /proc snapshots, for the placement workloads' Linux baselines.
//
// Busy = time the CPU ran tasks (/proc/schedstat run time, nanoseconds) over
// the wall time between the snapshots; a kernel without schedstat (run time
// 0 throughout) falls back to /proc/stat ticks, (user + system + irq) /
// (those + idle). The counterpart of capOS's KernelStats (user + kernel) /
// (user + kernel + idle) cycles.
#pragma once

#include <stdint.h>

#include "linux_common.h"
#include "procstats.h"

namespace bench::linux_baseline {

struct BusySnapshot {
    ProcSnapshot s;
    uint64_t ns = 0;
};

inline bool busy_take(BusySnapshot& b) {
    b.ns = monotonic_ns();
    return take(b.s);
}

// Fills out[0..cpus) with busy x 1e6 (at most 1e6); false if a snapshot lacks a CPU.
inline bool busy_ppm(const BusySnapshot& a, const BusySnapshot& b, uint32_t cpus, uint64_t* out) {
    if (a.s.cpus < cpus || b.s.cpus < cpus || b.ns <= a.ns) return false;
    bool have_run = false;
    for (uint32_t c = 0; c < cpus; ++c) have_run = have_run || b.s.cpu[c].run_ns > a.s.cpu[c].run_ns;
    for (uint32_t c = 0; c < cpus; ++c) {
        const CpuStats& x = a.s.cpu[c];
        const CpuStats& y = b.s.cpu[c];
        double f = 0;
        if (have_run) {
            f = static_cast<double>(y.run_ns - x.run_ns) / static_cast<double>(b.ns - a.ns);
        } else {
            const uint64_t busy = (y.user_j - x.user_j) + (y.system_j - x.system_j) + (y.irq_j - x.irq_j);
            const uint64_t all = busy + (y.idle_j - x.idle_j);
            f = all == 0 ? 0 : static_cast<double>(busy) / static_cast<double>(all);
        }
        out[c] = f >= 1.0 ? 1'000'000 : static_cast<uint64_t>(f * 1e6 + 0.5);
    }
    return true;
}

}  // namespace bench::linux_baseline
