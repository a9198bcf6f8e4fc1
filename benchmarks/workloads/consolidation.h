// benchmarks/workloads/consolidation.h — workload "consolidation": a partly idle periodic load; per-CPU busy and idle time and how many CPUs it kept busy.
//
// A few threads (default 3 on 2 CPUs) each do a fixed amount of work every
// period (default 20 ms): `work_blocks` blocks of the shared timed kernel
// (blockhash.h), the same on every OS, then sleep to the next period's
// start. The default (128 blocks) took 1.5-4 ms of a 20 ms period here
// (TCG on a shared host, by its load), so together they need well under one
// CPU and one CPU can carry them while the others idle (or sleep deeper). est_duty is the calibrated
// estimate of one thread's share of a period (the median of five 512-block
// batches at boot, on an idle machine): context, not a result. The result
// is the OS's per-CPU busy fraction over the window (capOS KernelStats,
// Linux /proc/schedstat), its complement the idle fraction, the number of
// CPUs busier than kConsolidationUsedPpm, and per thread the periods whose
// work ended after the next period began (missed: the price of packing).
// Freestanding: no libc, no heap.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "result_line.h"

namespace bench {

inline constexpr uint32_t kConsolidationMaxThreads = 16;
inline constexpr uint32_t kConsolidationMaxCpus = 16;
inline constexpr uint32_t kConsolidationDefaultThreads = 3;
inline constexpr uint32_t kConsolidationDefaultPeriodUs = 20000;
inline constexpr uint32_t kConsolidationDefaultWorkBlocks = 128;
inline constexpr uint32_t kConsolidationDefaultWindowMs = 4000;
// A CPU busy more than 10 % of the window counts as used.
inline constexpr uint32_t kConsolidationUsedPpm = 100000;
inline constexpr const char* kConsolidationTag = "[consolidation]";

// CPUs whose busy fraction exceeds kConsolidationUsedPpm.
inline uint32_t consolidation_cpus_used(const uint64_t* busy_ppm, uint32_t cpus) {
    uint32_t n = 0;
    for (uint32_t c = 0; c < cpus; ++c) n += busy_ppm[c] > kConsolidationUsedPpm ? 1 : 0;
    return n;
}

// Busy fraction x 1e6 of `busy` out of `total`, at most 1e6 (0 if total is 0).
inline uint64_t consolidation_ppm(uint64_t busy, uint64_t total) {
    if (total == 0) return 0;
    if (busy >= total) return 1'000'000;
    return static_cast<uint64_t>(static_cast<double>(busy) / static_cast<double>(total) * 1e6 + 0.5);
}

struct ConsolidationLine {
    const char* os;
    uint32_t cpus;
    uint32_t threads;
    uint32_t period_us;
    uint64_t est_duty_ppm;     // calibrated estimate of work_blocks' share of a period
    uint64_t window;           // cycles
    uint64_t work_blocks;      // blocks per period per thread
    const uint64_t* periods;   // per thread: periods done in the window
    const uint64_t* missed;    // per thread: of those, ended after the next period began
    const uint64_t* busy_ppm;  // per CPU
    bool verified;
};

// [consolidation] os= cpus= threads= period_us= est_duty_ppm= window= work_blocks=
//   periods=<per thread> missed=<per thread> busy_ppm=<per CPU> idle_ppm=<per CPU>
//   cpus_used= load_ppm= verified=
// load_ppm is the sum of the CPUs' busy fractions (1e6 = one CPU's worth).
inline size_t format_consolidation_line(char* buf, size_t cap, const ConsolidationLine& l) {
    const bool ok = l.verified && l.threads > 0 && l.threads <= kConsolidationMaxThreads && l.cpus > 0 &&
                    l.cpus <= kConsolidationMaxCpus;
    LineWriter w(buf, cap);
    w.str(kConsolidationTag).kv_str("os", l.os).kv("cpus", l.cpus).kv("threads", l.threads);
    w.kv("period_us", l.period_us)
        .kv("est_duty_ppm", l.est_duty_ppm)
        .kv("window", l.window)
        .kv("work_blocks", l.work_blocks);
    w.str(" periods=");
    for (uint32_t i = 0; i < l.threads; ++i) w.str(i ? "," : "").u64(l.periods[i]);
    w.str(" missed=");
    for (uint32_t i = 0; i < l.threads; ++i) w.str(i ? "," : "").u64(l.missed[i]);
    uint64_t load = 0;
    w.str(" busy_ppm=");
    for (uint32_t c = 0; c < l.cpus; ++c) {
        w.str(c ? "," : "").u64(l.busy_ppm[c]);
        load += l.busy_ppm[c];
    }
    w.str(" idle_ppm=");
    for (uint32_t c = 0; c < l.cpus; ++c)
        w.str(c ? "," : "").u64(1'000'000 - (l.busy_ppm[c] > 1'000'000 ? 1'000'000 : l.busy_ppm[c]));
    w.kv("cpus_used", ok ? consolidation_cpus_used(l.busy_ppm, l.cpus) : 0).kv("load_ppm", ok ? load : 0);
    w.kv_str("verified", ok ? "true" : "false");
    return w.ok() ? w.size() : 0;
}

}  // namespace bench
