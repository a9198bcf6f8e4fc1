// thread.h: the kernel Thread object: a saved context, a stack, optional
// FPU/SSE/AVX state, and the links dispatch (sched/sched) uses.
//
// Lifetime: create() makes the thread runnable at once (placement chooses its
// CPU). It runs entry(arg) and exits when entry returns or it calls exit().
// Exactly one other thread may join() it; join waits for the exit, then frees
// the stack and the object. A detached thread is freed by dispatch after its
// last switch away.
//
// State machine (owned by sched/sched):
//   running  -> runnable  (preempted or yielded; requeued on its CPU)
//   running  -> blocked   (the thread itself, interrupts off, then schedules)
//   blocked  -> runnable  (sched::wake, by CAS, exactly once)
//   running  -> exited    (exit())
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cpu/spinlock.h"
#include "lib/atomic.h"
#include "sched/cpu_time.h"
#include "debug/fault_plan.h"
#include "sched/placement.h"
#include "lib/intrusive_queue.h"
#include "lib/result.h"
#include "sched/run_queue.h"
#include "sched/wait_queue.h"

namespace kern {

class AddressSpace;

struct ThreadOptions {
    const char* name = "thread";
    bool uses_fpu = false;                  // save/restore FPU/SSE/AVX state on switches
    CpuMask allowed = CpuMask::all();       // CPUs it may run on
    AddressSpace* address_space = nullptr;  // nullptr: kernel page tables only
    uint32_t weight = kDefaultWeight;
    bool detached = false;  // nobody joins; freed after exit
};

class Thread {
public:
    using Entry = void (*)(void* arg);
    enum class State : uint8_t { runnable, running, blocked, exited };

    static constexpr size_t kStackSize = 16 * 1024;
    static constexpr uint64_t kStackCanary = 0x5ca1ab1e0ddba11ull;

    // Creates a thread running entry(arg) and makes it runnable.
    // Errors: out_of_memory (object, stack or FPU area), invalid_argument
    // (null entry, empty allowed mask, weight 0).
    static Result<Thread*> create(Entry entry, void* arg, const ThreadOptions& opt = {});

    // Waits until this thread exited, then frees it. Must not be called on
    // the current thread or a detached one. Errors: invalid_argument.
    Result<void> join();

    // Ends the calling thread.
    [[noreturn]] static void exit();

    // The thread running on this CPU.
    static Thread* current();
    // Threads created and not yet freed (adopted contexts not included).
    static uint64_t live_count();

    // Changes the CPUs this thread may run on; takes effect when it is next
    // placed. Errors: invalid_argument (empty mask).
    Result<void> set_affinity(CpuMask allowed);

    State state() const { return atomic_load(&state_, MemOrder::acquire); }
    const char* name() const { return name_; }
    unsigned last_cpu() const { return __atomic_load_n(&last_cpu_, __ATOMIC_RELAXED); }
    uint64_t migrations() const { return migrations_; }
    uint64_t switches_in() const { return switches_in_; }
    bool uses_fpu() const { return fpu_area_ != nullptr; }
    uint32_t id() const { return id_; }
    // CPU time in TSC cycles, the running slice included (sched/cpu_time.h).
    uint64_t cpu_cycles() const;
    // Thread.cpuTime's results (schema/thread.capnp) in stream framing into
    // out; returns the bytes written, 0 if they do not fit in out_cap.
    uint32_t encode_cpu_time(void* out, size_t out_cap) const;

    // --- dispatch internals (sched/sched.cpp, context_switch.S) ------------
    uint64_t saved_rsp_ = 0;  // callee-saved frame of a switched-out thread
    RunQueueLink link_;       // entity = this
    State state_ = State::runnable;
    volatile bool on_cpu_ = false;  // its stack is in use by some CPU
    unsigned cpu_ = kNoCpu;         // CPU it runs on or is queued on
    unsigned last_cpu_ = kNoCpu;    // CPU it last ran on
    CpuMask allowed_;
    AddressSpace* address_space_ = nullptr;
    void* fpu_area_ = nullptr;  // XSAVE/FXSAVE area, 64-byte aligned; null if unused
    uint8_t* stack_ = nullptr;  // lowest address of the stack (canary), null for adopted contexts
    bool detached_ = false;
    bool is_idle_ = false;
    uint64_t wake_tick_ = 0;        // sleep deadline on the sleep list's CPU
    uint64_t wake_ns_ = 0;          // or, if not 0, a now_ns() deadline (file_sleep)
    Thread* sleep_next_ = nullptr;  // sleep list link (that CPU's run-queue lock)
    QueueLink<Thread> wait_link_;   // a WaitQueue it blocks on (sched/wait_queue.h; that queue's lock)
    unsigned sleep_cpu_ = kNoCpu;   // CPU whose sleep list file_sleep used (its caller's lock)
    SpinLockIrq join_lock_{LockRank::thread, "thread.join"};
    WaitQueue joiner_ CAPOS_GUARDED_BY(join_lock_);  // the thread waiting in join()
    Entry entry_ = nullptr;
    void* arg_ = nullptr;
    const char* name_ = "thread";
    uint32_t id_ = 0;
    uint64_t migrations_ = 0;
    uint64_t switches_in_ = 0;
    CpuTime cpu_time_;      // charged by switch_to (sched/sched.cpp)
    void* user_ = nullptr;  // the UserThread (object/process.h) this thread runs, if any
    // Allocation fault injection armed for this thread (debug/fault_inject.h,
    // FaultInjection); touched only by the thread itself.
    fault::Plan fault_plan_;
    // Called by dispatch on the CPU that is about to run this thread (just
    // before the stack switch, interrupts off): per-CPU state a thread
    // brings along, e.g. TSS.rsp0 / the SYSCALL stack and FS base of a thread
    // that returns to user mode. nullptr for plain kernel threads.
    void (*on_switch_in_)(Thread& t) = nullptr;

    // Wraps the running context (kmain on the boot CPU, an AP's boot stack)
    // in a Thread so dispatch can switch away from it. Never freed.
    static Thread* adopt_current(Thread* storage, const char* name);
    // Allocates a thread without making it runnable (idle threads).
    static Result<Thread*> create_stopped(Entry entry, void* arg, const ThreadOptions& opt);
    // Frees a thread that has exited and is off every CPU.
    void destroy();
    // True if the stack's lowest word still holds the canary.
    bool stack_intact() const;

    Thread() = default;
    Thread(const Thread&) = delete;
    Thread& operator=(const Thread&) = delete;
};

// WaitQueue's link (IntrusiveQueue's Link): Thread::wait_link_.
struct ThreadWaitLink {
    static QueueLink<Thread>& of(Thread& t) { return t.wait_link_; }
};

}  // namespace kern

// Entry of a new thread (context_switch.S jumps here): finishes the switch,
// enables interrupts, runs entry(arg), exits.
extern "C" [[noreturn]] void sched_thread_start(kern::Thread::Entry entry, void* arg);
// Saves callee-saved registers and rsp into *save_rsp, loads new_rsp and
// returns into the context saved there.
extern "C" void context_switch(uint64_t* save_rsp, uint64_t new_rsp);
extern "C" char thread_trampoline[];
