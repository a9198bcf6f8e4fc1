// conformance.h: checks a recorded placement trace against the rules every policy must keep.
//
// Reads the same records the replay tool reads (switch-ins, events,
// decisions) and reports:
//  * work conservation: the time during which some CPU idled while some
//    thread waited (runnable, not running), as a share of the trace span
//    (`max_idle_waiting_fraction`), and each wait that lasted longer than
//    `max_wait_us` while a CPU idled;
//  * starvation: a thread that waited longer than `starve_us` in one stretch;
//  * fairness: per thread, the CPU time it got over the time it wanted a CPU
//    (runnable or running), normalized by its weight; Jain's index over every
//    thread, each counted in proportion to how long it wanted a CPU
//    (J = (sum p x)^2 / (sum p * sum p x^2); 1 = perfectly fair), per weight
//    class and over all threads;
//  * stale and invalid decisions (outcome recorded by the kernel).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../../microkernel/sched/sched_events.h"

namespace replay {

struct ConformanceOptions {
    uint64_t tsc_per_us = 1;  // trace time unit per microsecond
    // CPUs of the machine (0: those that appear in the trace). A CPU with no
    // record at all idled for the whole trace; only a count says it exists.
    uint32_t cpus = 0;
    // Waiting this long in one stretch while a CPU idles breaks work
    // conservation. More than two default slices (20 ms each): per-CPU dispatch
    // does not steal, so a thread queued behind a running one may wait a slice
    // before a policy moves it.
    uint64_t max_wait_us = 50'000;
    // Short waits add up: two threads taking turns on CPU 0 while CPU 1 idles
    // each wait one slice at a time, never max_wait_us, yet half the machine is
    // unused. So the time with an idle CPU beside a waiting thread is summed
    // over the trace, each such stretch less its first `idle_grace_us` (waking
    // an idle CPU, or a placement decision, takes a moment: under multi-threaded
    // TCG here a median 80 us at -smp 2 and 0.9 ms at an oversubscribed -smp 4,
    // tens of us under KVM), and may be at most this share of the trace span.
    uint64_t idle_grace_us = 2'000;
    double max_idle_waiting_fraction = 0.02;
    uint64_t starve_us = 1'000'000;    // a single wait this long is starvation
    double min_jain = 0.90;            // per weight class (classes with 2+ threads)
    double max_stale_fraction = 0.05;  // stale decisions / all decisions
};

struct ConformanceReport {
    uint64_t idle_while_waiting = 0;  // waits longer than max_wait_us beside an idle CPU
    uint64_t worst_idle_wait_us = 0;
    uint64_t idle_waiting_us = 0;         // time some CPU idled while some thread waited, less each stretch's grace
    double idle_waiting_fraction = 0;     // idle_waiting_us / trace span
    uint64_t idle_waiting_stretches = 0;  // stretches with an idle CPU beside a waiting thread (any length)
    uint64_t worst_idle_stretch_us = 0;
    uint32_t cpus_seen = 0;
    uint64_t starved = 0;
    uint64_t worst_wait_us = 0;
    uint64_t decisions = 0, stale = 0, invalid = 0, applied = 0;
    uint64_t deadline_misses = 0;  // deadline_missed events
    uint64_t demotions = 0;
    std::map<uint32_t, double> jain_by_weight;  // weight -> J
    std::map<uint32_t, uint32_t> threads_by_weight;
    double jain_all = 1.0;                   // over weight-normalized CPU time
    std::map<uint64_t, uint64_t> cpu_time;   // thread -> trace time units
    std::map<uint64_t, uint32_t> weight_of;  // thread -> weight
    std::map<uint64_t, uint64_t> ticks;      // thread -> tick-sampled CPU time (K records, exited threads)
    std::vector<std::string> violations;
    bool ok() const { return violations.empty(); }
    std::string text() const;
};

ConformanceReport check_conformance(const std::vector<kern::TraceRecord>& recs, const ConformanceOptions& opt);

// Jain's fairness index of xs (1.0 for an empty or all-zero list).
double jain_index(const std::vector<double>& xs);
// The same with each x_i counted weights[i] times (a thread's presence).
double jain_index(const std::vector<double>& xs, const std::vector<double>& weights);

}  // namespace replay
