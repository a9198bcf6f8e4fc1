// scheduler_control.cpp: SchedulerControl: events to the placement server, its decisions applied as data.
#include "object/scheduler_control.h"

#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "arch/x86_64/paging.h"  // phys_to: the direct map (as memory_object.cpp)
#include "capos/capnp/capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "core/console.h"
#include "core/percpu.h"
#include "core/ring_dispatch.h"
#include "core/sched.h"
#include "core/spinlock.h"
#include "capos/fmt/format.h"
#include "lib/sched_events.h"
#include "lib/sched_ring.h"
#include "object/kernel_object.h"
#include "object/kernel_stats.h"
#include "object/memory_object.h"
#include "object/process.h"
#include "object/sched_decision_decode.h"
#include "object/thread.h"

namespace kern {

namespace {

namespace abi = capos::abi;
using abi::Status;

// --- global state -------------------------------------------------------------

SchedulerControl g_obj;
EventRing<1024> g_ring;
PendingTable<256> g_pending;
// The table's slot locks are bare spin flags that every CPU's timer tick
// takes too (obs_tick's sweep): a holder interrupted by its own CPU's tick
// would spin on itself, and the other CPUs' sweeps then on it -- every vCPU
// busy, nothing printed. So each use runs with interrupts off, whether or
// not its caller already has them off (the decision path does not).
template <class F>
auto pending_op(F&& f) {
    arch::IrqState s = arch::irq_save();
    auto r = f();
    arch::irq_restore(s);
    return r;
}
ServerHealth g_health{SchedulerControl::kMaxConsecutiveMisses};

// Who places. pid 0: nobody attached (builtin). Written under g_ctl_lock,
// read lock-free by dispatch.
uint64_t g_server_pid = 0;
uint64_t g_epoch = 0;
uint64_t g_deadline_ns = SchedulerControl::kDefaultDeadlineNs;
uint32_t g_default_slice_ticks = 0;  // 0: dispatch's own default
// Serializes attach/detach/nextEvents (one consumer of the ring). Ranked
// lowest (with process locks: never nested with one) because a waiting
// nextEvents arms a deadline (user_timeout) and creates its op (user_wait)
// while holding it, so no event can slip between "ring empty" and "waiter set".
SpinLockIrq g_ctl_lock{LockRank::process, "sched_control"};

bool active() {
    return __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE) != 0 && !g_health.demoted();
}

// --- statistics -----------------------------------------------------------------

LatencyHistogram g_lat;  // event posted -> decision applied, per in-time decision
uint64_t g_demotions = 0;
uint64_t g_fallback_placements = 0;   // placements by the default while a server was attached
uint64_t g_server_exit_ns = 0;        // last exit of a server thread
uint64_t g_fallback_latency_ns = 0;   // server thread exit -> demotion
uint64_t g_last_apply_ns = 0;         // last in-time decision applied
uint64_t g_handover_ns = 0;           // attach of a successor (0: none pending)
uint64_t g_swap_gap_ns = 0;           // previous server's last decision -> successor's first
uint64_t g_swap_default_placements = 0;  // default placements between those two
uint64_t g_swaps = 0;

void record_latency(uint64_t ns) { g_lat.add(ns); }
uint64_t latency_percentile(uint32_t p) { return g_lat.percentile(p); }

// The latency line every run prints (issue 17: event-to-applied p50/p99 and
// the demotions), cumulative since boot: at most every kLatencyLineNs while
// new decisions arrive (from the thread-context paths that apply them: the
// notifier, a ring drain, place), and at each demotion. The caller that
// wins the stamp prints; a stale sample count only prints a line more.
constexpr uint64_t kLatencyLineNs = 500'000'000;
uint64_t g_lat_line_ns = 0, g_lat_line_samples = 0;
uint64_t g_misses_total = 0;  // deadline misses since boot (ServerHealth's count restarts at attach)

// A deadline miss: counted since boot, then judged by ServerHealth.
bool count_miss() {
    __atomic_fetch_add(&g_misses_total, 1, __ATOMIC_RELAXED);
    return g_health.on_miss();
}

void print_latency_line(const char* when, bool rings) {
    kprintf("[placement] latency p50_us=%llu p99_us=%llu samples=%llu misses=%llu demotions=%llu via=%s%s\n",
            static_cast<unsigned long long>(latency_percentile(50) / 1000),
            static_cast<unsigned long long>(latency_percentile(99) / 1000),
            static_cast<unsigned long long>(g_lat.count()),
            static_cast<unsigned long long>(__atomic_load_n(&g_misses_total, __ATOMIC_RELAXED)),
            static_cast<unsigned long long>(__atomic_load_n(&g_demotions, __ATOMIC_RELAXED)), rings ? "rings" : "calls",
            when);
}

// Where decision latency goes, per batch of events the server receives
// (docs/placement.md, "Decision latency"). A batch that found the server
// waiting passes: event posted -> notifier running (wake-up 1) -> waiting
// nextEvents completed -> server thread switched in (wake-up 2) -> events
// handed over by its next nextEvents. A batch that piled up while the
// server was busy is only "queued". Then: handed over -> place() entered
// (the server's own time). Stamps are now_ns(); single consumer, so plain
// relaxed words suffice (these are statistics).
enum Stage : uint32_t { kPostToNotifier, kNotifierToComplete, kCompleteToServer, kCompleteToServerRemote,
                        kCompleteToServerNotWaiting, kServerToDelivery, kQueued, kDeliveryToPlace, kStages };
LatencyHistogram g_stage[kStages];
uint64_t g_st_notifier_run = 0, g_st_complete = 0, g_st_server_in = 0, g_st_delivery = 0;
bool g_st_waited = false, g_st_await_switch = false;
uint32_t g_st_case = kCompleteToServer;
uint32_t g_st_cpu = 0;

void stamp(uint64_t* w, uint64_t v) { __atomic_store_n(w, v, __ATOMIC_RELAXED); }
uint64_t stamp_of(const uint64_t* w) { return __atomic_load_n(w, __ATOMIC_RELAXED); }
uint64_t since(uint64_t later, uint64_t earlier) { return later > earlier ? later - earlier : 0; }

// --- trace --------------------------------------------------------------------------

constexpr unsigned kTraceCpus = 8;
// 16384 records (768 KiB) per CPU: a placement-workload boot of about 10 s
// under TCG records up to about 11,000 on one CPU (wakeup: a switch every
// few ms per CPU), which 4096 could not hold (`lost=` in the dump). The
// buffers are static: 6 MiB of the kernel's BSS, inside the first GiB the
// boot maps.
TraceBuffer<16384> g_trace[kTraceCpus];
bool g_tracing = false;

void trace(TraceRecord r) {
    if (!__atomic_load_n(&g_tracing, __ATOMIC_RELAXED)) return;
    // One writer per buffer: the recording CPU, interrupts off. The record's
    // cpu field says who recorded it (the CPU an event concerns is in c).
    arch::IrqState s = arch::irq_save();
    unsigned self = cpu::id();
    if (self < kTraceCpus) {
        r.cpu = self;
        g_trace[self].record(r);
    }
    arch::irq_restore(s);
}

void dump_trace() {
    char line[160];
    for (unsigned c = 0; c < kTraceCpus && c < sched::cpu_count(); ++c) {
        for (size_t i = 0; i < g_trace[c].size(); ++i) {
            (void)format_trace(g_trace[c].at(i), line, sizeof line);
            kprintf("[strace] %s\n", line);
        }
        kprintf("[strace] cpu %u records=%llu lost=%llu\n", c, static_cast<unsigned long long>(g_trace[c].size()),
                static_cast<unsigned long long>(g_trace[c].lost()));
        g_trace[c].clear();
    }
    kprintf("[strace] tsc_hz=%llu\n", static_cast<unsigned long long>(arch::tsc_hz()));
}

// --- registry: thread id -> thread, standing assignment ------------------------------------

constexpr size_t kReg = 2048;
constexpr uint32_t kTomb = ~0u;
struct Reg {
    uint32_t id = 0;              // 0 free, kTomb deleted (atomic: read lock-free by dispatch)
    uint32_t assigned = kNoCpu;   // standing assignment (atomic)
    uint32_t slice_ticks = 0;     // standing slice, 0 = default (atomic)
    uint32_t weight = 0;          // weight set by the server, reported in events; 0 = the thread's own
    uint64_t ticks = 0;           // timer ticks that found it running (tick-sampled CPU time)
    uint64_t pid = 0;
    Thread* t = nullptr;          // valid while id is set (removed before the thread is freed)
};
Reg g_reg[kReg];
SpinLockIrq g_reg_lock{LockRank::thread, "sched_control.registry"};

// Lock-free lookup (dispatch): the slot of id or nullptr.
Reg* reg_find(uint32_t id) {
    if (id == 0 || id == kTomb) return nullptr;
    for (size_t i = 0, h = id & (kReg - 1); i < kReg; ++i, h = (h + 1) & (kReg - 1)) {
        uint32_t v = __atomic_load_n(&g_reg[h].id, __ATOMIC_ACQUIRE);
        if (v == id) return &g_reg[h];
        if (v == 0) return nullptr;
    }
    return nullptr;
}

void reg_insert(Thread& t, uint64_t pid) {
    LockGuard<SpinLockIrq> g(g_reg_lock);
    if (reg_find(t.id()) != nullptr) return;
    for (size_t i = 0, h = t.id() & (kReg - 1); i < kReg; ++i, h = (h + 1) & (kReg - 1)) {
        Reg& r = g_reg[h];
        if (r.id == 0 || r.id == kTomb) {
            r.t = &t;
            r.pid = pid;
            __atomic_store_n(&r.assigned, kNoCpu, __ATOMIC_RELAXED);
            __atomic_store_n(&r.slice_ticks, 0u, __ATOMIC_RELAXED);
            __atomic_store_n(&r.weight, 0u, __ATOMIC_RELAXED);
            __atomic_store_n(&r.ticks, uint64_t{0}, __ATOMIC_RELAXED);
            __atomic_store_n(&r.id, t.id(), __ATOMIC_RELEASE);
            return;
        }
    }
    // Full: the thread is simply not steerable (default placement).
}

void reg_remove(uint32_t id) {
    LockGuard<SpinLockIrq> g(g_reg_lock);
    if (Reg* r = reg_find(id)) {
        r->t = nullptr;
        __atomic_store_n(&r->id, kTomb, __ATOMIC_RELEASE);
    }
}

void clear_assignments() {
    LockGuard<SpinLockIrq> g(g_reg_lock);
    for (Reg& r : g_reg) {
        __atomic_store_n(&r.assigned, kNoCpu, __ATOMIC_RELAXED);
        __atomic_store_n(&r.slice_ticks, 0u, __ATOMIC_RELAXED);
        if (r.id != 0 && r.id != kTomb && r.t != nullptr) r.t->link_.slice_ticks = 0;
    }
}

// --- events ---------------------------------------------------------------------------------

AsyncOp* g_waiter = nullptr;      // a nextEvents call waiting for events
Thread* g_notifier = nullptr;
SpinLockIrq g_notify_lock{LockRank::thread, "sched_control.notify"};
bool g_notify_pending = false;
bool g_notifier_sleeping = false;

// decisions: decisions wait in the shared page (the notifier drains them
// even when no nextEvents waits).
void notify(bool decisions = false) {
    if ((!decisions && __atomic_load_n(&g_waiter, __ATOMIC_ACQUIRE) == nullptr) || g_notifier == nullptr) return;
    bool wake = false;
    {
        LockGuard<SpinLockIrq> g(g_notify_lock);
        if (g_notify_pending) return;
        g_notify_pending = true;
        wake = g_notifier_sleeping;
        g_notifier_sleeping = false;
    }
    if (wake) (void)sched::wake(*g_notifier);
}

bool g_notify_deferred = false;

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
bool g_ring_fault = false;             // the page's indices were impossible: demote at the next tick
MemoryObject* g_rings_mo = nullptr;    // reference held while attached
MemoryObject* g_rings_old = nullptr;   // the previous page: released at the next attach (thread context)
bool g_drain_flag = false;             // one drain at a time; never waited on
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

void latency_line_maybe(uint64_t now) {
    uint64_t last = __atomic_load_n(&g_lat_line_ns, __ATOMIC_RELAXED);
    uint64_t n = g_lat.count();
    if (n == __atomic_load_n(&g_lat_line_samples, __ATOMIC_RELAXED) || now - last < kLatencyLineNs || !active()) return;
    if (!__atomic_compare_exchange_n(&g_lat_line_ns, &last, now, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return;
    __atomic_store_n(&g_lat_line_samples, n, __ATOMIC_RELAXED);
    print_latency_line("", __atomic_load_n(&g_ring_mode, __ATOMIC_ACQUIRE));
}

void ring_drain();

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

// Posts e (recorded by `cpu`). wake=false: inside a context switch, where
// waking the notifier could spin on the very thread being switched away
// from; the next tick sends the wake-up instead.
//
// pending (with evicted): enter it in the pending table under the event's
// seq before the server can see the event. Entered after the post, a quick
// server on another CPU could answer first and find its decision "stale:
// not pending" (seen once in 55 -smp 4 runs; the thread then stayed where
// the default put it). *evicted: an older entry was pushed out.
uint64_t post(SchedEvent e, uint32_t cpu, bool wake = true, PendingEntry* pending = nullptr,
              bool* evicted = nullptr) {
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
        p.deadline_ns = p.posted_ns + __atomic_load_n(&g_deadline_ns, __ATOMIC_RELAXED);
        p.cpu = cpu;
    }
    uint64_t seq = post(thread_event(SchedEventKind::thread_runnable, t, pid, cpu), cpu, true, act ? &p : nullptr,
                        &evicted);
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
    (void)post(thread_event(exited ? SchedEventKind::thread_exited : SchedEventKind::thread_blocked, t, pid, cpu),
               cpu);
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

uint64_t g_tick_count[kMaxCpus];

void obs_tick(unsigned cpu) {
    // Tick-sampled CPU time of the thread this tick interrupted (exact
    // under an overloaded host, where TSC intervals absorb vCPU stalls).
    if (Thread* cur = sched::current_on(cpu); cur != nullptr && cur->user_ != nullptr)
        if (Reg* r = reg_find(cur->id())) __atomic_store_n(&r->ticks, r->ticks + 1, __ATOMIC_RELAXED);
    // Shared rings: move what the page had no room for, notice decisions a
    // polling server left without any event to carry them, and demote a
    // server whose indices went bad (the pump cannot: it runs under locks).
    bool decisions = ring_pump();
    if (__atomic_load_n(&g_ring_fault, __ATOMIC_ACQUIRE) && __atomic_exchange_n(&g_ring_fault, false, __ATOMIC_ACQ_REL)) {
        if (active() && g_health.on_invalid(SchedReason::malformed))
            demote(SchedReason::malformed, true, "shared ring index out of bounds");
    }
    if (decisions ||
        (__atomic_load_n(&g_notify_deferred, __ATOMIC_ACQUIRE) &&
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
    if (++g_tick_count[cpu] % SchedulerControl::kLoadEveryTicks != 0) return;
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

uint64_t g_idle_event_tick[kMaxCpus];

void obs_switch_in(unsigned cpu, Thread* next) {
    // A CPU going idle while another has a queue is the moment a policy
    // wants to rebalance: report it now rather than at the next periodic
    // load report (at most once per tick per CPU).
    if (next == nullptr && active() && g_idle_event_tick[cpu] != g_tick_count[cpu] + 1) {
        unsigned n = sched::cpu_count();
        for (unsigned c = 0; c < n; ++c) {
            if (c == cpu || sched::nr_runnable(c) < 2) continue;
            g_idle_event_tick[cpu] = g_tick_count[cpu] + 1;
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

const sched::SchedObserver g_observer{obs_place,     obs_runnable,  obs_left,          obs_preempted, obs_tick,
                                      obs_switch_in, obs_urgent,    obs_strict_slices, active};

// --- the notifier: completes a waiting nextEvents outside the posting path ----------------------------
// (Posting happens inside wake-ups, under locks op_complete may not nest in.)

void complete_waiter(AsyncOp* op) {
    op->status = 0;
    op->value = 0;
    // No events (the server calls again), and the dropped count.
    op->result_len = decode::next_events_result(op->small, sizeof op->small, g_ring.dropped(), nullptr, 0);
    op_complete(op);
}

constexpr uint32_t kMaxPerCall = decode::kSchedMaxEventsPerCall;  // 64 * (40 + 40) bytes fit kMaxResult with room

// Writes the nextEvents result (dropped count, the n events) into buf;
// returns its length (0: no room).
uint32_t write_events(uint8_t* buf, uint32_t cap, const SchedEvent* evs, uint32_t n) {
    return decode::next_events_result(buf, cap, g_ring.dropped(), evs, n);
}

void notifier_main(void*) {
    // Thread::create may run us before it returns to init(): use our own pointer.
    Thread* self = Thread::current();
    for (;;) {
        arch::IrqState s = arch::irq_save();
        g_notify_lock.lock();
        if (!g_notify_pending) {
            g_notifier_sleeping = true;
            __atomic_store_n(&self->state_, Thread::State::blocked, __ATOMIC_RELEASE);
            g_notify_lock.unlock();
            sched::block();
            arch::irq_restore(s);
            continue;
        }
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
        __atomic_store_n(&g_st_case, __atomic_load_n(&op->owner->waiting_, __ATOMIC_RELAXED)
                                         ? kCompleteToServerRemote
                                         : kCompleteToServerNotWaiting, __ATOMIC_RELAXED);
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

// --- methods ----------------------------------------------------------------------------------------

bool is_server(const Call& call) {
    return call.proc.id() == __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE);
}

// The rings MemoryObject named by attach's `rings`, with a reference (or
// nullptr and the status to fail with).
// The index was checked against the call's in-caps by decode.
MemoryObject* rings_of(Call& call, uint32_t index, Status* err) {
    *err = Status::invalid_argument;
    LockGuard<SpinLockIrq> g(cap_lock());
    auto l = call.proc.caps().lookup(call.caps_in[index], abi::kRightWrite);
    if (!l.ok()) {
        *err = Status::rights;
        return nullptr;
    }
    if (l.value().object->type() != ObjectType::memory_object) return nullptr;
    auto* mo = static_cast<MemoryObject*>(l.value().object);
    if (mo->pages() < abi::kSchedRingPages) return nullptr;
    mo->add_ref();
    return mo;
}

void m_attach(Call& call, const decode::SchedControlCall& dc) {
    const uint64_t deadline = dc.deadline_ns, resume = dc.resume_after_seq;
    MemoryObject* mo = nullptr;
    if (dc.has_rings) {
        Status err;
        mo = rings_of(call, dc.rings_cap, &err);
        if (mo == nullptr) return call.fail(err);
    }
    // The previous page is no longer touched by anyone (closed under the
    // flag): drop our reference here, in thread context.
    MemoryObject* stale_mo = nullptr;
    uint64_t epoch, next;
    {
        LockGuard<SpinLockIrq> g(g_ctl_lock);
        uint64_t old = g_server_pid;
        bool handover = old != 0 && old != call.proc.id() && !g_health.demoted();
        epoch = __atomic_add_fetch(&g_epoch, 1, __ATOMIC_ACQ_REL);
        // Under the ring flag: g_ring has one consumer (the pump, in ring
        // mode), and the page changes hands here.
        ring_lock();
        bool was_ring = __atomic_load_n(&g_ring_mode, __ATOMIC_RELAXED);
        // A fresh server starts at the present; a successor right after the
        // snapshot it imported (the ring kept everything since).
        uint64_t from = handover && resume != 0 ? resume : g_ring.last_seq();
        g_ring.skip_through(from);
        g_rk.close();
        stale_mo = g_rings_old;
        g_rings_old = g_rings_mo;
        g_rings_mo = mo;
        if (mo != nullptr) {
            RingView v;
            v.hdr = arch::phys_to<abi::SchedRingHeader>(mo->frame(0));
            v.ev = arch::phys_to<abi::SchedRingEvent>(mo->frame(1));
            v.dec = arch::phys_to<abi::SchedRingDecision>(mo->frame(2));
            g_rk.open(v, epoch);
            // Events the pump already gave the predecessor's page and that
            // its snapshot does not cover: the kernel's copies go first.
            if (handover && was_ring) replay_pushed(from);
        }
        __atomic_store_n(&g_ring_mode, mo != nullptr, __ATOMIC_RELEASE);
        ring_unlock();
        __atomic_store_n(&g_deadline_ns, deadline, __ATOMIC_RELAXED);
        g_health.reset(SchedulerControl::kMaxConsecutiveMisses);
        __atomic_store_n(&g_server_pid, call.proc.id(), __ATOMIC_RELEASE);
        next = g_ring.next_seq();
        if (handover && was_ring) next = from + 1;
        TraceRecord tr;
        tr.tsc = arch::read_cycles();
        tr.kind = TraceKind::attach;
        tr.seq = next;
        tr.a = epoch;
        tr.b = call.proc.id();
        tr.cpu = cpu::id();
        trace(tr);
        if (handover) {
            // Standing assignments stay: threads keep the old policy's
            // placement until the successor decides, never the default's.
            __atomic_store_n(&g_handover_ns, now_ns(), __ATOMIC_RELEASE);
            __atomic_store_n(&g_swap_default_placements, 0, __ATOMIC_RELAXED);
            ++g_swaps;
            kprintf("[placement] handover: server pid %llu -> pid %llu (epoch %llu, resume after seq %llu)\n",
                    static_cast<unsigned long long>(old), static_cast<unsigned long long>(call.proc.id()),
                    static_cast<unsigned long long>(epoch), static_cast<unsigned long long>(resume));
        } else {
            kprintf("[placement] server pid %llu attached (epoch %llu, deadline %llu ns)\n",
                    static_cast<unsigned long long>(call.proc.id()), static_cast<unsigned long long>(epoch),
                    static_cast<unsigned long long>(deadline));
        }
    }
    if (stale_mo != nullptr) stale_mo->release();
    (void)ring_pump();
    sched::retick_all();  // a server places by tick: CPUs that stopped theirs (adaptive tick) restart it now
    call.value = epoch;
    call.result_len = decode::attach_result(call.result, kMaxResult, epoch, sched::cpu_count(), next);
    if (call.result_len == 0) call.fail(Status::internal);
}

// nextEvents of a server with rings: apply the decisions waiting in the
// page, then park until an event is in it (or timeoutNs; 0: do not park).
// The result never carries events; `dropped` is the page's count.
void next_events_rings(Call& call, uint64_t timeout) {
    ring_drain();
    (void)ring_pump();
    LockGuard<SpinLockIrq> g(g_ctl_lock);
    if (!is_server(call)) return call.fail(Status::stale_slot);
    if (g_health.demoted()) return call.fail(Status::cancelled);
    if (timeout == 0 || ring_events_queued() != 0 || !__atomic_load_n(&g_ring_mode, __ATOMIC_ACQUIRE)) {
        call.result_len = decode::next_events_result(call.result, kMaxResult, g_rk.dropped(), nullptr, 0);
        return;
    }
    if (__atomic_load_n(&g_waiter, __ATOMIC_ACQUIRE) != nullptr) return call.fail(Status::busy);
    auto op = op_create(call, waiter_unlink, nullptr);
    if (!op.ok()) return call.fail(op.error());
    __atomic_store_n(&g_waiter, op.value(), __ATOMIC_RELEASE);
    op_arm_deadline(op.value(), now_ns() + timeout, waiter_timeout);
    // An event pushed between the look above and the store found no waiter.
    if (ring_events_queued() != 0 || g_ring.ready()) {
        (void)ring_pump();
        notify();
    }
}

void m_next_events(Call& call, const decode::SchedControlCall& dc) {
    const uint32_t max = dc.max;
    const uint64_t timeout = dc.timeout_ns;
    if (is_server(call) && __atomic_load_n(&g_ring_mode, __ATOMIC_ACQUIRE)) return next_events_rings(call, timeout);
    LockGuard<SpinLockIrq> g(g_ctl_lock);
    if (!is_server(call)) return call.fail(Status::stale_slot);  // replaced: the capability is dead to it
    if (g_health.demoted()) return call.fail(Status::cancelled);
    SchedEvent evs[kMaxPerCall];
    uint32_t n = 0;
    while (n < max && g_ring.pop(evs[n])) ++n;
    if (n == 0 && timeout != 0) {
        // Nothing queued: wait. The notifier completes the call (empty) as
        // soon as an event is posted, and the server asks again.
        __atomic_store_n(&g_st_waited, false, __ATOMIC_RELAXED);  // that batch needed no decision
        if (__atomic_load_n(&g_waiter, __ATOMIC_ACQUIRE) != nullptr) return call.fail(Status::busy);
        auto op = op_create(call, waiter_unlink, nullptr);
        if (!op.ok()) return call.fail(op.error());
        __atomic_store_n(&g_waiter, op.value(), __ATOMIC_RELEASE);
        uint64_t at = now_ns() + timeout;
        op_arm_deadline(op.value(), at, waiter_timeout);
        // An event posted between the empty pop and the store above found no
        // waiter: look again so it is not left behind until the timeout.
        if (g_ring.last_seq() >= g_ring.next_seq()) notify();
        return;
    }
    call.result_len = write_events(call.result, kMaxResult, evs, n);
    call.value = n;
    if (call.result_len == 0) return call.fail(Status::internal);
    if (n == 0) return;
    // Latency stages of this batch (see g_stage); evs[0] is its oldest event.
    uint64_t now = now_ns(), posted = evs[0].time_ns;
    if (__atomic_exchange_n(&g_st_waited, false, __ATOMIC_ACQ_REL)) {
        uint64_t ran = stamp_of(&g_st_notifier_run), done = stamp_of(&g_st_complete);
        uint64_t in = stamp_of(&g_st_server_in);
        if (__atomic_exchange_n(&g_st_await_switch, false, __ATOMIC_RELAXED) || in < done)
            in = done;  // the server never left its CPU (it spun in cap_enter)
        g_stage[kPostToNotifier].add(since(ran, posted));
        g_stage[kNotifierToComplete].add(since(done, ran));
        g_stage[__atomic_load_n(&g_st_case, __ATOMIC_RELAXED)].add(since(in, done));
        g_stage[kServerToDelivery].add(since(now, in));
    } else {
        g_stage[kQueued].add(since(now, posted));
    }
    stamp(&g_st_delivery, now);
}


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
    case SchedDecisionKind::none: return nullptr;
    case SchedDecisionKind::assign:
    case SchedDecisionKind::slice: {
        LockGuard<SpinLockIrq> g(g_reg_lock);
        Reg* r = reg_find(static_cast<uint32_t>(d.thread_id));
        if (d.thread_id > 0xffffffffull || r == nullptr || r->t == nullptr) return "stale: no such thread (exited?)";
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

void m_place(Call& call) {
    // Single-segment, as the kernel's readers of this call always took it
    // (the servers' codec writes it flat); the decisions through the
    // generated reader (object/sched_decision_decode.h).
    cap::capnp::FlatMessageReader<1> pr;
    const bool parsed = pr.init_flat(call.params, call.params_len) == cap::capnp::Error::Ok &&
                        pr.validate() == cap::capnp::Error::Ok;
    if (!is_server(call)) return call.fail(Status::stale_slot);
    if (g_health.demoted()) return call.fail(Status::cancelled);
    // Read only once validated; a decisions field that is not a list of
    // structs shows in error() after the read.
    const auto params = parsed ? pr.root<cap::schema::SchedulerControl::PlaceParams>()
                               : cap::schema::SchedulerControl::PlaceParams::Reader{};
    const uint64_t epoch = params.epoch();
    const auto list = params.decisions();
    if (!parsed || pr.error() != cap::capnp::Error::Ok) {
        demote(SchedReason::malformed, false, "decision list does not parse");
        return call.fail(Status::malformed_message);
    }
    const uint64_t now = now_ns();
    if (uint64_t d = __atomic_exchange_n(&g_st_delivery, 0ull, __ATOMIC_RELAXED); d != 0)
        g_stage[kDeliveryToPlace].add(since(now, d));
    constexpr uint32_t kMaxRejections = 32;
    decode::Rejection rej[kMaxRejections];
    uint32_t nrej = 0, applied = 0;
    bool stale_epoch = epoch != __atomic_load_n(&g_epoch, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < list.size(); ++i) {
        SchedDecision d;
        const char* why = nullptr;
        bool decoded = decode::placement_decision(list[i], &d, &why);
        if (pr.error() != cap::capnp::Error::Ok) decoded = false;  // an element the reader refused
        bool invalid = !decoded, late = false;
        if (decoded) why = nullptr;
        if (decoded && stale_epoch) why = "stale epoch (a successor attached)";
        else if (decoded) why = apply(d, now, &invalid, &late);
        settle(d, why, invalid, late, now);
        if (why == nullptr) {
            ++applied;
            continue;
        }
        if (nrej < kMaxRejections) rej[nrej++] = decode::Rejection{i, d.answers_seq, why};
        if (invalid) break;
    }
    call.result_len = decode::place_result(call.result, kMaxResult, applied, rej, nrej);
    call.value = applied;
    latency_line_maybe(now);
}

void m_snapshot(Call& call) {
    const unsigned ncpu = sched::cpu_count();
    decode::SnapshotCpu cpus[kMaxCpus];
    for (unsigned c = 0; c < ncpu && c < kMaxCpus; ++c) cpus[c].runnable = sched::nr_runnable(c);
    constexpr uint32_t kMaxThreads = 128;  // 128 * 40 bytes fit the result buffer
    decode::SnapshotThread threads[kMaxThreads];
    uint32_t n = 0;
    {
        LockGuard<SpinLockIrq> g(g_reg_lock);
        for (Reg& r : g_reg) {
            if (r.id == 0 || r.id == kTomb || r.t == nullptr || n >= kMaxThreads) continue;
            decode::SnapshotThread& t = threads[n++];
            t.thread_id = r.id;
            t.process_id = r.pid;
            t.cpu = r.assigned != kNoCpu ? r.assigned : r.t->last_cpu();
            t.weight = r.t->link_.weight;
            t.slice_ns = uint64_t{r.slice_ticks} * (1'000'000'000ull / sched::kTimerHz);
        }
    }
    call.result_len = decode::snapshot_result(
        call.result, kMaxResult, __atomic_load_n(&g_epoch, __ATOMIC_ACQUIRE), g_ring.next_seq() - 1,
        uint64_t{sched::kDefaultSliceTicks} * (1'000'000'000ull / sched::kTimerHz), cpus,
        ncpu < kMaxCpus ? ncpu : static_cast<unsigned>(kMaxCpus), threads, n);
    if (call.result_len == 0) call.fail(Status::internal);
}

void m_stats(Call& call) {
    // In the order of schema/scheduler.capnp's StatsResults.
    const uint64_t w[10] = {
        g_health.applied(), g_health.misses(), g_health.stale(), g_health.invalid(),
        latency_percentile(50), latency_percentile(99), g_fallback_latency_ns, g_swap_gap_ns,
        g_swap_default_placements, g_lat.count()};
    kprintf("[placement] stats applied=%llu misses=%llu stale=%llu invalid=%llu latency_median_ns=%llu "
            "latency_p99_ns=%llu samples=%llu fallback_latency_ns=%llu swaps=%llu swap_gap_ns=%llu "
            "swap_default_placements=%llu demotions=%llu\n",
            static_cast<unsigned long long>(w[0]), static_cast<unsigned long long>(w[1]),
            static_cast<unsigned long long>(w[2]), static_cast<unsigned long long>(w[3]),
            static_cast<unsigned long long>(w[4]), static_cast<unsigned long long>(w[5]),
            static_cast<unsigned long long>(w[9]), static_cast<unsigned long long>(w[6]),
            static_cast<unsigned long long>(g_swaps), static_cast<unsigned long long>(w[7]),
            static_cast<unsigned long long>(w[8]), static_cast<unsigned long long>(g_demotions));
    kprintf("[placement] rings mode=%u events=%llu drains=%llu applied=%llu refused=%llu dropped=%llu\n",
            __atomic_load_n(&g_ring_mode, __ATOMIC_ACQUIRE) ? 1u : 0u,
            static_cast<unsigned long long>(g_rk.events_pushed()),
            static_cast<unsigned long long>(__atomic_load_n(&g_ring_drains, __ATOMIC_RELAXED)),
            static_cast<unsigned long long>(__atomic_load_n(&g_ring_applied, __ATOMIC_RELAXED)),
            static_cast<unsigned long long>(g_rk.refused()), static_cast<unsigned long long>(g_rk.dropped()));
    // Where the time goes (us, median/p99 per batch; see g_stage).
    static const char* const kStageName[kStages] = {"post_to_notifier", "notifier_to_complete", "complete_to_server",
                                                    "complete_to_server_remote", "complete_to_server_not_waiting",
                                                    "server_to_delivery", "queued", "delivery_to_place"};
    char line[512];
    size_t at = 0;
    at += capos::fmt::snformat(line + at, sizeof line - at, "[placement] latency-stages waited=%llu busy=%llu",
                 static_cast<unsigned long long>(g_stage[kPostToNotifier].count()),
                 static_cast<unsigned long long>(g_stage[kQueued].count()));
    for (uint32_t i = 0; i < kStages && at < sizeof line; ++i)
        at += capos::fmt::snformat(line + at, sizeof line - at, " %s=%llux%llu/%llu", kStageName[i],
                     static_cast<unsigned long long>(g_stage[i].count()),
                     static_cast<unsigned long long>(g_stage[i].percentile(50) / 1000),
                     static_cast<unsigned long long>(g_stage[i].percentile(99) / 1000));
    kprintf("%s (count x us median/p99)\n", line);
    const decode::SchedStats st{w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9]};
    call.result_len = decode::sched_stats_result(call.result, kMaxResult, st);
    if (call.result_len == 0) call.fail(Status::internal);
}

}  // namespace

SchedulerControl& SchedulerControl::get() { return g_obj; }

void SchedulerControl::init(bool tracing) {
    __atomic_store_n(&g_tracing, tracing, __ATOMIC_RELEASE);
    ThreadOptions o;
    o.name = "sched-notify";
    o.detached = true;
    auto t = Thread::create(&notifier_main, nullptr, o);
    if (!t.ok()) {
        kprintf("[placement] no notifier thread (%s): user-space placement disabled\n", error_name(t.error()));
        return;
    }
    g_notifier = t.value();
    sched::set_observer(&g_observer);
}

// Drops the kernel's references to ring pages nobody uses any more: the
// previous page (closed when it was replaced or its server demoted) and,
// with `current`, the attached server's page once it is closed. In thread
// context only (a release may free frames). A MemoryObject holds its
// owner process, so until 2026-12 a dead server's Process lived on until
// the next attach (servers_kill's leak check saw one process too many).
static void release_closed_rings(bool current) {
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

void SchedulerControl::process_exited(uint64_t pid) {
    if (pid == 0 || pid != __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE)) {
        // A predecessor's page after a hand-over, or a demoted server's.
        if (pid != 0) release_closed_rings(false);
        return;
    }
    if (!g_health.demoted()) demote(SchedReason::server_exited, false, nullptr);
    release_closed_rings(true);
    LockGuard<SpinLockIrq> g(g_ctl_lock);
    if (g_server_pid == pid) __atomic_store_n(&g_server_pid, 0ull, __ATOMIC_RELEASE);
}

void SchedulerControl::thread_set_weight(Call& call, UserThread& t) {
    uint32_t w = 0;
    if (const decode::Verdict v = decode::thread_set_weight(decode_input(call), &w); !v.ok()) return call.fail(v.status);
    // The run queue keeps weight totals of the links it holds, so only a
    // thread that is not queued (typically the caller itself, running) may
    // change its weight here; a queued one is `busy` (retry).
    // An ended thread's kernel Thread is freed by the reaper; under the
    // process lock, one that has not exited still has it (see setCpuHint).
    LockGuard<SpinLockIrq> g(t.process().lock_);
    if (t.exited_) return call.fail(Status::peer_dead);
    Thread* k = t.kthread();
    if (__atomic_load_n(&k->link_.owner, __ATOMIC_ACQUIRE) != nullptr) return call.fail(Status::busy);
    k->link_.weight = w;
    if (Reg* reg = reg_find(k->id())) __atomic_store_n(&reg->weight, 0u, __ATOMIC_RELAXED);
}

void SchedulerControl::invoke(Call& call, SchedulerControl&) {
    // The read-only KernelStats interface (object/kernel_stats.h): needs Read,
    // not the Write every placement method below needs.
    if (call.sqe.interface_id == cap::schema::KernelStats::kInterfaceId) return kernel_stats::invoke(call);
    decode::SchedControlCall dc;
    const decode::Verdict v = decode::scheduler_control(decode_input(call), kDefaultDeadlineNs, &dc);
    using Op = decode::SchedControlCall::Op;
    if (!v.ok()) {
        if (v.status == Status::malformed_message && dc.op == Op::place &&
            call.sqe.method == cap::schema::SchedulerControl::Methods::place && is_server(call))
            demote(SchedReason::malformed, false, "place message does not parse");
        return call.fail(v.status);
    }
    switch (dc.op) {
    case Op::attach: return m_attach(call, dc);
    case Op::next_events: return m_next_events(call, dc);
    case Op::place: return m_place(call);
    case Op::set_default_slice: {
        if (!is_server(call)) return call.fail(Status::stale_slot);
        const uint64_t ns = dc.slice_ns;
        if (ns > kMaxSliceNs) return call.fail(Status::invalid_argument);
        __atomic_store_n(&g_default_slice_ticks, ns == 0 ? 0u : slice_ns_to_ticks(ns, 1'000'000'000u / sched::kTimerHz),
                         __ATOMIC_RELAXED);
        return;
    }
    case Op::snapshot: return m_snapshot(call);
    case Op::detach: {
        if (!is_server(call)) return call.fail(Status::stale_slot);
        if (!g_health.demoted()) demote(SchedReason::detached, false, nullptr);
        LockGuard<SpinLockIrq> g(g_ctl_lock);
        __atomic_store_n(&g_server_pid, 0ull, __ATOMIC_RELEASE);
        return;
    }
    case Op::status: {
        const uint16_t mode = __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE) == 0 ? 0 : (g_health.demoted() ? 2 : 1);
        call.value = mode;
        call.result_len = decode::sched_status_result(call.result, kMaxResult, mode,
                                                      __atomic_load_n(&g_epoch, __ATOMIC_ACQUIRE),
                                                      __atomic_load_n(&g_demotions, __ATOMIC_RELAXED) + g_health.misses());
        if (call.result_len == 0) call.fail(Status::internal);
        return;
    }
    case Op::trace_dump: {
        // It stops, prints and clears the trace of the serving server's
        // run, so while a server serves only that server may (the
        // is_server check of the other control methods; issue 14 point 6:
        // until 2026-12 any holder could). With no server serving (none
        // attached, or demoted), any holder: the in-guest tests bracket a
        // server's run with it.
        if (active() && !is_server(call)) return call.fail(Status::stale_slot);
        __atomic_store_n(&g_tracing, false, __ATOMIC_RELEASE);
        dump_trace();
        __atomic_store_n(&g_tracing, dc.trace_enable, __ATOMIC_RELEASE);
        return;
    }
    case Op::stats: return m_stats(call);
    }
    call.fail(Status::bad_method);
}

}  // namespace kern
