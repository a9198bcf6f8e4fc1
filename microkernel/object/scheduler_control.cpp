// scheduler_control.cpp: the SchedulerControl object: decode and invoke of
// its methods (attach, nextEvents, place, snapshot, stats, traceDump, ...).
// The mechanism they drive -- events to the placement server, its decisions
// applied as data, deadlines, demotion, the shared rings, the trace -- is
// sched/server/ (server.h lists its parts).
#include "object/scheduler_control.h"

#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "arch/interface/paging.h"  // phys_to: the direct map (as memory_object.cpp)
#include "cap/kernel_object.h"
#include "cap/sched_decision_decode.h"
#include "capos/capnp/capnp.h"
#include "capos/fmt/format.h"
#include "capos/schema/scheduler.capnp.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "object/kernel_stats.h"
#include "object/memory_object.h"
#include "object/process.h"
#include "object/thread.h"
#include "sched/sched.h"
#include "sched/server/server.h"

namespace kern {

namespace {

using namespace psrv;

SchedulerControl g_obj;

// --- methods ----------------------------------------------------------------------------------------

bool is_server(const Call& call) { return call.proc.id() == __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE); }

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
    op_arm_deadline(op.value(), deadline_after(timeout), waiter_timeout);
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
        op_arm_deadline(op.value(), deadline_after(timeout), waiter_timeout);
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

void m_place(Call& call) {
    // Single-segment, as the kernel's readers of this call always took it
    // (the servers' codec writes it flat); the decisions through the
    // generated reader (cap/sched_decision_decode.h).
    cap::capnp::FlatMessageReader<1> pr;
    const bool parsed =
        pr.init_flat(call.params, call.params_len) == cap::capnp::Error::Ok && pr.validate() == cap::capnp::Error::Ok;
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
    const uint64_t w[10] = {g_health.applied(),    g_health.misses(),      g_health.stale(),
                            g_health.invalid(),    latency_percentile(50), latency_percentile(99),
                            g_fallback_latency_ns, g_swap_gap_ns,          g_swap_default_placements,
                            g_lat.count()};
    kprintf(
        "[placement] stats applied=%llu misses=%llu stale=%llu invalid=%llu latency_median_ns=%llu "
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
    static const char* const kStageName[kStages] = {"post_to_notifier",
                                                    "notifier_to_complete",
                                                    "complete_to_server",
                                                    "complete_to_server_remote",
                                                    "complete_to_server_not_waiting",
                                                    "server_to_delivery",
                                                    "queued",
                                                    "delivery_to_place"};
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
    (void)set_tracing(tracing);
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
    if (const decode::Verdict v = decode::thread_set_weight(decode_input(call), &w); !v.ok())
        return call.fail(v.status);
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
        case Op::attach:
            return m_attach(call, dc);
        case Op::next_events:
            return m_next_events(call, dc);
        case Op::place:
            return m_place(call);
        case Op::set_default_slice: {
            if (!is_server(call)) return call.fail(Status::stale_slot);
            const uint64_t ns = dc.slice_ns;
            if (ns > kMaxSliceNs) return call.fail(Status::invalid_argument);
            __atomic_store_n(&g_default_slice_ticks,
                             ns == 0 ? 0u : slice_ns_to_ticks(ns, 1'000'000'000u / sched::kTimerHz), __ATOMIC_RELAXED);
            return;
        }
        case Op::snapshot:
            return m_snapshot(call);
        case Op::detach: {
            if (!is_server(call)) return call.fail(Status::stale_slot);
            if (!g_health.demoted()) demote(SchedReason::detached, false, nullptr);
            LockGuard<SpinLockIrq> g(g_ctl_lock);
            __atomic_store_n(&g_server_pid, 0ull, __ATOMIC_RELEASE);
            return;
        }
        case Op::status: {
            const uint16_t mode =
                __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE) == 0 ? 0 : (g_health.demoted() ? 2 : 1);
            call.value = mode;
            call.result_len =
                decode::sched_status_result(call.result, kMaxResult, mode, __atomic_load_n(&g_epoch, __ATOMIC_ACQUIRE),
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
            (void)set_tracing(false);
            dump_trace();
            (void)set_tracing(dc.trace_enable);
            return;
        }
        case Op::stats:
            return m_stats(call);
    }
    call.fail(Status::bad_method);
}

}  // namespace kern
