// server.h: the kernel side of a user-space placement server, shared by the
// files of sched/server/ and by the SchedulerControl object
// (object/scheduler_control.cpp: decode and invoke of its methods). Nothing
// else includes it. docs/placement.md tells the whole mechanism; each file
// here holds one part of it:
//
//   state.cpp      who serves (pid, epoch, deadline, health), statistics and
//                  the latency line
//   trace.cpp      the per-CPU placement trace
//   registry.cpp   thread id -> thread and its standing assignment
//   events.cpp     posting events, demotion, the notifier thread
//   rings.cpp      the event and decision rings in the server's shared page
//   decisions.cpp  one decision checked, applied and settled
//   observer.cpp   the dispatch observer (what dispatch reports and asks)
//
// Lock order (outermost first): g_ctl_lock (rank process) -> g_reg_lock,
// g_notify_lock (rank thread) -> run-queue locks; g_ring_flag is a bare
// leaf flag, always taken with interrupts off and never while applying a
// decision (rings.cpp). The pending table's slot flags are taken only inside
// pending_op (interrupts off).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/interface/cpu.h"
#include "cap/call_decode.h"
#include "cpu/spinlock.h"
#include "ipc/ring_dispatch.h"
#include "object/scheduler_control.h"
#include "sched/sched.h"
#include "sched/sched_events.h"
#include "sched/sched_ring.h"

namespace kern {

class MemoryObject;
class Thread;

namespace psrv {

namespace abi = capos::abi;
using abi::Status;

// --- state.cpp: who serves ---------------------------------------------------
extern EventRing<1024> g_ring;
extern PendingTable<256> g_pending;
extern ServerHealth g_health;
// Who places. pid 0: nobody attached (builtin). Written under g_ctl_lock,
// read lock-free by dispatch.
extern uint64_t g_server_pid;
extern uint64_t g_epoch;
extern uint64_t g_deadline_ns;
extern uint32_t g_default_slice_ticks;  // 0: dispatch's own default
// Serializes attach/detach/nextEvents (one consumer of the ring); see state.cpp.
extern SpinLockIrq g_ctl_lock;
// A server is attached and not demoted.
bool active();

// The pending table's slot locks are bare spin flags that every CPU's timer
// tick takes too (the observer's sweep): a holder interrupted by its own
// CPU's tick would spin on itself, and the other CPUs' sweeps then on it --
// every vCPU busy, nothing printed. So each use runs with interrupts off,
// whether or not its caller already has them off (the decision path does not).
template <class F>
auto pending_op(F&& f) {
    arch::IrqState s = arch::irq_save();
    auto r = f();
    arch::irq_restore(s);
    return r;
}

// --- state.cpp: statistics ---------------------------------------------------
extern LatencyHistogram g_lat;  // event posted -> decision applied, per in-time decision
extern uint64_t g_demotions;
extern uint64_t g_fallback_placements;
extern uint64_t g_server_exit_ns;
extern uint64_t g_fallback_latency_ns;
extern uint64_t g_last_apply_ns;
extern uint64_t g_handover_ns;
extern uint64_t g_swap_gap_ns;
extern uint64_t g_swap_default_placements;
extern uint64_t g_swaps;
void record_latency(uint64_t ns);
uint64_t latency_percentile(uint32_t p);
// A deadline miss: counted since boot, then judged by ServerHealth (true: demote).
bool count_miss();
void print_latency_line(const char* when, bool rings);
// Prints the latency line if it is due (at most every 0.5 s with new samples).
void latency_line_maybe(uint64_t now);

// Where decision latency goes, per batch (docs/placement.md, "Decision latency").
enum Stage : uint32_t {
    kPostToNotifier,
    kNotifierToComplete,
    kCompleteToServer,
    kCompleteToServerRemote,
    kCompleteToServerNotWaiting,
    kServerToDelivery,
    kQueued,
    kDeliveryToPlace,
    kStages
};
extern LatencyHistogram g_stage[kStages];
extern uint64_t g_st_notifier_run, g_st_complete, g_st_server_in, g_st_delivery;
extern bool g_st_waited, g_st_await_switch;
extern uint32_t g_st_case;
extern uint32_t g_st_cpu;
inline void stamp(uint64_t* w, uint64_t v) { __atomic_store_n(w, v, __ATOMIC_RELAXED); }
inline uint64_t stamp_of(const uint64_t* w) { return __atomic_load_n(w, __ATOMIC_RELAXED); }
inline uint64_t since(uint64_t later, uint64_t earlier) { return later > earlier ? later - earlier : 0; }

// --- trace.cpp ---------------------------------------------------------------
extern bool g_tracing;
// One CPU's trace (PerCpu::trace). 16384 records per CPU: a placement-workload
// boot of about 10 s under TCG records up to about 11,000 on one CPU (wakeup:
// a switch every few ms per CPU), which 4096 could not hold.
struct CpuTrace : TraceBuffer<16384> {};
// Turns recording on or off. Turning it on first gives every online CPU
// without one its buffer (thread context: it allocates); a CPU whose buffer
// could not be allocated records nothing and the dump says so. Returns the
// number of CPUs without a buffer (0: every CPU records).
unsigned set_tracing(bool on);
void trace(TraceRecord r);
void dump_trace();  // prints and clears every CPU's buffer

// --- registry.cpp ------------------------------------------------------------
constexpr size_t kReg = 2048;
constexpr uint32_t kTomb = ~0u;
struct Reg {
    uint32_t id = 0;             // 0 free, kTomb deleted (atomic: read lock-free by dispatch)
    uint32_t assigned = kNoCpu;  // standing assignment (atomic)
    uint32_t slice_ticks = 0;    // standing slice, 0 = default (atomic)
    uint32_t weight = 0;         // weight set by the server, reported in events; 0 = the thread's own
    uint64_t ticks = 0;          // timer ticks that found it running (tick-sampled CPU time)
    uint64_t pid = 0;
    Thread* t = nullptr;  // valid while id is set (removed before the thread is freed)
};
extern Reg g_reg[kReg];
extern SpinLockIrq g_reg_lock;
Reg* reg_find(uint32_t id);  // lock-free (dispatch): the slot of id or nullptr
void reg_insert(Thread& t, uint64_t pid);
void reg_remove(uint32_t id);
void clear_assignments();

// --- events.cpp --------------------------------------------------------------
extern AsyncOp* g_waiter;  // a nextEvents call waiting for events
extern Thread* g_notifier;
extern bool g_notify_deferred;
// Wakes the notifier (decisions: decisions wait in the shared page).
void notify(bool decisions = false);
// Posts e (recorded by `cpu`); see events.cpp for wake and pending.
uint64_t post(SchedEvent e, uint32_t cpu, bool wake = true, PendingEntry* pending = nullptr, bool* evicted = nullptr);
// Demotes the server (first caller only); `already`: ServerHealth recorded the verdict.
void demote(SchedReason why, bool already, const char* detail);
uint64_t process_of(const Thread& t);
bool reported(const Thread& t, uint64_t* pid);
SchedEvent thread_event(SchedEventKind k, const Thread& t, uint64_t pid, unsigned cpu);
constexpr uint32_t kMaxPerCall = decode::kSchedMaxEventsPerCall;  // 64 * (40 + 40) bytes fit kMaxResult with room
uint32_t write_events(uint8_t* buf, uint32_t cap, const SchedEvent* evs, uint32_t n);
void notifier_main(void*);
void waiter_timeout(Deadline* d);
bool waiter_unlink(AsyncOp* op);

// --- rings.cpp ---------------------------------------------------------------
extern RingKernelSide g_rk;
extern bool g_ring_mode;
extern bool g_ring_fault;
extern MemoryObject* g_rings_mo;
extern MemoryObject* g_rings_old;
extern uint64_t g_ring_applied, g_ring_drains;
bool ring_lock_try();
void ring_lock();
void ring_unlock();
void replay_pushed(uint64_t after);
bool ring_pump();
uint64_t ring_events_queued();
void ring_close();
void ring_drain();
void release_closed_rings(bool current);

// --- decisions.cpp -----------------------------------------------------------
const char* apply(const SchedDecision& d, uint64_t now, bool* invalid, bool* late);
void settle(const SchedDecision& d, const char* why, bool invalid, bool late, uint64_t now);
bool decision_of(const capos::abi::SchedRingDecision& e, SchedDecision* d);

// --- observer.cpp ------------------------------------------------------------
extern const sched::SchedObserver g_observer;

}  // namespace psrv
}  // namespace kern
