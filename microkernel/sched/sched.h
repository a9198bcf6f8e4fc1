// sched.h: per-CPU dispatch: run queues, idle, preemption, wake-up placement.
//
// Each CPU owns a RunQueue under its own lock (LockRank::run_queue); the
// dispatch path takes only the local lock, and a wake-up takes only the
// target CPU's lock. A thread made runnable (created or woken) goes where
// the placement hook says (default_placement unless one is installed); if
// that is another CPU, a reschedule IPI follows the enqueue. The LAPIC timer
// ticks every CPU at timer_hz(); a thread that used its slice is charged
// its cycles at its weight and requeued by vruntime, and the queue's lowest
// runs next (sched/run_queue.h), so turns follow weights. A thread that wakes
// owed CPU (it slept; bounded credit) preempts the running one at once once
// that one has run the minimum granularity (checked again at the next tick
// if not yet), locally or in the target CPU's reschedule interrupt. An empty
// queue runs the CPU's idle thread, which halts with interrupts on.
//
// Contexts: schedule() needs interrupts off; wake() may be called from any
// context, interrupts on or off, holding at most locks ranked below
// run_queue.
#pragma once

#include <stdint.h>

#include "sched/placement.h"

namespace kern {
class Thread;
}

namespace kern::sched {

inline constexpr uint32_t kTimerHz = 250;
inline constexpr uint32_t kDefaultSliceTicks = 5;  // 20 ms at 250 Hz

// Boot CPU, after smp_init(): per-CPU state for every online CPU, the boot
// context becomes a thread, idle threads, timer/IPI handlers; the APs are
// sent into ap_enter().
void init();
// An AP's entry into dispatch (installed with arch::set_ap_main); does the
// per-CPU set-up (FPU, PCID, timer) and becomes that CPU's idle thread.
[[noreturn]] void ap_enter();
bool running();
// CPUs dispatching threads.
unsigned cpu_count();

// Picks the next thread of this CPU and switches to it. Interrupts off.
void schedule();
// Gives the CPU to the next queued thread, if any.
void yield();
// The current thread blocks: its state must already be Thread::State::blocked
// (set with interrupts off, under the lock of whatever it waits on, which is
// released before this call). Returns once woken.
void block();
// Makes t runnable if it is blocked; returns false otherwise.
bool wake(Thread& t);
// Enqueues a new (never run) thread where placement says.
void start(Thread& t);
// Spins until t's stack is free: the CPU that switched away from t has
// finished the switch (Thread::on_cpu_ clear). That switch path takes no
// lock a waiter may hold, so the wait is short; past the spinlock hold
// limit it panics naming the thread, its CPU and `site` instead of hanging
// silently (an every-vCPU-busy hang is the hardest thing to debug here).
void wait_off_cpu(const Thread& t, const char* site);
// Sleeps until `ticks` timer ticks of this CPU have passed (so at least
// ticks - 1 whole tick periods; 0 counts as 1).
void sleep_ticks(uint64_t ticks);
// Sleeps until this CPU's tick count (PerCpu::ticks) reaches `tick`; returns
// at once if it already has.
void sleep_until_tick(uint64_t tick);
// A timed sleep another CPU may end early or shorten (the timekeeper's). The
// current thread, interrupts off, its state already set blocked by the
// caller, goes on this CPU's sleep list to be woken by the first tick at or
// after now_ns() `at_ns`; the caller then calls block(). The caller must
// serialise file_sleep, unfile_sleep and shorten_sleep of one thread with a
// lock of its own.
void file_sleep(uint64_t at_ns);
// Takes t off the sleep list file_sleep put it on. True if it was there:
// the caller must then wake(t) itself. False: the tick already took it and
// wakes it (or it was not filed).
bool unfile_sleep(Thread& t);
// Moves t's filed wake-up to `at_ns` if that is earlier; no effect if the
// tick already took it.
void shorten_sleep(Thread& t, uint64_t at_ns);
// Drops the current thread (exit path): never returns.
[[noreturn]] void exit_current();

// Installs a placement hook (nullptr: the default). Answers that are not
// valid CPUs for the thread are replaced by default_placement and counted.
void set_placement_hook(PlacementHook hook, void* ctx);
uint64_t placement_fallbacks();

// --- hooks for user-space placement (object/scheduler_control) -------------
// The placement server never runs in these paths: the observer only reads
// data the server left behind (standing assignments) and posts events into
// a lock-free ring. Every callback runs on the CPU concerned with interrupts
// off and no run-queue lock held; none may block.
struct SchedObserver {
    // t becomes runnable: the CPU its standing assignment names, or kNoCpu
    // for the built-in default. The answer is validated like a hook's.
    unsigned (*place)(Thread& t, const PlacementInput& in);
    // t was queued on `cpu` (created: first time; standing: place() chose it).
    void (*runnable)(Thread& t, unsigned cpu, bool created, bool standing);
    // t left its CPU blocked or exited (t.state() says which).
    void (*left)(Thread& t, unsigned cpu);
    // t is preempted on `cpu` while still runnable: the CPU it should move
    // to (its standing assignment), or kNoCpu to stay.
    unsigned (*preempted)(Thread& t, unsigned cpu);
    // Every timer tick of `cpu` (deadline sweeps, load reports).
    void (*tick)(unsigned cpu);
    // `next` starts running on `cpu` (nullptr: the idle thread). Tracing.
    void (*switch_in)(unsigned cpu, Thread* next);
    // True for threads whose wake-up must not wait for a slice to end (the
    // placement server and its notifier): queued at the head, with a
    // reschedule IPI even to this CPU, so the server answers within its deadline.
    bool (*urgent)(const Thread& t);
    // True while a placement server sets slices: a thread is then not
    // preempted before its slice ends except by an urgent thread (whose
    // preemption it gets back, see schedule()), so slices are shares.
    bool (*strict_slices)();
    // True while a placement server places threads: an idle CPU then does
    // not take threads from other CPUs' queues (the server is told the CPU
    // went idle and moves threads itself).
    bool (*placing)();
};
// Installs (or, with nullptr, removes) the observer; o must stay valid.
void set_observer(const SchedObserver* o);
// Adaptive tick (sched.cpp): a CPU running one user thread with nothing else
// to do stops its periodic tick. On by default; kernel option tick=periodic
// turns it off. Call before init().
void set_adaptive_tick(bool on);
// Every CPU re-decides whether it needs its tick (a placement server
// attached). Any context.
void retick_all();
// Moves t to `cpu` if it waits in a run queue (not running, not blocked):
// a placement decision that arrived while the thread was still queued.
// Returns false when it is not queued (the standing assignment then applies
// at its next wake-up or preemption). Any context, no run-queue lock held.
bool move_queued(Thread& t, unsigned cpu);
// Threads queued + running on cpu (published value, racy).
uint32_t nr_runnable(unsigned cpu);

struct CpuStats {
    uint64_t switches;       // context switches on this CPU
    uint64_t migrations_in;  // threads that arrived from another CPU
    uint64_t ticks;          // timer ticks taken
    uint64_t idle_ticks;     // ticks that found the idle thread running
    uint64_t resched_ipis;   // reschedule IPIs received
    uint64_t queued;         // threads in the run queue now
};
CpuStats stats(unsigned cpu);
// The thread on CPU cpu right now (racy snapshot; for tests).
Thread* current_on(unsigned cpu);
// True if cpu runs its idle thread.
bool cpu_idle(unsigned cpu);

}  // namespace kern::sched
