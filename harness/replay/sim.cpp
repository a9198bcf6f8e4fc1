// sim.cpp: tick-level simulation of dispatch + SchedulerControl + a policy server.
#include "sim.h"

#include <cstdio>

#include "trace_io.h"

namespace replay {

using kern::SchedEvent;
using kern::SchedEventKind;

Sim::Sim(const SimOptions& opt, placement::Policy* policy)
    : opt_(opt), policy_(policy), cpus_(opt.ncpus), health_(opt.max_misses) {
    policy_->start(opt_.ncpus);
}

uint64_t Sim::add_thread(const SimThreadSpec& s) {
    T t;
    t.spec = s;
    t.tid = 100 + threads_.size();
    threads_.push_back(t);
    return t.tid;
}

// Trace time: microseconds; records inside one tick get distinct, increasing times.
uint64_t Sim::now() { return tick_ * opt_.tick_us + (++sub_ % (opt_.tick_us / 2)); }

void Sim::post(SchedEvent e, uint32_t cpu) {
    e.time_ns = now() * 1000;
    uint64_t seq = ring_.post(e);
    if (seq == 0) return;
    e.seq = seq;
    trace_.push_back(record_of_event(e, cpu, e.time_ns / 1000));
    if (e.kind == SchedEventKind::thread_runnable && !health_.demoted()) {
        kern::PendingEntry p;
        p.seq = seq;
        p.thread_id = e.thread_id;
        p.posted_ns = e.time_ns;
        p.deadline_ns = e.time_ns + opt_.deadline_us * 1000;
        p.cpu = e.cpu;
        kern::PendingEntry ev;
        if (pending_.add(p, &ev) && health_.on_miss()) demote(kern::SchedReason::deadline_misses);
    }
}

uint64_t Sim::load_of(uint32_t c) const {
    uint64_t l = 0;
    for (size_t i : cpus_[c].q) l += threads_[i].spec.weight;
    if (cpus_[c].cur != SIZE_MAX) l += threads_[cpus_[c].cur].spec.weight;
    return l;
}

void Sim::enqueue(size_t i, uint32_t cpu) {
    T& t = threads_[i];
    t.st = St::runnable;
    t.cpu = cpu;
    cpus_[cpu].q.push_back(i);
}

void Sim::make_runnable(size_t i, bool created) {
    T& t = threads_[i];
    // Placement, exactly as the kernel does it: a standing assignment of a
    // non-demoted server if valid, otherwise the built-in default.
    kern::CpuLoad loads[kern::kMaxCpus];
    for (uint32_t c = 0; c < opt_.ncpus; ++c) {
        loads[c].load = load_of(c);
        loads[c].idle = cpus_[c].cur == SIZE_MAX && cpus_[c].q.empty();
        loads[c].online = true;
    }
    kern::PlacementInput in;
    in.cpus = loads;
    in.ncpus = opt_.ncpus;
    in.last_cpu = t.last_cpu;
    in.waker_cpu = 0;
    in.weight = t.spec.weight;
    uint32_t cpu;
    uint8_t source = 0;
    if (!health_.demoted() && t.assigned != kern::kNoCpu && kern::placement_valid(in, t.assigned)) {
        cpu = t.assigned;
        source = 1;
    } else {
        cpu = kern::default_placement(in);
        ++fallback_placements_;
    }
    enqueue(i, cpu);
    if (created) {
        SchedEvent c;
        c.kind = SchedEventKind::thread_created;
        c.thread_id = t.tid;
        c.process_id = t.spec.pid;
        c.weight = t.spec.weight;
        c.cpu = cpu;
        post(c, cpu);
    }
    SchedEvent e;
    e.kind = SchedEventKind::thread_runnable;
    e.thread_id = t.tid;
    e.process_id = t.spec.pid;
    e.weight = t.spec.weight;
    e.cpu = cpu;
    e.run_ns = t.ran * opt_.tick_us * 1000;
    post(e, cpu);
    kern::TraceRecord p;
    p.tsc = now();
    p.kind = kern::TraceKind::placed;
    p.sub = source;
    p.seq = ring_.last_seq();
    p.thread_id = t.tid;
    p.a = cpu;
    p.cpu = cpu;
    trace_.push_back(p);
}

void Sim::switch_in(uint32_t c, size_t i) {
    C& cs = cpus_[c];
    cs.cur = i;
    kern::TraceRecord r;
    r.tsc = now();
    r.kind = kern::TraceKind::switch_in;
    r.cpu = c;
    r.c = c;
    if (i == SIZE_MAX) {
        if (cs.idle_recorded) return;
        cs.idle_recorded = true;
        trace_.push_back(r);
        return;
    }
    cs.idle_recorded = false;
    T& t = threads_[i];
    t.st = St::running;
    t.last_cpu = c;
    cs.slice_left = t.slice_ticks != 0 ? t.slice_ticks : opt_.default_slice_ticks;
    r.thread_id = t.tid;
    r.a = t.spec.pid;
    trace_.push_back(r);
}

void Sim::demote(kern::SchedReason r) {
    (void)health_.demote(r);  // no-op if on_miss/on_invalid already set the verdict
    char b[120];
    std::snprintf(b, sizeof b, "[placement] server demoted: %s; built-in default placement takes over",
                  kern::sched_reason_name(health_.reason()));
    log.push_back(b);
    SchedEvent e;
    e.kind = SchedEventKind::demoted;
    e.reason = health_.reason();
    post(e, 0);
    pending_.drain([](const kern::PendingEntry&) {});
}

void Sim::apply(const placement::Decision& d, uint64_t arrive_us) {
    kern::SchedDecision k;
    k.answers_seq = d.answers_seq;
    k.thread_id = d.thread_id;
    k.process_id = d.process_id;
    k.cpu_mask = d.cpu_mask;
    k.value = d.value;
    k.cpu = d.cpu;
    k.kind = static_cast<kern::SchedDecisionKind>(d.kind);
    kern::DecisionLimits lim;
    lim.ncpus = opt_.ncpus;
    lim.online_mask = opt_.ncpus >= 64 ? ~0ull : (1ull << opt_.ncpus) - 1;
    lim.last_posted_seq = ring_.last_seq();
    const char* why = nullptr;
    uint8_t outcome = 0;
    kern::DecisionCheck chk = kern::check_decision(k, lim, &why);
    if (chk == kern::DecisionCheck::invalid) {
        outcome = 2;
        trace_.push_back(record_of_decision(d, outcome, 0, arrive_us));
        if (health_.on_invalid(kern::SchedReason::invalid_decision)) {
            log.push_back(std::string("[placement] invalid decision: ") + why);
            demote(kern::SchedReason::invalid_decision);
        }
        return;
    }
    if (k.answers_seq != 0) {
        kern::PendingEntry p;
        kern::Resolve r = pending_.resolve(k.answers_seq, arrive_us * 1000, &p);
        if (r != kern::Resolve::claimed) {
            outcome = 1;
            trace_.push_back(record_of_decision(d, outcome, 0, arrive_us));
            if (r == kern::Resolve::late) {
                SchedEvent e;
                e.kind = SchedEventKind::deadline_missed;
                e.aux = k.answers_seq;
                e.cpu = p.cpu;
                post(e, p.cpu);
                if (health_.on_miss()) demote(kern::SchedReason::deadline_misses);
            } else {
                health_.on_stale();
            }
            return;
        }
    }
    trace_.push_back(record_of_decision(d, outcome, 0, arrive_us));
    health_.on_applied();
    for (size_t i = 0; i < threads_.size(); ++i) {
        T& t = threads_[i];
        if (t.tid != k.thread_id || t.st == St::exited || t.st == St::unborn) continue;
        if (k.kind == kern::SchedDecisionKind::assign) {
            t.assigned = k.cpu;
            if (k.value != 0) t.slice_ticks = kern::slice_ns_to_ticks(k.value, opt_.tick_us * 1000);
            if (t.st == St::runnable && t.cpu != k.cpu) {  // still queued: move it now
                auto& q = cpus_[t.cpu].q;
                for (auto it = q.begin(); it != q.end(); ++it)
                    if (*it == i) {
                        q.erase(it);
                        break;
                    }
                enqueue(i, k.cpu);
                kern::TraceRecord pr;
                pr.tsc = arrive_us;
                pr.kind = kern::TraceKind::placed;
                pr.sub = 2;
                pr.seq = k.answers_seq;
                pr.thread_id = t.tid;
                pr.a = k.cpu;
                pr.cpu = k.cpu;
                trace_.push_back(pr);
            }
        } else if (k.kind == kern::SchedDecisionKind::slice) {
            t.slice_ticks = kern::slice_ns_to_ticks(k.value, opt_.tick_us * 1000);
        }
    }
}

void Sim::server_step() {
    if (mode_ == ServerMode::hang || mode_ == ServerMode::crash) return;
    if (health_.demoted()) return;
    SchedEvent e;
    placement::Decisions out;
    while (ring_.pop(e)) {
        placement::Event pe = event_of_record(record_of_event(e, 0, 0), 1);
        pe.time_ns = e.time_ns;
        pe.run_ns = e.run_ns;
        out.clear();
        policy_->on_event(pe, out);
        for (size_t k = 0; k < out.n; ++k) {
            placement::Decision d = out.d[k];
            uint64_t arrive = e.time_ns / 1000 + opt_.latency_us;
            if (d.answers_seq != 0) {
                ++runnable_answers_;
                if (opt_.late_every != 0 && runnable_answers_ % opt_.late_every == 0) arrive += opt_.deadline_us * 2;
            }
            if (mode_ == ServerMode::garbage) {
                d.cpu = 999;
                d.kind = placement::DecisionKind::assign;
                if (d.thread_id == 0) d.thread_id = 1;
            }
            apply(d, arrive);
            if (health_.demoted()) return;
        }
    }
}

bool Sim::swap(placement::Policy* next) {
    static placement::PolicyState s;  // large: not on the stack
    s = placement::PolicyState{};
    policy_->export_state(s);
    if (!next->import_state(s)) {
        log.push_back("[placement] swap: import refused; the old server stays");
        return false;
    }
    // As the server does (policy.h, lifecycle): start once, after the import.
    next->start(opt_.ncpus);
    // The ring keeps posting while the state moves: the successor resumes
    // after the snapshot's last seq, so nothing is lost or seen twice.
    if (ring_.next_seq() != s.last_seq + 1) ring_.skip_through(s.last_seq);
    policy_ = next;
    log.push_back(std::string("[placement] swap: ") + s.policy + " -> " + next->name());
    return true;
}

void Sim::step(uint64_t ticks) {
    for (uint64_t n = 0; n < ticks; ++n) {
        ++tick_;
        sub_ = 0;
        if (opt_.server_fail_at_tick != 0 && tick_ == opt_.server_fail_at_tick) {
            mode_ = opt_.fail_mode;
            if (mode_ == ServerMode::crash) demote(kern::SchedReason::server_exited);
        }
        // 1. Account the tick to running threads; exit or block.
        for (uint32_t c = 0; c < opt_.ncpus; ++c) {
            C& cs = cpus_[c];
            if (cs.cur == SIZE_MAX) {
                ++cs.idle;
                continue;
            }
            ++cs.busy;
            T& t = threads_[cs.cur];
            ++t.ran;
            ++t.burst;
            SchedEvent e;
            e.thread_id = t.tid;
            e.process_id = t.spec.pid;
            e.weight = t.spec.weight;
            e.cpu = c;
            e.run_ns = t.ran * opt_.tick_us * 1000;
            if (t.ran >= t.spec.work_ticks) {
                t.st = St::exited;
                e.kind = SchedEventKind::thread_exited;
                post(e, c);
                switch_in(c, SIZE_MAX);
                cs.cur = SIZE_MAX;
            } else if (t.spec.burst_ticks != 0 && t.burst >= t.spec.burst_ticks) {
                t.st = St::blocked;
                t.burst = 0;
                t.wake_at = tick_ + (t.spec.block_ticks == 0 ? 1 : t.spec.block_ticks);
                e.kind = SchedEventKind::thread_blocked;
                post(e, c);
                cs.cur = SIZE_MAX;
                cs.idle_recorded = false;
            }
        }
        // 2. Starts and wake-ups.
        for (size_t i = 0; i < threads_.size(); ++i) {
            T& t = threads_[i];
            if (t.st == St::unborn && t.spec.start_tick <= tick_) make_runnable(i, true);
            else if (t.st == St::blocked && t.wake_at <= tick_) make_runnable(i, false);
        }
        // 3. The server reads events and answers (or not).
        server_step();
        // 4. Deadline sweep per CPU.
        for (uint32_t c = 0; c < opt_.ncpus && !health_.demoted(); ++c) {
            pending_.sweep(c, now() * 1000, [&](const kern::PendingEntry& p) {
                SchedEvent e;
                e.kind = SchedEventKind::deadline_missed;
                e.aux = p.seq;
                e.cpu = p.cpu;
                post(e, p.cpu);
                if (health_.on_miss()) demote(kern::SchedReason::deadline_misses);
            });
        }
        // 5. Slices and dispatch.
        for (uint32_t c = 0; c < opt_.ncpus; ++c) {
            C& cs = cpus_[c];
            if (cs.cur != SIZE_MAX) {
                if (cs.slice_left > 0) --cs.slice_left;
                if (cs.slice_left == 0 && !cs.q.empty()) {
                    size_t i = cs.cur;
                    T& t = threads_[i];
                    cs.cur = SIZE_MAX;
                    // Preempted: back to its CPU's tail, or to its standing assignment
                    // (migration at preemption, so CPU-bound threads follow decisions).
                    uint32_t to =
                        (!health_.demoted() && t.assigned != kern::kNoCpu && t.assigned < opt_.ncpus) ? t.assigned : c;
                    enqueue(i, to);
                } else if (cs.slice_left == 0) {
                    cs.slice_left =
                        threads_[cs.cur].slice_ticks != 0 ? threads_[cs.cur].slice_ticks : opt_.default_slice_ticks;
                }
            }
        }
        for (uint32_t c = 0; c < opt_.ncpus; ++c) {
            C& cs = cpus_[c];
            if (cs.cur != SIZE_MAX) continue;
            if (!cs.q.empty()) {
                size_t i = cs.q.front();
                cs.q.pop_front();
                switch_in(c, i);
            } else {
                switch_in(c, SIZE_MAX);
            }
        }
        // 6. Load reports.
        if (opt_.load_every_ticks != 0 && tick_ % opt_.load_every_ticks == 0) {
            for (uint32_t c = 0; c < opt_.ncpus; ++c) {
                SchedEvent e;
                e.kind = SchedEventKind::cpu_load;
                e.cpu = c;
                e.runnable = static_cast<uint32_t>(cpus_[c].q.size() + (cpus_[c].cur != SIZE_MAX ? 1 : 0));
                e.run_ns = cpus_[c].busy * opt_.tick_us * 1000;
                e.aux = cpus_[c].idle * opt_.tick_us * 1000;
                post(e, c);
            }
            server_step();
        }
    }
}

bool Sim::run(uint64_t max_ticks) {
    while (tick_ < max_ticks) {
        step(1);
        bool all = true;
        for (const T& t : threads_)
            if (t.st != St::exited) all = false;
        if (all) return true;
    }
    return false;
}

uint64_t Sim::cpu_ticks_of(uint64_t tid) const {
    for (const T& t : threads_)
        if (t.tid == tid) return t.ran;
    return 0;
}

std::string Sim::summary() const {
    uint64_t total = 0;
    uint32_t done = 0;
    for (const T& t : threads_) {
        total += t.ran;
        done += t.st == St::exited ? 1 : 0;
    }
    char buf[96];
    std::snprintf(buf, sizeof buf,
                  "sim: ticks=%llu (%.1f ms) finished=%u/%zu cpu_busy=", static_cast<unsigned long long>(tick_),
                  static_cast<double>(tick_ * opt_.tick_us) / 1000.0, done, threads_.size());
    std::string out = buf;
    for (size_t c = 0; c < cpus_.size(); ++c) {
        const uint64_t all = cpus_[c].busy + cpus_[c].idle;
        std::snprintf(buf, sizeof buf, "%s%zu:%.1f%%", c == 0 ? "" : ",", c,
                      all == 0 ? 0.0 : 100.0 * static_cast<double>(cpus_[c].busy) / static_cast<double>(all));
        out += buf;
    }
    out += " share=";
    for (size_t i = 0; i < threads_.size(); ++i) {
        const T& t = threads_[i];
        std::snprintf(buf, sizeof buf, "%s%llu:%.1f%%/w%u", i == 0 ? "" : ",", static_cast<unsigned long long>(t.tid),
                      total == 0 ? 0.0 : 100.0 * static_cast<double>(t.ran) / static_cast<double>(total),
                      t.spec.weight);
        out += buf;
    }
    return out;
}

bool Sim::finished(uint64_t tid) const {
    for (const T& t : threads_)
        if (t.tid == tid) return t.st == St::exited;
    return false;
}

std::vector<uint64_t> Sim::live_threads() const {
    std::vector<uint64_t> v;
    for (const T& t : threads_)
        if (t.st != St::exited && t.st != St::unborn) v.push_back(t.tid);
    return v;
}

}  // namespace replay
