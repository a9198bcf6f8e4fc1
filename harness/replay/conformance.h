// conformance.h: checks a recorded placement trace against the rules every policy must keep.
//
// Reads the same records the replay tool reads (switch-ins, events,
// decisions) and reports:
//  * work conservation: a CPU idle while some thread waited (runnable, not
//    running) for longer than `max_wait_us` at that moment;
//  * starvation: a thread that waited longer than `starve_us` in one stretch;
//  * fairness: CPU time per thread over the whole trace, normalized by the
//    thread's weight; Jain's index J = (sum x)^2 / (n * sum x^2) per weight
//    class and over all threads (1 = perfectly fair, 1/n = one thread got all);
//  * stale and invalid decisions (outcome recorded by the kernel).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../../microkernel/lib/sched_events.h"

namespace replay {

struct ConformanceOptions {
  uint64_t tsc_per_us = 1;          // trace time unit per microsecond
  // Waiting this long while a CPU idles breaks work conservation. More than
  // two default slices (20 ms each): per-CPU dispatch does not steal, so a
  // thread queued behind a running one may wait a slice before a policy moves it.
  uint64_t max_wait_us = 50'000;
  uint64_t starve_us = 1'000'000;   // a single wait this long is starvation
  double min_jain = 0.90;           // per weight class (classes with 2+ threads)
  double max_stale_fraction = 0.05; // stale decisions / all decisions
  // Only threads that ran at least this share of the trace span count for fairness.
  double fairness_min_presence = 0.5;
};

struct ConformanceReport {
  uint64_t idle_while_waiting = 0;   // work conservation violations
  uint64_t worst_idle_wait_us = 0;
  uint64_t starved = 0;
  uint64_t worst_wait_us = 0;
  uint64_t decisions = 0, stale = 0, invalid = 0, applied = 0;
  uint64_t deadline_misses = 0;      // deadline_missed events
  uint64_t demotions = 0;
  std::map<uint32_t, double> jain_by_weight;  // weight -> J
  std::map<uint32_t, uint32_t> threads_by_weight;
  double jain_all = 1.0;             // over weight-normalized CPU time
  std::map<uint64_t, uint64_t> cpu_time;      // thread -> trace time units
  std::map<uint64_t, uint32_t> weight_of;     // thread -> weight
  std::map<uint64_t, uint64_t> ticks;         // thread -> tick-sampled CPU time (K records, exited threads)
  std::vector<std::string> violations;
  bool ok() const { return violations.empty(); }
  std::string text() const;
};

ConformanceReport check_conformance(const std::vector<kern::TraceRecord>& recs, const ConformanceOptions& opt);

// Jain's fairness index of xs (1.0 for an empty or all-zero list).
double jain_index(const std::vector<double>& xs);

}  // namespace replay
