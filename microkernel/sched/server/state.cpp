// state.cpp: who serves (pid, epoch, deadline, health) and the decision statistics: the
// latency histograms and the latency line every run prints.
#include "sched/server/server.h"

#include "arch/interface/timer.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "object/thread.h"

namespace kern::psrv {

// --- global state -------------------------------------------------------------

EventRing<1024> g_ring;
PendingTable<256> g_pending;
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

bool active() { return __atomic_load_n(&g_server_pid, __ATOMIC_ACQUIRE) != 0 && !g_health.demoted(); }
// --- statistics -----------------------------------------------------------------

LatencyHistogram g_lat;  // event posted -> decision applied, per in-time decision
uint64_t g_demotions = 0;
uint64_t g_fallback_placements = 0;      // placements by the default while a server was attached
uint64_t g_server_exit_ns = 0;           // last exit of a server thread
uint64_t g_fallback_latency_ns = 0;      // server thread exit -> demotion
uint64_t g_last_apply_ns = 0;            // last in-time decision applied
uint64_t g_handover_ns = 0;              // attach of a successor (0: none pending)
uint64_t g_swap_gap_ns = 0;              // previous server's last decision -> successor's first
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
LatencyHistogram g_stage[kStages];
uint64_t g_st_notifier_run = 0, g_st_complete = 0, g_st_server_in = 0, g_st_delivery = 0;
bool g_st_waited = false, g_st_await_switch = false;
uint32_t g_st_case = kCompleteToServer;
uint32_t g_st_cpu = 0;

void latency_line_maybe(uint64_t now) {
    uint64_t last = __atomic_load_n(&g_lat_line_ns, __ATOMIC_RELAXED);
    uint64_t n = g_lat.count();
    if (n == __atomic_load_n(&g_lat_line_samples, __ATOMIC_RELAXED) || now - last < kLatencyLineNs || !active()) return;
    if (!__atomic_compare_exchange_n(&g_lat_line_ns, &last, now, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return;
    __atomic_store_n(&g_lat_line_samples, n, __ATOMIC_RELAXED);
    print_latency_line("", __atomic_load_n(&g_ring_mode, __ATOMIC_ACQUIRE));
}

}  // namespace kern::psrv
