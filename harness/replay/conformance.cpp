// conformance.cpp: work conservation, starvation, Jain's index, stale/invalid decisions.
#include "conformance.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace replay {

double jain_index(const std::vector<double>& xs) {
  double s = 0, s2 = 0;
  for (double x : xs) {
    s += x;
    s2 += x * x;
  }
  if (xs.empty() || s2 == 0) return 1.0;
  return s * s / (static_cast<double>(xs.size()) * s2);
}

namespace {
struct ThreadTrack {
  bool waiting = false;    // runnable and not running
  bool running = false;
  bool blocked = false;
  uint64_t wait_since = 0;
  uint64_t first_seen = 0, last_seen = 0;
  uint32_t weight = 0;
  bool wanting = false;    // runnable (waiting or running) since want_since
  uint64_t want_since = 0;
  uint64_t want = 0;       // total time it wanted a CPU
};
}  // namespace

ConformanceReport check_conformance(const std::vector<kern::TraceRecord>& recs, const ConformanceOptions& opt) {
  ConformanceReport rep;
  const uint64_t per_us = opt.tsc_per_us == 0 ? 1 : opt.tsc_per_us;
  std::map<uint64_t, ThreadTrack> th;
  std::map<uint32_t, uint64_t> running_on;   // cpu -> tid (0 idle)
  std::map<uint32_t, uint64_t> since;        // cpu -> tsc the current thread started
  std::set<uint32_t> cpus;
  uint64_t t_first = recs.empty() ? 0 : recs.front().tsc, t_last = recs.empty() ? 0 : recs.back().tsc;

  auto touch = [&](uint64_t tid, uint64_t tsc) -> ThreadTrack& {
    ThreadTrack& t = th[tid];
    if (t.first_seen == 0) t.first_seen = tsc == 0 ? 1 : tsc;
    t.last_seen = tsc;
    return t;
  };
  auto check_idle = [&](uint64_t now) {
    // Any idle CPU now while a thread has waited longer than the bound?
    bool some_idle = false;
    for (uint32_t c : cpus)
      if (running_on[c] == 0) some_idle = true;
    if (!some_idle) return;
    for (auto& [tid, t] : th) {
      if (!t.waiting) continue;
      uint64_t w = (now - t.wait_since) / per_us;
      if (w > opt.max_wait_us) {
        ++rep.idle_while_waiting;
        rep.worst_idle_wait_us = std::max(rep.worst_idle_wait_us, w);
        t.wait_since = now;  // count one violation per bound exceeded
      }
    }
  };

  for (const auto& r : recs) {
    cpus.insert(r.cpu);
    switch (r.kind) {
    case kern::TraceKind::event: {
      auto k = static_cast<kern::SchedEventKind>(r.sub);
      if (k == kern::SchedEventKind::deadline_missed) ++rep.deadline_misses;
      if (k == kern::SchedEventKind::demoted) ++rep.demotions;
      if (r.thread_id == 0) break;
      ThreadTrack& t = touch(r.thread_id, r.tsc);
      if (k == kern::SchedEventKind::thread_created || k == kern::SchedEventKind::thread_runnable) {
        t.weight = static_cast<uint32_t>(r.b);
        rep.weight_of[r.thread_id] = t.weight;
      }
      if (k == kern::SchedEventKind::thread_runnable && !t.wanting) {
        t.wanting = true;
        t.want_since = r.tsc;
      } else if ((k == kern::SchedEventKind::thread_blocked || k == kern::SchedEventKind::thread_exited) &&
                 t.wanting) {
        t.want += r.tsc - t.want_since;
        t.wanting = false;
      }
      if (k == kern::SchedEventKind::thread_runnable && !t.running && !t.waiting) {
        t.waiting = true;
        t.blocked = false;
        t.wait_since = r.tsc;
      } else if (k == kern::SchedEventKind::thread_blocked || k == kern::SchedEventKind::thread_exited) {
        t.waiting = false;
        t.blocked = true;
      }
      break;
    }
    case kern::TraceKind::ticks:
      rep.ticks[r.thread_id] = r.a;
      break;
    case kern::TraceKind::decision:
      ++rep.decisions;
      if (r.b == 0) ++rep.applied;
      else if (r.b == 1) ++rep.stale;
      else ++rep.invalid;
      break;
    case kern::TraceKind::switch_in: {
      check_idle(r.tsc);
      uint64_t prev = running_on[r.cpu];
      if (prev != 0) {
        ThreadTrack& p = touch(prev, r.tsc);
        rep.cpu_time[prev] += r.tsc - since[r.cpu];
        p.running = false;
        if (!p.blocked) {  // preempted: it waits again
          p.waiting = true;
          p.wait_since = r.tsc;
        }
      }
      running_on[r.cpu] = r.thread_id;
      since[r.cpu] = r.tsc;
      if (r.thread_id != 0) {
        ThreadTrack& n = touch(r.thread_id, r.tsc);
        if (n.waiting) {
          uint64_t w = (r.tsc - n.wait_since) / per_us;
          rep.worst_wait_us = std::max(rep.worst_wait_us, w);
          if (w > opt.starve_us) ++rep.starved;
        }
        n.waiting = false;
        n.running = true;
        n.blocked = false;
      }
      break;
    }
    default: break;
    }
  }
  check_idle(t_last);
  for (auto& [cpu, tid] : running_on)
    if (tid != 0) rep.cpu_time[tid] += t_last - since[cpu];

  // Fairness: what share of the time a thread wanted a CPU it got
  // (cpu time / runnable time), over threads that wanted a CPU for a good
  // part of the trace; equal weights should get equal shares. (Plain CPU
  // time would call a thread that mostly sleeps "starved".)
  const double span = static_cast<double>(t_last - t_first);
  std::map<uint32_t, std::vector<double>> classes;
  std::vector<double> all;
  for (auto& [tid, t] : th) {
    if (t.wanting) t.want += t_last - t.want_since;
    if (span <= 0 || t.weight == 0 || t.want == 0) continue;
    if (static_cast<double>(t.want) < opt.fairness_min_presence * span) continue;
    double x = static_cast<double>(rep.cpu_time[tid]) / static_cast<double>(t.want);
    classes[t.weight].push_back(x);
    all.push_back(x / t.weight);
  }
  for (auto& [w, xs] : classes) {
    rep.jain_by_weight[w] = jain_index(xs);
    rep.threads_by_weight[w] = static_cast<uint32_t>(xs.size());
    if (xs.size() >= 2 && rep.jain_by_weight[w] < opt.min_jain) {
      char b[160];
      std::snprintf(b, sizeof b, "fairness: Jain's index %.3f for weight %u (%zu threads) below %.2f",
                    rep.jain_by_weight[w], w, xs.size(), opt.min_jain);
      rep.violations.push_back(b);
    }
  }
  rep.jain_all = jain_index(all);

  char b[200];
  if (rep.idle_while_waiting != 0) {
    std::snprintf(b, sizeof b, "work conservation: %llu times a CPU idled while a thread waited > %llu us (worst %llu us)",
                  static_cast<unsigned long long>(rep.idle_while_waiting),
                  static_cast<unsigned long long>(opt.max_wait_us),
                  static_cast<unsigned long long>(rep.worst_idle_wait_us));
    rep.violations.push_back(b);
  }
  if (rep.starved != 0) {
    std::snprintf(b, sizeof b, "starvation: %llu waits longer than %llu us (worst %llu us)",
                  static_cast<unsigned long long>(rep.starved), static_cast<unsigned long long>(opt.starve_us),
                  static_cast<unsigned long long>(rep.worst_wait_us));
    rep.violations.push_back(b);
  }
  if (rep.invalid != 0) {
    std::snprintf(b, sizeof b, "invalid decisions: %llu", static_cast<unsigned long long>(rep.invalid));
    rep.violations.push_back(b);
  }
  if (rep.decisions != 0 &&
      static_cast<double>(rep.stale) > opt.max_stale_fraction * static_cast<double>(rep.decisions)) {
    std::snprintf(b, sizeof b, "stale decisions: %llu of %llu", static_cast<unsigned long long>(rep.stale),
                  static_cast<unsigned long long>(rep.decisions));
    rep.violations.push_back(b);
  }
  return rep;
}

std::string ConformanceReport::text() const {
  std::string s;
  char b[240];
  std::snprintf(b, sizeof b,
                "decisions=%llu applied=%llu stale=%llu invalid=%llu misses=%llu demotions=%llu "
                "idle_while_waiting=%llu worst_wait_us=%llu jain_all=%.3f\n",
                static_cast<unsigned long long>(decisions), static_cast<unsigned long long>(applied),
                static_cast<unsigned long long>(stale), static_cast<unsigned long long>(invalid),
                static_cast<unsigned long long>(deadline_misses), static_cast<unsigned long long>(demotions),
                static_cast<unsigned long long>(idle_while_waiting), static_cast<unsigned long long>(worst_wait_us),
                jain_all);
  s += b;
  for (auto& [w, j] : jain_by_weight) {
    std::snprintf(b, sizeof b, "weight %u: threads=%u jain=%.3f\n", w, threads_by_weight.at(w), j);
    s += b;
  }
  for (auto& v : violations) s += "VIOLATION " + v + "\n";
  s += ok() ? "conformance: PASS\n" : "conformance: FAIL\n";
  return s;
}

}  // namespace replay
