// decisions.cpp: one decision checked, applied and settled (shared by `place` and the
// ring drain).
#include "sched/server/server.h"

#include "arch/interface/timer.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "object/thread.h"

namespace kern::psrv {

// Applies one checked decision. Returns nullptr on success or the rejection reason.
const char* apply(const SchedDecision& d, uint64_t now, bool* invalid, bool* late) {
    *invalid = false;
    *late = false;
    DecisionLimits lim;
    lim.ncpus = sched::cpu_count();
    for (unsigned c = 0; c < lim.ncpus; ++c) lim.online_mask |= uint64_t{1} << c;
    lim.last_posted_seq = g_ring.last_seq();
    const char* why = nullptr;
    DecisionCheck chk = check_decision(d, lim, &why);
    if (chk == DecisionCheck::invalid) {
        *invalid = true;
        return why;
    }
    if (d.answers_seq != 0) {
        PendingEntry p;
        Resolve res = pending_op([&] { return g_pending.resolve(d.answers_seq, now, &p); });
        if (res == Resolve::late) {
            *late = true;
            SchedEvent e;
            e.kind = SchedEventKind::deadline_missed;
            e.aux = d.answers_seq;
            e.cpu = p.cpu;
            (void)post(e, cpu::id());
            return "late: past its deadline, the default placement stands";
        }
        if (res == Resolve::stale) return "stale: not pending (answered, expired or unknown)";
        record_latency(now - p.posted_ns);
    }
    switch (d.kind) {
        case SchedDecisionKind::none:
            return nullptr;
        case SchedDecisionKind::assign:
        case SchedDecisionKind::slice: {
            LockGuard<SpinLockIrq> g(g_reg_lock);
            Reg* r = reg_find(static_cast<uint32_t>(d.thread_id));
            if (d.thread_id > 0xffffffffull || r == nullptr || r->t == nullptr)
                return "stale: no such thread (exited?)";
            uint32_t tick_ns = 1'000'000'000u / sched::kTimerHz;
            if (d.kind == SchedDecisionKind::slice || d.value != 0) {
                uint32_t ticks = d.value == 0 ? 0u : slice_ns_to_ticks(d.value, tick_ns);
                __atomic_store_n(&r->slice_ticks, ticks, __ATOMIC_RELAXED);
                // Dispatch reads it at the thread's next switch-in (a plain word:
                // a racing switch-in sees the old or the new slice, both valid).
                __atomic_store_n(&r->t->link_.slice_ticks, ticks, __ATOMIC_RELAXED);
            }
            if (d.kind == SchedDecisionKind::assign) {
                unsigned cpu = d.cpu;
                if (d.cpu_mask != 0) {  // least queued online CPU of the set
                    cpu = kNoCpu;
                    for (unsigned c = 0; c < lim.ncpus; ++c)
                        if ((d.cpu_mask >> c) & 1)
                            if (cpu == kNoCpu || sched::nr_runnable(c) < sched::nr_runnable(cpu)) cpu = c;
                }
                if (!r->t->allowed_.has(cpu)) return "stale: CPU not allowed for this thread";
                __atomic_store_n(&r->assigned, cpu, __ATOMIC_RELAXED);
                if (r->t->state() == Thread::State::runnable && sched::move_queued(*r->t, cpu)) {
                    TraceRecord tr;
                    tr.tsc = arch::read_cycles();
                    tr.kind = TraceKind::placed;
                    tr.sub = 2;
                    tr.seq = d.answers_seq;
                    tr.thread_id = d.thread_id;
                    tr.a = cpu;
                    tr.cpu = cpu::id();
                    trace(tr);
                }
            }
            return nullptr;
        }
        case SchedDecisionKind::thread_weight:
        case SchedDecisionKind::process_weight: {
            LockGuard<SpinLockIrq> g(g_reg_lock);
            bool any = false;
            for (Reg& r : g_reg) {
                if (r.id == 0 || r.id == kTomb || r.t == nullptr) continue;
                bool hit = d.kind == SchedDecisionKind::thread_weight ? r.id == d.thread_id : r.pid == d.process_id;
                if (!hit) continue;
                // A policy weight: reported in this thread's events from now on.
                // Shares are the policy's business (it enforces them with slices);
                // the run queue's own weight (load for the default) is untouched.
                __atomic_store_n(&r.weight, static_cast<uint32_t>(d.value), __ATOMIC_RELAXED);
                any = true;
            }
            return any ? nullptr : "stale: no such thread or process";
        }
        case SchedDecisionKind::default_slice:
            __atomic_store_n(&g_default_slice_ticks, slice_ns_to_ticks(d.value, 1'000'000'000u / sched::kTimerHz),
                             __ATOMIC_RELAXED);
            return nullptr;
    }
    *invalid = true;
    return "unknown decision kind";
}

// Records the outcome of one decision (trace, health, demotion); why ==
// nullptr: applied. Shared by `place` and the ring drain.
void settle(const SchedDecision& d, const char* why, bool invalid, bool late, uint64_t now) {
    TraceRecord tr;
    tr.tsc = arch::read_cycles();
    tr.kind = TraceKind::decision;
    tr.sub = static_cast<uint8_t>(d.kind);
    tr.seq = d.answers_seq;
    tr.thread_id = d.kind == SchedDecisionKind::process_weight ? d.process_id : d.thread_id;
    tr.a = d.value;
    tr.b = why == nullptr ? 0 : (invalid ? 2 : 1);
    tr.c = d.cpu;
    tr.cpu = cpu::id();
    trace(tr);
    if (why == nullptr) {
        g_health.on_applied();
        if (d.answers_seq != 0) {
            uint64_t h = __atomic_exchange_n(&g_handover_ns, 0ull, __ATOMIC_ACQ_REL);
            if (h != 0 && g_last_apply_ns != 0) g_swap_gap_ns = now - g_last_apply_ns;
            g_last_apply_ns = now;
        }
        return;
    }
    if (invalid) {
        if (g_health.on_invalid(SchedReason::invalid_decision)) demote(SchedReason::invalid_decision, true, why);
    } else if (late) {
        if (count_miss()) demote(SchedReason::deadline_misses, true, nullptr);
    } else {
        g_health.on_stale();
    }
}

// A ring entry as a decision: every field is the server's, so the kind is
// range-checked here and the rest by check_decision in apply().
bool decision_of(const abi::SchedRingDecision& e, SchedDecision* d) {
    *d = SchedDecision{};
    d->answers_seq = e.answers_seq;
    d->thread_id = e.thread_id;
    d->process_id = e.process_id;
    d->cpu_mask = e.cpu_mask;
    d->value = e.value;
    d->cpu = e.cpu;
    if (e.kind > static_cast<uint8_t>(SchedDecisionKind::default_slice)) return false;
    d->kind = static_cast<SchedDecisionKind>(e.kind);
    return true;
}

}  // namespace kern::psrv
