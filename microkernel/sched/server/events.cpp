// events.cpp: posting events (to the ring, the trace and the notifier), demotion, and
// the notifier thread that completes a waiting nextEvents outside the posting path.
#include "sched/server/server.h"

#include "arch/interface/timer.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "object/thread.h"
#include "cap/call_decode.h"
#include "object/process.h"
#include "sched/wait_queue.h"

namespace kern::psrv {

// --- events ---------------------------------------------------------------------------------

AsyncOp* g_waiter = nullptr;  // a nextEvents call waiting for events
Thread* g_notifier = nullptr;
SpinLockIrq g_notify_lock{LockRank::thread, "sched_control.notify"};
bool g_notify_pending = false;
WaitQueue g_notifier_idle;  // the notifier, while nothing is pending (g_notify_lock)

// decisions: decisions wait in the shared page (the notifier drains them
// even when no nextEvents waits).
void notify(bool decisions) {
    if ((!decisions && __atomic_load_n(&g_waiter, __ATOMIC_ACQUIRE) == nullptr) || g_notifier == nullptr) return;
    WaitQueue::Wakeup w;
    {
        LockGuard<SpinLockIrq> g(g_notify_lock);
        if (g_notify_pending) return;
        g_notify_pending = true;
        w = g_notifier_idle.wake_one();
    }
    w.wake();
}

bool g_notify_deferred = false;

// Posts e (recorded by `cpu`). wake=false: inside a context switch, where
// waking the notifier could spin on the very thread being switched away
// from; the next tick sends the wake-up instead.
//
// pending (with evicted): enter it in the pending table under the event's
// seq before the server can see the event. Entered after the post, a quick
// server on another CPU could answer first and find its decision "stale:
// not pending" (seen once in 55 -smp 4 runs; the thread then stayed where
// the default put it). *evicted: an older entry was pushed out.
uint64_t post(SchedEvent e, uint32_t cpu, bool wake, PendingEntry* pending, bool* evicted) {
    // Nobody to read it: no event (a fresh server starts from the current
    // state; a successor resumes after its predecessor's snapshot).
    if (__atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE) == 0 && !__atomic_load_n(&g_tracing, __ATOMIC_RELAXED))
        return 0;
    e.time_ns = now_ns();
    uint64_t seq = pending == nullptr ? g_ring.post(e) : g_ring.post(e, [&](uint64_t s) {
        pending->seq = s;
        PendingEntry old;
        *evicted = pending_op([&] { return g_pending.add(*pending, &old); });
    });
    if (seq == 0) return 0;
    e.seq = seq;
    TraceRecord r;
    r.tsc = arch::read_cycles();
    r.seq = seq;
    r.cpu = cpu;
    r.kind = TraceKind::event;
    r.sub = static_cast<uint8_t>(e.kind);
    r.thread_id = e.thread_id;
    r.c = e.cpu;
    if (e.kind == SchedEventKind::cpu_load) {
        r.a = e.runnable;
        r.b = e.weight;
    } else if (e.kind == SchedEventKind::deadline_missed) {
        r.a = e.aux;
    } else if (e.kind == SchedEventKind::demoted) {
        r.a = static_cast<uint64_t>(e.reason);
    } else {
        r.a = e.process_id;
        r.b = e.weight;
    }
    trace(r);
    bool decisions = ring_pump();
    if (wake) notify(decisions);
    else __atomic_store_n(&g_notify_deferred, true, __ATOMIC_RELEASE);
    return seq;
}

// Demotes the server (first caller only does the work). `already` is true
// when ServerHealth already recorded the verdict (on_miss/on_invalid).
void demote(SchedReason why, bool already, const char* detail) {
    if (!already && !g_health.demote(why)) return;
    uint64_t pid = __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE);
    uint64_t now = now_ns();
    __atomic_fetch_add(&g_demotions, 1, __ATOMIC_RELAXED);
    if (why == SchedReason::server_exited && g_server_exit_ns != 0) g_fallback_latency_ns = now - g_server_exit_ns;
    const bool rings = __atomic_load_n(&g_ring_mode, __ATOMIC_ACQUIRE);
    ring_close();
    clear_assignments();
    (void)pending_op([] {
        g_pending.drain([](const PendingEntry&) {});
        return 0;
    });
    kprintf("[placement] fallback: server pid %llu demoted (%s%s%s); built-in default placement takes over\n",
            static_cast<unsigned long long>(pid), sched_reason_name(g_health.reason()), detail ? ": " : "",
            detail ? detail : "");
    print_latency_line(" (at demotion)", rings);
    SchedEvent e;
    e.kind = SchedEventKind::demoted;
    e.reason = g_health.reason();
    (void)post(e, cpu::id());
}

uint64_t process_of(const Thread& t) {
    if (t.user_ == nullptr) return 0;
    return static_cast<const UserThread*>(t.user_)->process().id();
}

// Events are about user threads other than the server's own.
bool reported(const Thread& t, uint64_t* pid) {
    if (t.user_ == nullptr || t.is_idle_) return false;
    *pid = process_of(t);
    return *pid != __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE);
}

SchedEvent thread_event(SchedEventKind k, const Thread& t, uint64_t pid, unsigned cpu) {
    SchedEvent e;
    e.kind = k;
    e.thread_id = t.id();
    e.process_id = pid;
    e.cpu = cpu;
    e.weight = t.link_.weight;
    if (const Reg* r = reg_find(t.id())) {
        uint32_t w = __atomic_load_n(&r->weight, __ATOMIC_RELAXED);
        if (w != 0) e.weight = w;
        // CPU time so far, tick-sampled (see obs_tick).
        e.run_ns = __atomic_load_n(&r->ticks, __ATOMIC_RELAXED) * (1'000'000'000ull / sched::kTimerHz);
    }
    return e;
}

// --- the notifier: completes a waiting nextEvents outside the posting path ----------------------------
// (Posting happens inside wake-ups, under locks op_complete may not nest in.)

void complete_waiter(AsyncOp* op) {
    op->status = 0;
    op->value = 0;
    // No events (the server calls again), and the dropped count.
    op->result_len = decode::next_events_result(op->small, sizeof op->small, g_ring.dropped(), nullptr, 0);
    op_complete(op);
}

// Writes the nextEvents result (dropped count, the n events) into buf;
// returns its length (0: no room).
uint32_t write_events(uint8_t* buf, uint32_t cap, const SchedEvent* evs, uint32_t n) {
    return decode::next_events_result(buf, cap, g_ring.dropped(), evs, n);
}

void notifier_main(void*) {
    for (;;) {
        arch::IrqState s = arch::irq_save();
        g_notify_lock.lock();
        while (!g_notify_pending) g_notifier_idle.block_on(g_notify_lock);
        g_notify_pending = false;
        g_notify_lock.unlock();
        arch::irq_restore(s);
        uint64_t ran = now_ns();
        ring_drain();
        latency_line_maybe(ran);
        // In ring mode a parked server is woken for events only (decisions
        // were just applied above).
        if (__atomic_load_n(&g_ring_mode, __ATOMIC_ACQUIRE) && ring_events_queued() == 0) continue;
        AsyncOp* op = __atomic_exchange_n(&g_waiter, static_cast<AsyncOp*>(nullptr), __ATOMIC_ACQ_REL);
        if (op == nullptr) continue;
        (void)deadline_remove(&op->deadline);
        // Stamped before completing: the server may run at once, on this
        // CPU too (it is urgent), and be back before we are.
        g_st_cpu = cpu::id();
        __atomic_store_n(&g_st_case,
                         __atomic_load_n(&op->owner->waiting_, __ATOMIC_RELAXED) ? kCompleteToServerRemote
                                                                                 : kCompleteToServerNotWaiting,
                         __ATOMIC_RELAXED);
        __atomic_store_n(&g_st_await_switch, true, __ATOMIC_RELAXED);
        stamp(&g_st_notifier_run, ran);
        stamp(&g_st_complete, now_ns());
        __atomic_store_n(&g_st_waited, true, __ATOMIC_RELEASE);
        complete_waiter(op);
    }
}

void waiter_timeout(Deadline* d) {
    AsyncOp* op = op_of(d);
    AsyncOp* expected = op;
    if (__atomic_compare_exchange_n(&g_waiter, &expected, static_cast<AsyncOp*>(nullptr), false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        complete_waiter(op);
}

bool waiter_unlink(AsyncOp* op) {
    AsyncOp* expected = op;
    if (!__atomic_compare_exchange_n(&g_waiter, &expected, static_cast<AsyncOp*>(nullptr), false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return false;
    (void)deadline_remove(&op->deadline);
    return true;
}

}  // namespace kern::psrv
