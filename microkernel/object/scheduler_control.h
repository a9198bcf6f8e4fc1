// scheduler_control.h: the SchedulerControl kernel object (schema/scheduler.capnp):
// how one user-space placement server steers dispatch without dispatch ever
// waiting for it.
//
// Mechanism (docs/placement.md has the whole story):
//  * Events. Dispatch reports user threads created / runnable / blocked /
//    exited and, every kLoadEveryTicks ticks, each CPU's load, into one
//    EventRing (sched/sched_events.h) with sequence numbers. The server's
//    own threads are not reported (it would chase its own wake-ups).
//  * Decisions. `place` applies the server's commands as data: a standing
//    assignment per thread (CPU, slice) that dispatch reads lock-free at the
//    thread's next wake-up or preemption, weights, the default slice. A
//    decision answering a runnable event is checked against that event's
//    deadline (PendingTable): in time, the thread is also moved at once if
//    it still waits in a queue; late or already answered, it is rejected as
//    stale. An impossible decision (bad CPU, weight, kind, a seq never
//    posted) or a malformed message demotes the server.
//  * Deadlines. Each CPU sweeps its own expired pending events every tick
//    and posts deadline_missed; the built-in default already placed the
//    thread. kMaxConsecutiveMisses misses in a row demote the server.
//  * Demotion (misses, invalid command, the server process exiting, detach)
//    drops every standing assignment, logs the reason on the console and
//    leaves placement to default_placement; the system keeps running.
//  * Hot swap. `attach` from another process makes it the server (new
//    epoch); the old one's calls fail with `stale_slot` from then on and its
//    decisions carry a stale epoch. Standing assignments stay in force
//    across the handover, so threads never pass through the default policy
//    while the state moves from the old server to the new one.
//  * Trace. With the kernel option `strace` (or the method
//    traceDump), per-CPU buffers record events, decisions, placements and
//    switch-ins with TSC stamps, dumped as "T ..." lines.
#pragma once

#include <stdint.h>

#include "cap/cap_table.h"

namespace kern {

struct Call;
class UserThread;
class Process;

// Latency histogram of the decision statistics (the stats method): log-linear, 16
// buckets per octave of nanoseconds (values below 16 ns exact), so a bucket
// is at most 1/16 (6 %) wide from 16 ns to over a minute in 640 counters.
// (The first version had 1 us buckets up to 20 ms, where TCG's p99 lives.)
// Percentiles are bucket lower bounds. Host-tested (test/unit/placement).
class LatencyHistogram {
public:
    static constexpr uint32_t kSub = 16, kBuckets = 640;
    void add(uint64_t ns) {
        __atomic_fetch_add(&b_[index(ns)], 1u, __ATOMIC_RELAXED);
        __atomic_fetch_add(&n_, 1, __ATOMIC_RELAXED);
    }
    uint64_t count() const { return __atomic_load_n(&n_, __ATOMIC_RELAXED); }
    // Percentile p (0..100): the lower bound of the bucket holding it (ns).
    uint64_t percentile(uint32_t p) const {
        uint64_t n = count();
        if (n == 0) return 0;
        uint64_t want = (n * p + 99) / 100;
        if (want == 0) want = 1;
        uint64_t seen = 0;
        for (uint32_t i = 0; i < kBuckets; ++i) {
            seen += __atomic_load_n(&b_[i], __ATOMIC_RELAXED);
            if (seen >= want) return lower(i);
        }
        return lower(kBuckets - 1);
    }
    static uint32_t index(uint64_t v) {
        if (v < kSub) return static_cast<uint32_t>(v);
        uint32_t e = 63u - static_cast<uint32_t>(__builtin_clzll(v));  // >= 4
        uint32_t sub = static_cast<uint32_t>(v >> (e - 4)) & (kSub - 1);
        uint32_t i = (e - 3) * kSub + sub;
        return i < kBuckets ? i : kBuckets - 1;
    }
    static uint64_t lower(uint32_t i) {
        if (i < kSub) return i;
        uint32_t e = i / kSub + 3, sub = i % kSub;
        return (uint64_t{kSub} + sub) << (e - 4);
    }

private:
    uint32_t b_[kBuckets] = {};
    uint64_t n_ = 0;
};

class SchedulerControl final : public KernelObject {
public:
    // Interface id and method ordinals: cap::schema::SchedulerControl
    // (schema/scheduler.capnp, generated).
    static constexpr uint64_t kDefaultDeadlineNs = 50'000;
    static constexpr uint32_t kMaxConsecutiveMisses = 8;
    static constexpr uint32_t kLoadEveryTicks = 25;  // 100 ms at 250 Hz

    static SchedulerControl& get();
    // Boot CPU, after sched::init and timekeeper_init: installs the dispatch
    // observer and starts the notifier thread. `trace` turns tracing on.
    static void init(bool trace);
    static void invoke(Call& call, SchedulerControl& o);
    // Thread.setWeight (object/process_invoke.cpp): weight 1..10000 for fair-share.
    static void thread_set_weight(Call& call, UserThread& t);
    // Process teardown (every process): demotes the server if it was pid.
    static void process_exited(uint64_t pid);

    SchedulerControl() : KernelObject(ObjectType::scheduler_control) {}

private:
    void on_last_ref() override {}
};

}  // namespace kern
