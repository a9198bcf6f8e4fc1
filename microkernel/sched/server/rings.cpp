// rings.cpp: the rings in memory shared with the server: events pumped into the
// page, decisions drained from it, the page's lifetime.
#include "sched/server/server.h"

#include "arch/interface/timer.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "object/thread.h"
#include "arch/interface/cpu.h"
#include "object/memory_object.h"

namespace kern::psrv {

// --- shared rings (docs/placement.md, "Shared rings") ------------------------------------------------
// When the server attached with a `rings` MemoryObject, events move from
// g_ring into the page's event ring (the pump, right after each post) and
// decisions come from its decision ring (the drain, in thread context: the
// notifier or the server's parking nextEvents). g_ring stays the source of
// seq numbers and pending deadlines, and buffers what the page has no room
// for.
//
// g_ring_flag: a bare spin flag, always taken with interrupts off and held
// only to copy entries (never while applying a decision, never nested with
// any lock: it is the leaf below every lock a post can run under). While
// g_ring_mode is set, its holder is g_ring's one consumer; attach and
// demotion change the mode and the page under it (and attach also under
// g_ctl_lock, which the non-ring nextEvents pops under).
RingKernelSide g_rk;
bool g_ring_mode = false;
bool g_ring_flag = false;
bool g_ring_fault = false;            // the page's indices were impossible: demote at the next tick
MemoryObject* g_rings_mo = nullptr;   // reference held while attached
MemoryObject* g_rings_old = nullptr;  // the previous page: released at the next attach (thread context)
bool g_drain_flag = false;            // one drain at a time; never waited on
uint64_t g_ring_applied = 0, g_ring_drains = 0;

bool ring_lock_try() { return !__atomic_exchange_n(&g_ring_flag, true, __ATOMIC_ACQUIRE); }
void ring_lock() {
    while (!ring_lock_try())
        while (__atomic_load_n(&g_ring_flag, __ATOMIC_RELAXED)) arch::cpu_relax();
}
void ring_unlock() { __atomic_store_n(&g_ring_flag, false, __ATOMIC_RELEASE); }

abi::SchedRingEvent to_ring(const SchedEvent& e) {
    abi::SchedRingEvent r{};
    r.seq = e.seq;
    r.time_ns = e.time_ns;
    r.thread_id = e.thread_id;
    r.process_id = e.process_id;
    r.run_ns = e.run_ns;
    r.aux = e.aux;
    r.cpu = e.cpu;
    r.weight = e.weight;
    r.runnable = e.runnable;
    r.kind = static_cast<uint8_t>(e.kind);
    r.reason = static_cast<uint8_t>(e.reason);
    return r;
}

// The kernel's copies of the last N events given to the page (under the
// flag): a hot-swap successor gets those its predecessor's snapshot does
// not cover, although the predecessor's page may say anything by then.
SchedEvent g_pushed[RingKernelSide::N];
uint64_t g_pushed_n = 0;

void push_kept(const SchedEvent& e) {
    if (g_rk.push_event(to_ring(e)) != RingPush::ok) {
        g_rk.count_dropped();
        return;
    }
    g_pushed[g_pushed_n++ % RingKernelSide::N] = e;
}

// Under the flag, right after the successor's page opened: the kept events
// with seq > after, oldest first (at most N: the old page held no more).
void replay_pushed(uint64_t after) {
    uint64_t n = g_pushed_n, first = n > RingKernelSide::N ? n - RingKernelSide::N : 0;
    SchedEvent keep[RingKernelSide::N];
    uint32_t k = 0;
    for (uint64_t i = first; i < n; ++i)
        if (g_pushed[i % RingKernelSide::N].seq > after) keep[k++] = g_pushed[i % RingKernelSide::N];
    for (uint32_t i = 0; i < k; ++i) push_kept(keep[i]);
}

// Under g_ring_flag: moves what fits from g_ring into the page. Returns
// whether decisions wait in the page.
bool pump_locked() {
    if (!__atomic_load_n(&g_ring_mode, __ATOMIC_RELAXED) || !g_rk.is_open()) return false;
    SchedEvent e;
    while (!g_rk.broken() && g_rk.events_queued() < RingKernelSide::N && g_ring.pop(e)) push_kept(e);
    if (g_rk.broken()) __atomic_store_n(&g_ring_fault, true, __ATOMIC_RELEASE);
    return g_rk.decisions_waiting();
}

// Any context (interrupts are turned off here). Never waits for a holder:
// a holder rechecks g_ring after letting go, so nothing posted before the
// failed try is left behind. Returns whether decisions wait in the page.
bool ring_pump() {
    if (!__atomic_load_n(&g_ring_mode, __ATOMIC_ACQUIRE)) return false;
    arch::IrqState s = arch::irq_save();
    bool dec = false;
    for (;;) {
        if (!ring_lock_try()) break;
        dec = pump_locked();
        bool room = g_rk.is_open() && g_rk.events_queued() < RingKernelSide::N;
        ring_unlock();
        if (!room || !g_ring.ready()) break;
    }
    arch::irq_restore(s);
    return dec;
}

// Events in the page the server has not taken (under the flag).
uint64_t ring_events_queued() {
    arch::IrqState s = arch::irq_save();
    ring_lock();
    uint64_t n = g_rk.events_queued();
    ring_unlock();
    arch::irq_restore(s);
    return n;
}

// Closes the page (the server sees kSchedRingClosed) and leaves ring mode.
void ring_close() {
    arch::IrqState s = arch::irq_save();
    ring_lock();
    __atomic_store_n(&g_ring_mode, false, __ATOMIC_RELEASE);
    g_rk.close();
    if (g_rings_mo != nullptr && g_rings_old == nullptr) {
        g_rings_old = g_rings_mo;  // released later, in thread context
        g_rings_mo = nullptr;
    }
    ring_unlock();
    arch::irq_restore(s);
}

// Applies the decisions waiting in the shared page. Thread context, no
// locks held (apply() takes the registry and run-queue locks). Copies a
// batch out under g_ring_flag, applies it without the flag. A second
// drainer meanwhile finds g_drain_flag taken and leaves: the holder loops
// until the ring is empty and looks once more after letting go.
void ring_drain() {
    for (;;) {
        if (!__atomic_load_n(&g_ring_mode, __ATOMIC_ACQUIRE)) return;
        if (__atomic_exchange_n(&g_drain_flag, true, __ATOMIC_ACQUIRE)) return;
        bool more = true;
        while (more) {
            constexpr uint32_t kBatch = 16;
            abi::SchedRingDecision batch[kBatch];
            uint32_t n = 0;
            uint64_t epoch = 0;
            arch::IrqState st = arch::irq_save();
            ring_lock();
            RingPop p = RingPop::empty;
            while (n < kBatch && (p = g_rk.pop_decision(batch[n])) == RingPop::ok) ++n;
            if (p == RingPop::broken && g_rk.is_open()) __atomic_store_n(&g_ring_fault, true, __ATOMIC_RELEASE);
            more = p == RingPop::ok;
            epoch = g_rk.is_open() ? __atomic_load_n(&g_epoch, __ATOMIC_ACQUIRE) : 0;
            ring_unlock();
            arch::irq_restore(st);
            if (n != 0) __atomic_fetch_add(&g_ring_drains, 1, __ATOMIC_RELAXED);
            const uint64_t now = now_ns();
            for (uint32_t i = 0; i < n; ++i) {
                if (g_health.demoted()) break;
                SchedDecision d;
                bool invalid = !decision_of(batch[i], &d), late = false;
                const char* why = invalid ? "unknown decision kind" : nullptr;
                if (!invalid && batch[i].epoch != epoch) why = "stale epoch (a successor attached)";
                else if (!invalid) why = apply(d, now, &invalid, &late);
                if (invalid) {
                    arch::IrqState s2 = arch::irq_save();
                    ring_lock();
                    g_rk.count_refused();
                    ring_unlock();
                    arch::irq_restore(s2);
                }
                settle(d, why, invalid, late, now);
                if (why == nullptr) __atomic_fetch_add(&g_ring_applied, 1, __ATOMIC_RELAXED);
                if (invalid) {
                    more = false;
                    break;
                }
            }
        }
        __atomic_store_n(&g_drain_flag, false, __ATOMIC_RELEASE);
        // A decision published after our last look and before the release
        // found the flag taken: look again.
        arch::IrqState st = arch::irq_save();
        ring_lock();
        bool again = g_rk.decisions_waiting();
        ring_unlock();
        arch::irq_restore(st);
        if (!again) {
            latency_line_maybe(now_ns());
            return;
        }
    }
}

// Drops the kernel's references to ring pages nobody uses any more: the
// previous page (closed when it was replaced or its server demoted) and,
// with `current`, the attached server's page once it is closed. In thread
// context only (a release may free frames). A MemoryObject holds its
// owner process, so until 2026-12 a dead server's Process lived on until
// the next attach (servers_kill's leak check saw one process too many).
void release_closed_rings(bool current) {
    MemoryObject* gone[2] = {nullptr, nullptr};
    arch::IrqState s = arch::irq_save();
    ring_lock();
    gone[0] = g_rings_old;
    g_rings_old = nullptr;
    if (current && !__atomic_load_n(&g_ring_mode, __ATOMIC_RELAXED) && !g_rk.is_open()) {
        gone[1] = g_rings_mo;
        g_rings_mo = nullptr;
    }
    ring_unlock();
    arch::irq_restore(s);
    for (MemoryObject* mo : gone)
        if (mo != nullptr) mo->release();
}

}  // namespace kern::psrv
