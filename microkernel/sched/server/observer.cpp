// observer.cpp: the dispatch observer: what dispatch tells the placement server and
// asks of its standing assignments (interrupts off, no run-queue lock).
#include "sched/server/server.h"

#include "arch/interface/timer.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "lib/saturating.h"
#include "object/thread.h"
#include "object/process.h"

namespace kern::psrv {

namespace {

// --- dispatch observer (interrupts off, no run-queue lock) ------------------------------------------

bool is_server_thread(const Thread& t) {
    uint64_t pid = __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE);
    return pid != 0 && t.user_ != nullptr && process_of(t) == pid;
}

unsigned obs_place(Thread& t, const PlacementInput&) {
    if (!active()) return kNoCpu;
    Reg* r = reg_find(t.id());
    return r != nullptr ? __atomic_load_n(&r->assigned, __ATOMIC_RELAXED) : kNoCpu;
}

void obs_runnable(Thread& t, unsigned cpu, bool created, bool standing) {
    uint64_t pid = 0;
    if (!reported(t, &pid)) return;
    Reg* r = reg_find(t.id());
    // A user thread may be started before its UserThread is linked (then its
    // first runnable event is not reported): it is "created" when first seen.
    if (created || r == nullptr) {
        if (r == nullptr) reg_insert(t, pid);
        r = reg_find(t.id());
        (void)post(thread_event(SchedEventKind::thread_created, t, pid, cpu), cpu);
    }
    uint32_t slice = r != nullptr ? __atomic_load_n(&r->slice_ticks, __ATOMIC_RELAXED) : 0;
    if (slice == 0) slice = __atomic_load_n(&g_default_slice_ticks, __ATOMIC_RELAXED);
    if (slice != 0) t.link_.slice_ticks = slice;  // not queued yet: dispatch reads it at switch-in
    bool act = active();
    if (act && !standing) {
        __atomic_fetch_add(&g_fallback_placements, 1, __ATOMIC_RELAXED);
        if (__atomic_load_n(&g_handover_ns, __ATOMIC_RELAXED) != 0)
            __atomic_fetch_add(&g_swap_default_placements, 1, __ATOMIC_RELAXED);
    }
    PendingEntry p;
    bool evicted = false;
    if (act) {
        p.thread_id = t.id();
        p.posted_ns = now_ns();
        p.deadline_ns = saturating_add(p.posted_ns, __atomic_load_n(&g_deadline_ns, __ATOMIC_RELAXED));
        p.cpu = cpu;
    }
    uint64_t seq =
        post(thread_event(SchedEventKind::thread_runnable, t, pid, cpu), cpu, true, act ? &p : nullptr, &evicted);
    if (seq != 0 && evicted && count_miss()) demote(SchedReason::deadline_misses, true, "pending overflow");
    TraceRecord tr;
    tr.tsc = arch::read_cycles();
    tr.kind = TraceKind::placed;
    tr.sub = standing ? 1 : 0;
    tr.seq = seq;
    tr.thread_id = t.id();
    tr.a = cpu;
    tr.cpu = cpu::id();
    trace(tr);
}

void obs_left(Thread& t, unsigned cpu) {
    bool exited = t.state() == Thread::State::exited;
    uint64_t pid = 0;
    if (!reported(t, &pid)) {
        if (exited && t.user_ != nullptr && pid != 0 && pid == __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE))
            g_server_exit_ns = now_ns();
        return;
    }
    (void)post(thread_event(exited ? SchedEventKind::thread_exited : SchedEventKind::thread_blocked, t, pid, cpu), cpu);
    if (!exited) return;
    if (const Reg* r = reg_find(t.id())) {
        TraceRecord tr;
        tr.tsc = arch::read_cycles();
        tr.kind = TraceKind::ticks;
        tr.thread_id = t.id();
        tr.a = __atomic_load_n(&r->ticks, __ATOMIC_RELAXED);
        tr.b = pid;
        tr.c = cpu;
        trace(tr);
    }
    reg_remove(t.id());
}

unsigned obs_preempted(Thread& t, unsigned cpu) {
    if (!active() || t.user_ == nullptr) return kNoCpu;
    Reg* r = reg_find(t.id());
    if (r == nullptr) return kNoCpu;
    unsigned a = __atomic_load_n(&r->assigned, __ATOMIC_RELAXED);
    return a == cpu ? kNoCpu : a;
}

// Called on `cpu` itself from its timer interrupt (sched.cpp timer_tick:
// cpu is cs.id of local()), so its counters are cpu::current()'s.
void obs_tick(unsigned cpu) {
    // Tick-sampled CPU time of the thread this tick interrupted (exact
    // under an overloaded host, where TSC intervals absorb vCPU stalls).
    if (Thread* cur = sched::current_on(cpu); cur != nullptr && cur->user_ != nullptr)
        if (Reg* r = reg_find(cur->id())) __atomic_store_n(&r->ticks, r->ticks + 1, __ATOMIC_RELAXED);
    // Shared rings: move what the page had no room for, notice decisions a
    // polling server left without any event to carry them, and demote a
    // server whose indices went bad (the pump cannot: it runs under locks).
    bool decisions = ring_pump();
    if (__atomic_load_n(&g_ring_fault, __ATOMIC_ACQUIRE) &&
        __atomic_exchange_n(&g_ring_fault, false, __ATOMIC_ACQ_REL)) {
        if (active() && g_health.on_invalid(SchedReason::malformed))
            demote(SchedReason::malformed, true, "shared ring index out of bounds");
    }
    if (decisions || (__atomic_load_n(&g_notify_deferred, __ATOMIC_ACQUIRE) &&
                      __atomic_exchange_n(&g_notify_deferred, false, __ATOMIC_ACQ_REL)))
        notify(decisions);
    if (active()) {
        uint64_t now = now_ns();
        g_pending.sweep(cpu, now, [&](const PendingEntry& p) {
            SchedEvent e;
            e.kind = SchedEventKind::deadline_missed;
            e.aux = p.seq;
            e.cpu = p.cpu;
            (void)post(e, cpu);
            if (count_miss()) demote(SchedReason::deadline_misses, true, nullptr);
        });
    }
    if (++cpu::current().obs_ticks % SchedulerControl::kLoadEveryTicks != 0) return;
    if (!active() && !__atomic_load_n(&g_tracing, __ATOMIC_RELAXED)) return;
    sched::CpuStats st = sched::stats(cpu);
    SchedEvent e;
    e.kind = SchedEventKind::cpu_load;
    e.cpu = cpu;
    e.runnable = sched::nr_runnable(cpu);
    e.weight = 0;  // CPUs have no weight
    uint64_t tick_ns = 1'000'000'000ull / sched::kTimerHz;
    e.run_ns = (st.ticks - st.idle_ticks) * tick_ns;
    e.aux = st.idle_ticks * tick_ns;
    (void)post(e, cpu);
}

// Called on `cpu` itself from schedule() (sched.cpp: cs.id of local()),
// interrupts off.
void obs_switch_in(unsigned cpu, Thread* next) {
    // A CPU going idle while another has a queue is the moment a policy
    // wants to rebalance: report it now rather than at the next periodic
    // load report (at most once per tick per CPU).
    PerCpu& self = cpu::current();
    if (next == nullptr && active() && self.obs_idle_event_tick != self.obs_ticks + 1) {
        unsigned n = sched::cpu_count();
        for (unsigned c = 0; c < n; ++c) {
            if (c == cpu || sched::nr_runnable(c) < 2) continue;
            self.obs_idle_event_tick = self.obs_ticks + 1;
            SchedEvent e;
            e.kind = SchedEventKind::cpu_load;
            e.cpu = cpu;
            e.runnable = 0;
            e.weight = 0;  // CPUs have no weight
            (void)post(e, cpu, false);
            break;
        }
    }
    if (next != nullptr && __atomic_load_n(&g_st_await_switch, __ATOMIC_RELAXED) && next->user_ != nullptr &&
        process_of(*next) == __atomic_load_n(&g_server_pid, __ATOMIC_RELAXED)) {
        stamp(&g_st_server_in, now_ns());
        if (cpu == g_st_cpu && __atomic_load_n(&g_st_case, __ATOMIC_RELAXED) == kCompleteToServerRemote)
            __atomic_store_n(&g_st_case, kCompleteToServer, __ATOMIC_RELAXED);
        __atomic_store_n(&g_st_await_switch, false, __ATOMIC_RELAXED);
    }
    if (!__atomic_load_n(&g_tracing, __ATOMIC_RELAXED)) return;
    TraceRecord r;
    r.tsc = arch::read_cycles();
    r.kind = TraceKind::switch_in;
    r.cpu = cpu;
    r.c = cpu;
    if (next != nullptr) {
        r.thread_id = next->id();
        r.a = process_of(*next);
    }
    trace(r);
}

bool obs_urgent(const Thread& t) { return &t == g_notifier || is_server_thread(t); }

bool obs_strict_slices() { return active(); }

}  // namespace

const sched::SchedObserver g_observer{obs_place,     obs_runnable, obs_left,          obs_preempted, obs_tick,
                                      obs_switch_in, obs_urgent,   obs_strict_slices, active};

}  // namespace kern::psrv
