// benchmarks/workloads/shares.h — workload "shares": what weighted threads should get, how far they were off, the result line.
//
// More CPU-bound threads than CPUs, in weight classes, spin for one fixed
// wall window; each thread's CPU time over the window is measured by the OS
// (capOS Thread.cpuTime, Linux CLOCK_THREAD_CPUTIME_ID). A thread's fair
// share is the CPUs' capacity over the window (cpus x window cycles) split in
// proportion to the weights, except that one thread can never use more than
// one CPU: a thread whose proportional share would exceed the window gets
// the window, and the rest is split again among the others (water-filling).
// The metrics compare each thread's cycles with that:
//   relative error  (cycles - expected) / expected, per thread, and the
//                   largest magnitude over the threads;
//   Jain's index    over x = cycles / expected: (sum x)^2 / (n sum x^2),
//                   1 when every thread got the same fraction of its share
//                   (proportional, even if all got less because the OS,
//                   other programs or the host took some), 1/n at worst;
//   used            sum of cycles / capacity;
//   late            how long after the window's end the last thread took its
//                   final reading, as a fraction of the window. A thread
//                   whose (virtual) CPU the host stopped at the end is still
//                   charged for that time on either OS (the TSC runs on), so
//                   a large value marks a run the host disturbed.
// Freestanding (capOS user space and the static Linux program alike): no
// libc, no heap; the floating point is plain double arithmetic.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "result_line.h"

namespace bench {

inline constexpr uint32_t kSharesMaxThreads = 16;
inline constexpr const char* kSharesTag = "[shares]";

// The default shape: 6 threads in three classes on 2 CPUs. 1024/335/110 are
// the weights CFS gives nice 0/5/10 (its sched_prio_to_weight table), so the
// Linux baseline reproduces the same ratios with setpriority.
inline constexpr uint32_t kSharesDefaultThreads = 6;
inline constexpr uint32_t kSharesDefaultWeights[kSharesDefaultThreads] = {1024, 1024, 335, 335, 110, 110};
inline constexpr uint32_t kSharesDefaultWindowMs = 4000;

// Linux nice value with CFS weight w, for the three weights above (-100 if
// w has no exact nice value here).
constexpr int shares_nice_of(uint32_t w) { return w == 1024 ? 0 : w == 335 ? 5 : w == 110 ? 10 : -100; }

// Parses "a:b:c" (decimal, 1..10000 each, at most `max`) into out; returns
// how many, 0 on any malformed or out-of-range entry.
inline uint32_t shares_parse_weights(const char* s, uint32_t* out, uint32_t max) {
    if (s == nullptr || *s == '\0') return 0;
    uint32_t n = 0;
    while (true) {
        if (*s < '0' || *s > '9' || n == max) return 0;
        uint32_t v = 0;
        for (; *s >= '0' && *s <= '9'; ++s) {
            v = v * 10 + static_cast<uint32_t>(*s - '0');
            if (v > 10000) return 0;
        }
        if (v == 0) return 0;
        out[n++] = v;
        if (*s == '\0') return n;
        if (*s != ':') return 0;
        ++s;
    }
}

struct SharesMetrics {
    uint64_t expected[kSharesMaxThreads];
    int64_t err_ppm[kSharesMaxThreads];  // (cycles - expected) / expected, parts per million
    uint64_t max_abs_err_ppm;
    uint64_t jain_ppm;  // Jain's index x 1e6
    uint64_t used_ppm;  // sum of cycles / (cpus x window) x 1e6
};

// Fair shares of `capacity` cycles among n threads of the given weights, none
// above `cap` (one CPU for the whole window). False on bad input (n out of
// range, a zero weight, capacity or cap zero).
inline bool shares_expected(const uint32_t* weights, uint32_t n, uint64_t capacity, uint64_t cap, uint64_t* out) {
    if (n == 0 || n > kSharesMaxThreads || capacity == 0 || cap == 0) return false;
    bool capped[kSharesMaxThreads] = {};
    for (uint32_t i = 0; i < n; ++i)
        if (weights[i] == 0) return false;
    uint64_t left = capacity;
    for (;;) {
        uint64_t wsum = 0;
        for (uint32_t i = 0; i < n; ++i)
            if (!capped[i]) wsum += weights[i];
        if (wsum == 0) break;  // every thread capped: the capacity exceeds n CPUs' worth
        bool changed = false;
        for (uint32_t i = 0; i < n; ++i) {
            if (capped[i]) continue;
            // left * w fits: capacity is at most a few CPUs x 2^40 cycles, w <= 10000.
            out[i] = static_cast<uint64_t>(static_cast<double>(left) * weights[i] / static_cast<double>(wsum));
            if (out[i] > cap) {
                capped[i] = true;
                changed = true;
            }
        }
        if (!changed) break;
        left = 0;
        uint64_t taken = 0;
        for (uint32_t i = 0; i < n; ++i)
            if (capped[i]) {
                out[i] = cap;
                taken += cap;
            }
        left = capacity > taken ? capacity - taken : 0;
    }
    return true;
}

// All metrics of one run. False on bad input (as shares_expected, or a
// thread whose expected share rounds to 0).
inline bool shares_metrics(const uint32_t* weights, const uint64_t* cycles, uint32_t n, uint32_t cpus, uint64_t window,
                           SharesMetrics& m) {
    if (cpus == 0 || !shares_expected(weights, n, window * cpus, window, m.expected)) return false;
    double sx = 0, sxx = 0, used = 0, worst = 0;
    for (uint32_t i = 0; i < n; ++i) {
        if (m.expected[i] == 0) return false;
        const double x = static_cast<double>(cycles[i]) / static_cast<double>(m.expected[i]);
        const double e = x - 1.0;
        m.err_ppm[i] = static_cast<int64_t>(e * 1e6 + (e < 0 ? -0.5 : 0.5));
        const double a = e < 0 ? -e : e;
        worst = a > worst ? a : worst;
        sx += x;
        sxx += x * x;
        used += static_cast<double>(cycles[i]);
    }
    m.max_abs_err_ppm = static_cast<uint64_t>(worst * 1e6 + 0.5);
    m.jain_ppm = sxx > 0 ? static_cast<uint64_t>(sx * sx / (n * sxx) * 1e6 + 0.5) : 0;
    m.used_ppm = static_cast<uint64_t>(used / (static_cast<double>(window) * cpus) * 1e6 + 0.5);
    return true;
}

struct SharesLine {
    const char* os;       // "capos" | "linux"
    const char* variant;  // "threads" (one process) | "procs" (one process per thread)
    uint32_t cpus;
    uint32_t n;
    uint64_t window;  // cycles
    const uint32_t* weights;
    const uint64_t* cycles;
    bool verified;      // every thread reported; the metrics computed
    uint64_t late_max;  // cycles: the latest thread's final read after the window's end
};

namespace detail {
inline void put_i64(LineWriter& w, int64_t v) {
    if (v < 0) w.str("-").u64(static_cast<uint64_t>(-(v + 1)) + 1);
    else w.u64(static_cast<uint64_t>(v));
}
}  // namespace detail

// One `[shares]` line (docs/benchmarks.md, "Placement workloads"); returns its
// length, 0 if it did not fit or the metrics could not be computed (then
// verified=false lines are still printed by the caller with zeros).
inline size_t format_shares_line(char* buf, size_t cap, const SharesLine& l) {
    SharesMetrics m{};
    const bool have = l.verified && shares_metrics(l.weights, l.cycles, l.n, l.cpus, l.window, m);
    LineWriter w(buf, cap);
    w.str(kSharesTag).kv_str("os", l.os).kv_str("variant", l.variant).kv("cpus", l.cpus).kv("threads", l.n);
    w.kv("window", l.window);
    w.str(" weights=");
    for (uint32_t i = 0; i < l.n; ++i) w.str(i ? "," : "").u64(l.weights[i]);
    w.str(" cycles=");
    for (uint32_t i = 0; i < l.n; ++i) w.str(i ? "," : "").u64(l.cycles[i]);
    w.str(" expected=");
    for (uint32_t i = 0; i < l.n; ++i) w.str(i ? "," : "").u64(have ? m.expected[i] : 0);
    w.str(" err_ppm=");
    for (uint32_t i = 0; i < l.n; ++i) {
        w.str(i ? "," : "");
        detail::put_i64(w, have ? m.err_ppm[i] : 0);
    }
    w.kv("max_err_ppm", have ? m.max_abs_err_ppm : 0).kv("jain_ppm", have ? m.jain_ppm : 0);
    w.kv("used_ppm", have ? m.used_ppm : 0);
    w.kv("late_ppm", l.window != 0 ? static_cast<uint64_t>(static_cast<double>(l.late_max) / l.window * 1e6 + 0.5) : 0);
    w.kv_str("verified", have ? "true" : "false");
    return w.ok() ? w.size() : 0;
}

}  // namespace bench
