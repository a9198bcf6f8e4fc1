// benchmarks/workloads/wakeup.h — workload "wakeup": wake-to-run delays under CPU hogs, their percentiles, the result line.
//
// While one CPU-bound hog per CPU spins for the window (shares_spin.h), two
// kinds of latency thread measure how long a woken thread waits to run:
//   timer    (cyclictest's shape) sleeps to an absolute deadline every
//            period; delay = TSC when it runs again - the deadline;
//   message  (schbench's shape) a waker thread, itself timer-driven, stamps
//            the TSC and wakes a waiter parked on a word (capOS Park, Linux
//            futex); delay = TSC when the waiter runs - the stamp.
// Each kind prints one `[wakeup]` line with the sample count and the 50th,
// 99th and 99.9th percentiles and the maximum, in TSC cycles (the harness
// converts with the line's tsc_hz). Freestanding: no libc, no heap.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "result_line.h"

namespace bench {

inline constexpr uint32_t kWakeupMaxSamples = 4096;
inline constexpr uint32_t kWakeupDefaultPeriodUs = 5000;
inline constexpr uint32_t kWakeupDefaultWindowMs = 4000;
inline constexpr const char* kWakeupTag = "[wakeup]";

// Sorts v[0..n) ascending (heap sort: no recursion, no allocation, n log n).
inline void wakeup_sort(uint64_t* v, uint32_t n) {
    auto sift = [v](uint32_t i, uint32_t end) {
        for (;;) {
            uint32_t c = 2 * i + 1;
            if (c >= end) return;
            if (c + 1 < end && v[c + 1] > v[c]) ++c;
            if (v[i] >= v[c]) return;
            const uint64_t t = v[i];
            v[i] = v[c];
            v[c] = t;
            i = c;
        }
    };
    if (n < 2) return;
    for (uint32_t i = n / 2; i-- > 0;) sift(i, n);
    for (uint32_t end = n - 1; end > 0; --end) {
        const uint64_t t = v[0];
        v[0] = v[end];
        v[end] = t;
        sift(0, end);
    }
}

// The q-quantile (q_ppm parts per million) of sorted v[0..n): the smallest
// sample with at least q of the samples at or below it (nearest rank).
inline uint64_t wakeup_quantile(const uint64_t* sorted, uint32_t n, uint32_t q_ppm) {
    if (n == 0) return 0;
    uint64_t rank = (static_cast<uint64_t>(n) * q_ppm + 999'999) / 1'000'000;  // ceil(n q)
    if (rank == 0) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

struct WakeupLine {
    const char* os;    // "capos" | "linux"
    const char* kind;  // "timer" | "message"
    uint32_t cpus;
    uint32_t hogs;
    uint64_t tsc_hz;
    uint32_t period_us;
    uint64_t* samples;  // sorted in place
    uint32_t n;
    uint32_t dropped;  // samples beyond kWakeupMaxSamples (not kept)
    bool verified;     // the run completed: hogs ran, every thread ended well
};

// One `[wakeup]` line; returns its length, 0 if it did not fit.
inline size_t format_wakeup_line(char* buf, size_t cap, const WakeupLine& l) {
    wakeup_sort(l.samples, l.n);
    const bool ok = l.verified && l.n > 0;
    LineWriter w(buf, cap);
    w.str(kWakeupTag).kv_str("os", l.os).kv_str("kind", l.kind).kv("cpus", l.cpus).kv("hogs", l.hogs);
    w.kv("tsc_hz", l.tsc_hz).kv("period_us", l.period_us).kv("samples", l.n).kv("dropped", l.dropped);
    w.kv("p50", ok ? wakeup_quantile(l.samples, l.n, 500'000) : 0);
    w.kv("p99", ok ? wakeup_quantile(l.samples, l.n, 990'000) : 0);
    w.kv("p999", ok ? wakeup_quantile(l.samples, l.n, 999'000) : 0);
    w.kv("max", ok ? l.samples[l.n - 1] : 0);
    w.kv_str("verified", ok ? "true" : "false");
    return w.ok() ? w.size() : 0;
}

}  // namespace bench
