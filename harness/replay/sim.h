// sim.h: a host simulation of per-CPU dispatch driven by a placement policy.
//
// It models what the kernel does (sched/sched.cpp + object/scheduler_control)
// at timer-tick granularity with the very same lib pieces — EventRing,
// PendingTable with per-decision deadlines, ServerHealth demotion rules,
// check_decision, default_placement — and a policy running as the "server"
// with a configurable answer latency (or hanging, or sending garbage). It
// writes the same trace records the kernel writes, so the conformance
// checker and the replay tool are tested on it, and policies can be
// compared without booting.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "../../microkernel/sched/placement.h"
#include "../../microkernel/sched/sched_events.h"
#include "../../servers/placement/common/policy.h"

namespace replay {

enum class ServerMode { normal, hang, garbage, crash };

struct SimOptions {
    uint32_t ncpus = 2;
    uint64_t tick_us = 4000;
    uint64_t deadline_us = 50;
    uint64_t latency_us = 10;  // server answer latency
    uint64_t late_every = 0;   // every n-th runnable answer arrives after the deadline (0: never)
    uint32_t max_misses = 8;   // consecutive misses that demote
    uint32_t default_slice_ticks = 5;
    uint32_t load_every_ticks = 5;     // cpu_load events
    uint64_t server_fail_at_tick = 0;  // switch to `fail_mode` at this tick (0: never)
    ServerMode fail_mode = ServerMode::normal;
};

struct SimThreadSpec {
    uint64_t pid = 1;
    uint32_t weight = placement::kDefaultWeight;  // the kernel's default, as for an unweighted thread
    uint64_t work_ticks = 100;                    // CPU ticks until it exits
    uint64_t burst_ticks = 0;                     // run this long, then block (0: CPU-bound)
    uint64_t block_ticks = 0;
    uint64_t start_tick = 0;
};

class Sim {
public:
    Sim(const SimOptions& opt, placement::Policy* policy);
    uint64_t add_thread(const SimThreadSpec& s);  // returns the thread id
    // Runs until every thread exited or max_ticks; true if all finished.
    bool run(uint64_t max_ticks);
    // Runs `ticks` more ticks (hot swap tests stop in the middle).
    void step(uint64_t ticks);
    // Hot swap: old exports, next imports; on success next is the server and
    // continues after the old one's last seq. False (old stays) otherwise.
    bool swap(placement::Policy* next);

    const std::vector<kern::TraceRecord>& trace() const { return trace_; }
    uint64_t ticks() const { return tick_; }
    uint64_t cpu_ticks_of(uint64_t tid) const;
    bool finished(uint64_t tid) const;
    bool demoted() const { return health_.demoted(); }
    kern::SchedReason demote_reason() const { return health_.reason(); }
    const kern::ServerHealth& health() const { return health_; }
    uint64_t fallback_placements() const { return fallback_placements_; }
    std::vector<std::string> log;  // what the kernel would print
    placement::Policy* policy() const { return policy_; }
    // Threads alive in the simulated kernel (for hot-swap bookkeeping checks).
    std::vector<uint64_t> live_threads() const;
    // One line: ticks simulated (the makespan when every thread finished) and
    // their time, threads finished, each CPU's busy share of the ticks, and
    // each thread's share of all CPU ticks given (with its weight).
    std::string summary() const;

private:
    enum class St { unborn, runnable, running, blocked, exited };
    struct T {
        SimThreadSpec spec;
        uint64_t tid = 0;
        St st = St::unborn;
        uint32_t cpu = 0, last_cpu = kern::kNoCpu, assigned = kern::kNoCpu;
        uint32_t slice_ticks = 0;
        uint64_t ran = 0, burst = 0, wake_at = 0;
    };
    struct C {
        std::deque<size_t> q;
        size_t cur = SIZE_MAX;  // index into threads_, SIZE_MAX idle
        bool idle_recorded = false;
        uint32_t slice_left = 0;
        uint64_t busy = 0, idle = 0;
    };
    uint64_t now();
    void post(kern::SchedEvent e, uint32_t cpu);
    void make_runnable(size_t i, bool created);
    void enqueue(size_t i, uint32_t cpu);
    void server_step();
    void apply(const placement::Decision& d, uint64_t arrive_us);
    void demote(kern::SchedReason r);
    void switch_in(uint32_t c, size_t i);
    uint64_t load_of(uint32_t c) const;

    SimOptions opt_;
    placement::Policy* policy_;
    std::vector<T> threads_;
    std::vector<C> cpus_;
    kern::EventRing<1024> ring_;
    kern::PendingTable<256> pending_;
    kern::ServerHealth health_;
    std::vector<kern::TraceRecord> trace_;
    uint64_t tick_ = 0, sub_ = 0, runnable_answers_ = 0, fallback_placements_ = 0;
    ServerMode mode_ = ServerMode::normal;
};

}  // namespace replay
