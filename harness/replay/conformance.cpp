// conformance.cpp: work conservation, starvation, Jain's index, stale/invalid decisions.
#include "conformance.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace replay {

double jain_index(const std::vector<double>& xs) { return jain_index(xs, std::vector<double>(xs.size(), 1.0)); }

double jain_index(const std::vector<double>& xs, const std::vector<double>& weights) {
    double s = 0, s2 = 0, n = 0;
    for (size_t i = 0; i < xs.size() && i < weights.size(); ++i) {
        s += weights[i] * xs[i];
        s2 += weights[i] * xs[i] * xs[i];
        n += weights[i];
    }
    if (n <= 0 || s2 == 0) return 1.0;
    return s * s / (n * s2);
}

namespace {
struct ThreadTrack {
    bool waiting = false;  // runnable and not running
    bool running = false;
    bool blocked = false;
    // The trace posted an event for it (user threads under placement). Kernel
    // threads and threads older than the trace only switch in and out; whether
    // one left its CPU blocked or preempted is unknown, so it is never counted
    // as waiting.
    bool known = false;
    uint64_t pid = 0;
    // A thread of the placement server: from its attach on the kernel posts
    // nothing about the server's own threads (they are not placed by it), so
    // they leave the checks like kernel threads.
    bool server = false;
    uint64_t wait_since = 0;
    uint64_t idle_mark = 0;  // start of the wait stretch the work-conservation bound counts from
    uint64_t first_seen = 0, last_seen = 0;
    uint32_t weight = 0;
    bool wanting = false;  // runnable (waiting or running) since want_since
    uint64_t want_since = 0;
    uint64_t want = 0;  // total time it wanted a CPU
};
}  // namespace

ConformanceReport check_conformance(const std::vector<kern::TraceRecord>& recs, const ConformanceOptions& opt) {
    ConformanceReport rep;
    const uint64_t per_us = opt.tsc_per_us == 0 ? 1 : opt.tsc_per_us;
    std::map<uint64_t, ThreadTrack> th;
    std::map<uint32_t, uint64_t> running_on;  // cpu -> tid (0 idle)
    std::map<uint32_t, uint64_t> since;       // cpu -> tsc the current thread started
    std::set<uint32_t> cpus;
    // CPUs named by the option exist from the start, idle until a record says otherwise.
    for (uint32_t c = 0; c < opt.cpus; ++c) {
        cpus.insert(c);
        running_on[c] = 0;
    }
    uint64_t t_first = recs.empty() ? 0 : recs.front().tsc, t_last = recs.empty() ? 0 : recs.back().tsc;
    uint64_t t_prev = t_first;
    bool idle_beside_wait = false;  // state since t_prev
    uint64_t stretch_since = 0;     // start of the current idle-beside-waiting stretch
    uint64_t overlap = 0;           // trace units beyond each stretch's grace
    const uint64_t grace = opt.idle_grace_us * per_us;
    auto end_stretch = [&](uint64_t now) {
        const uint64_t len = now - stretch_since;
        ++rep.idle_waiting_stretches;
        rep.worst_idle_stretch_us = std::max(rep.worst_idle_stretch_us, len / per_us);
        if (len > grace) overlap += len - grace;
    };

    auto touch = [&](uint64_t tid, uint64_t tsc) -> ThreadTrack& {
        ThreadTrack& t = th[tid];
        if (t.first_seen == 0) t.first_seen = tsc == 0 ? 1 : tsc;
        t.last_seen = tsc;
        return t;
    };
    auto some_idle = [&]() {
        for (uint32_t c : cpus)
            if (running_on[c] == 0) return true;
        return false;
    };
    auto check_idle = [&](uint64_t now) {
        // Any idle CPU now while a thread has waited longer than the bound?
        if (!some_idle()) return;
        for (auto& [tid, t] : th) {
            if (!t.waiting) continue;
            uint64_t w = (now - t.idle_mark) / per_us;
            if (w > opt.max_wait_us) {
                ++rep.idle_while_waiting;
                rep.worst_idle_wait_us = std::max(rep.worst_idle_wait_us, (now - t.wait_since) / per_us);
                t.idle_mark = now;  // count one violation per bound exceeded (the wait itself goes on)
            }
        }
    };
    // Called after each record: the state holds until the next record's time.
    auto update_overlap = [&](uint64_t now) {
        bool waiting = false;
        for (auto& [tid, t] : th)
            if (t.waiting) waiting = true;
        const bool was = idle_beside_wait;
        idle_beside_wait = waiting && some_idle();
        if (idle_beside_wait && !was) stretch_since = now;
        if (!idle_beside_wait && was) end_stretch(now);
    };

    for (const auto& r : recs) {
        t_prev = std::max(t_prev, r.tsc);
        if (cpus.insert(r.cpu).second && !running_on.count(r.cpu)) running_on[r.cpu] = 0;
        switch (r.kind) {
            case kern::TraceKind::event: {
                auto k = static_cast<kern::SchedEventKind>(r.sub);
                if (k == kern::SchedEventKind::deadline_missed) ++rep.deadline_misses;
                if (k == kern::SchedEventKind::demoted) ++rep.demotions;
                if (r.thread_id == 0) break;
                ThreadTrack& t = touch(r.thread_id, r.tsc);
                t.known = !t.server;
                if (r.a != 0) t.pid = r.a;
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
                    t.wait_since = t.idle_mark = r.tsc;
                } else if (k == kern::SchedEventKind::thread_blocked || k == kern::SchedEventKind::thread_exited) {
                    t.waiting = false;
                    t.blocked = true;
                }
                break;
            }
            case kern::TraceKind::attach:
                for (auto& [tid, t] : th) {
                    if (t.pid == 0 || t.pid != r.b) continue;
                    t.server = true;
                    t.known = false;
                    t.waiting = false;
                    t.wanting = false;
                }
                break;
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
                    if (!p.blocked && p.known) {  // preempted: it waits again
                        p.waiting = true;
                        p.wait_since = p.idle_mark = r.tsc;
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
            default:
                break;
        }
        update_overlap(t_prev);
    }
    if (idle_beside_wait) end_stretch(t_last);
    rep.idle_waiting_us = overlap;
    check_idle(t_last);
    rep.cpus_seen = static_cast<uint32_t>(cpus.size());
    if (t_last > t_first)
        rep.idle_waiting_fraction = static_cast<double>(overlap) / static_cast<double>(t_last - t_first);
    rep.idle_waiting_us = overlap / per_us;
    for (auto& [cpu, tid] : running_on)
        if (tid != 0) rep.cpu_time[tid] += t_last - since[cpu];

    // Fairness: what share of the time a thread wanted a CPU it got
    // (cpu time / runnable time), per unit of weight; every thread counts, in
    // proportion to how long it wanted a CPU (a thread there for a moment
    // moves the index by as little as it was there). Plain CPU time would call
    // a thread that mostly sleeps "starved".
    std::map<uint32_t, std::vector<double>> classes, class_presence;
    std::vector<double> all, presence;
    for (auto& [tid, t] : th) {
        if (t.wanting) t.want += t_last - t.want_since;
        if (t.weight == 0 || t.want == 0 || t.server) continue;
        double x = static_cast<double>(rep.cpu_time[tid]) / static_cast<double>(t.want);
        classes[t.weight].push_back(x);
        class_presence[t.weight].push_back(static_cast<double>(t.want));
        all.push_back(x / t.weight);
        presence.push_back(static_cast<double>(t.want));
    }
    for (auto& [w, xs] : classes) {
        rep.jain_by_weight[w] = jain_index(xs, class_presence[w]);
        rep.threads_by_weight[w] = static_cast<uint32_t>(xs.size());
        if (xs.size() >= 2 && rep.jain_by_weight[w] < opt.min_jain) {
            char b[160];
            std::snprintf(b, sizeof b, "fairness: Jain's index %.3f for weight %u (%zu threads) below %.2f",
                          rep.jain_by_weight[w], w, xs.size(), opt.min_jain);
            rep.violations.push_back(b);
        }
    }
    rep.jain_all = jain_index(all, presence);

    char b[200];
    if (rep.idle_waiting_fraction > opt.max_idle_waiting_fraction) {
        std::snprintf(
            b, sizeof b,
            "work conservation: a CPU idled beside a waiting thread for %.1f%% of the trace (%llu us beyond %llu us "
            "per stretch), more than %.1f%%",
            100.0 * rep.idle_waiting_fraction, static_cast<unsigned long long>(rep.idle_waiting_us),
            static_cast<unsigned long long>(opt.idle_grace_us), 100.0 * opt.max_idle_waiting_fraction);
        rep.violations.push_back(b);
    }
    if (rep.idle_while_waiting != 0) {
        std::snprintf(
            b, sizeof b, "work conservation: %llu times a CPU idled while a thread waited > %llu us (worst %llu us)",
            static_cast<unsigned long long>(rep.idle_while_waiting), static_cast<unsigned long long>(opt.max_wait_us),
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
    char b[320];
    std::snprintf(
        b, sizeof b,
        "decisions=%llu applied=%llu stale=%llu invalid=%llu misses=%llu demotions=%llu "
        "idle_while_waiting=%llu idle_stretches=%llu worst_idle_stretch_us=%llu idle_waiting_us=%llu "
        "idle_waiting=%.2f%% cpus=%u worst_wait_us=%llu jain_all=%.3f\n",
        static_cast<unsigned long long>(decisions), static_cast<unsigned long long>(applied),
        static_cast<unsigned long long>(stale), static_cast<unsigned long long>(invalid),
        static_cast<unsigned long long>(deadline_misses), static_cast<unsigned long long>(demotions),
        static_cast<unsigned long long>(idle_while_waiting), static_cast<unsigned long long>(idle_waiting_stretches),
        static_cast<unsigned long long>(worst_idle_stretch_us), static_cast<unsigned long long>(idle_waiting_us),
        100.0 * idle_waiting_fraction, cpus_seen, static_cast<unsigned long long>(worst_wait_us), jain_all);
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
