// sched.cpp: per-CPU dispatch: run queues, context switches, idle, timer
// preemption, wake-up placement with reschedule IPIs.
//
// Longer than 600 lines on purpose: dispatch is one mechanism. Queueing,
// switching, the tick and wake-up placement all work on one CPU's state
// under its run-queue lock, and their invariants are read together here.
#include "sched/sched.h"

#include "arch/interface/cpu.h"
#include "arch/interface/ipi.h"
#include "arch/interface/smp.h"
#include "arch/interface/timer.h"
#include "arch/interface/fpu.h"
#include "arch/interface/paging.h"
#include "arch/interface/tlb.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "lib/saturating.h"
#include "cpu/percpu.h"
#include "cpu/spinlock.h"
#include "mm/kheap.h"
#include "sched/run_queue.h"
#include "object/address_space.h"
#include "object/thread.h"

namespace kern::sched {
namespace {

using State = Thread::State;

}  // namespace

// Named outside the anonymous namespace: PerCpu::sched points at it
// (cpu/percpu.h forward-declares it).
struct alignas(64) CpuSched {
    SpinLock lock{LockRank::run_queue, "run_queue"};  // rq, sleepers, current/idle publication
    RunQueue rq;
    Thread* current = nullptr;
    Thread* idle = nullptr;
    Thread* prev = nullptr;      // switched away from; finish_switch() releases it
    Thread* sleepers = nullptr;  // threads sleeping on this CPU's tick count
    Thread* migrate = nullptr;   // preempted thread to queue on migrate_to once off this CPU
    unsigned migrate_to = 0;
    bool preempting = false;   // schedule() called by an interrupt before the slice ended
    Thread* resume = nullptr;  // preempted mid-slice by an urgent thread: gets resume_slice back
    uint32_t resume_slice = 0;
    AddressSpace* loaded_as = nullptr;  // what CR3 holds (nullptr: kernel tables)
    uint32_t slice_left = kDefaultSliceTicks;
    bool need_resched = false;
    // A thread woke here owed CPU while the running one had not yet run its
    // minimum granularity (WakePreempt::later): the tick asks again.
    bool wake_check = false;
    unsigned id = 0;
    volatile bool online = false;
    // Published under lock, read without it by placement and idle.
    uint64_t load_pub = 0;
    uint64_t queued_pub = 0;
    bool idle_pub = true;
    bool tick_off = false;  // this CPU's periodic tick is stopped (update_tick): owner CPU only
    // An AP's idle thread: the AP's boot stack adopted (ap_enter); unused on CPU 0.
    alignas(64) Thread ap_idle;
    // Statistics live in PerCpu::counters (cpu/cpu_stats.h).
};

namespace {

// Each CPU's CpuSched is reached through its PerCpu (one door for per-CPU
// state): a typed pointer rather than an embedded member, so cpu/percpu.h
// does not see run queues and spinlocks. init() allocates and attaches one
// for every CPU that is up before any AP enters the scheduler, and blocks
// never move or go away, so the pointers are read without synchronisation.
// The local path (local()) costs what g_cpu[cpu::id()] did: one gs-relative
// load and one load.
//
// on(): a CPU below g_ncpus (callers check). find(): any id, nullptr for a
// CPU the scheduler does not run on (queries from outside take any id).
CpuSched& on(unsigned cpu) { return *cpu::get(cpu)->sched; }
CpuSched* find(unsigned cpu) {
    PerCpu* p = cpu::get(cpu);
    return p != nullptr ? p->sched : nullptr;
}
unsigned g_ncpus = 0;
bool g_running = false;
PlacementHook g_hook = nullptr;
const SchedObserver* g_obs = nullptr;  // user-space placement (scheduler_control)
void* g_hook_ctx = nullptr;
uint64_t g_fallbacks = 0;
// Wake-up preemption bounds, in TSC cycles (set by init()): the most a
// waking thread is owed (half a default slice, so a sleeper runs soon after
// waking but cannot bank more), and the least a running thread keeps the
// CPU before a wake-up may take it (1 ms: under TCG a switch costs tens of
// microseconds, and hogs must not be cut into slivers).
uint64_t g_wake_credit = 0;
uint64_t g_min_granularity = 0;
constexpr uint64_t kWakeCreditNs = 1'000'000'000ull / kTimerHz * kDefaultSliceTicks / 2;
constexpr uint64_t kMinGranularityNs = 1'000'000;
alignas(64) Thread g_boot_thread;

CpuSched& local() { return *cpu::current().sched; }

// --- adaptive tick ---------------------------------------------------------------------
//
// A CPU that runs one user thread with nothing queued behind it, no sleeper
// and no placement server has nothing for its 250 Hz tick to do: the slice
// it would count down has no one to hand over to. It then stops the
// periodic tick and keeps only a one-shot safety interrupt kSafetyNs away;
// the first thing that could need the tick restarts it before it matters:
//   - a thread queued here from another CPU: enqueue_on always sends this CPU
//     a reschedule IPI, whose handler calls update_tick;
//   - a thread queued here by this CPU, a sleeper added, a switch: each ends
//     in update_tick (enqueue_on, finish_switch, the no-switch path of
//     schedule);
//   - a placement server attaching: it places by tick, so every CPU keeps
//     ticking while one is active (SchedObserver::placing; the attach calls
//     retick_all, which sends every other CPU a reschedule IPI).
// Kernel threads keep the tick (in-kernel tests measure it). Time never
// depends on the tick (now_ns() is the TSC); per-CPU tick counts only count
// fewer ticks. Why: under TCG every tick is a QEMU timer event, an exit from
// the translated code and an interrupt round trip on a vCPU that should be
// computing; the attribution counters showed 250 ticks/s on each busy CPU
// of a benchmark run and nothing else. Kernel option `tick=periodic` keeps
// the old behaviour (for comparison: docs/scheduling.md).
constexpr uint64_t kSafetyNs = 1'000'000'000;
bool g_adaptive_tick = true;

// This CPU, interrupts off. The safety one-shot is armed when the tick
// stops and re-armed only by the timer interrupt (rearm: it just fired), so
// a switch on a CPU whose tick is already off writes no timer register.
void update_tick(CpuSched& cs, bool rearm = false) {
    const Thread* cur = cs.current;
    const SchedObserver* obs = __atomic_load_n(&g_obs, __ATOMIC_ACQUIRE);
    const bool placing = obs != nullptr && obs->placing != nullptr && obs->placing();
    const bool off = g_adaptive_tick && cur != nullptr && cur != cs.idle && cur->user_ != nullptr && !cs.need_resched &&
                     cs.sleepers == nullptr && __atomic_load_n(&cs.queued_pub, __ATOMIC_ACQUIRE) == 0 && !placing;
    if (off) {
        if (!cs.tick_off || rearm) arch::timer_oneshot_ns(kSafetyNs);
    } else if (cs.tick_off) {
        if (!arch::timer_set_periodic(kTimerHz)) panic("sched: cannot program the %u Hz timer", kTimerHz);
    }
    cs.tick_off = off;
}

uint32_t slice_of(const Thread* t) { return t->link_.slice_ticks != 0 ? t->link_.slice_ticks : kDefaultSliceTicks; }

// Under cs.lock: publish what placement and the idle loop read.
void publish(CpuSched& cs, bool running_idle) {
    __atomic_store_n(&cs.load_pub, cs.rq.load(), __ATOMIC_RELAXED);
    __atomic_store_n(&cs.queued_pub, cs.rq.count(), __ATOMIC_RELEASE);
    __atomic_store_n(&cs.idle_pub, running_idle && cs.rq.empty(), __ATOMIC_RELAXED);
}

void set_state(Thread& t, State s) { atomic_store(&t.state_, s, MemOrder::release); }

void enqueue_on(Thread& t, unsigned target, bool urgent = false);

// A placement server sets slices: they are its shares, in its round order
// (the run queue then runs FIFO and no wake-up preempts).
bool strict_slices() {
    const SchedObserver* obs = __atomic_load_n(&g_obs, __ATOMIC_ACQUIRE);
    return obs != nullptr && obs->strict_slices != nullptr && obs->strict_slices();
}

// Runs on the thread just switched to, interrupts off.
void finish_switch() {
    CpuSched& cs = local();
    Thread* p = cs.prev;
    cs.prev = nullptr;
    if (p == nullptr) return;
    bool reap = p->state() == State::exited && p->detached_;
    __atomic_store_n(&p->on_cpu_, false, __ATOMIC_RELEASE);
    if (reap) p->destroy();
    // Migration at preemption (placement server's standing assignment): only
    // now is the thread's stack free for another CPU to switch to.
    if (cs.migrate != nullptr) {
        Thread* m = cs.migrate;
        cs.migrate = nullptr;
        enqueue_on(*m, cs.migrate_to);
    }
    update_tick(cs);
}

void switch_to(CpuSched& cs, Thread* prev, Thread* next) {
    unsigned self = cs.id;
    set_state(*next, State::running);
    next->on_cpu_ = true;
    CpuCounters& k = arch::percpu_self()->counters;
    if (next->last_cpu_ != self && next->last_cpu_ != kNoCpu) {
        ++next->migrations_;
        count(k.migrations);
    }
    next->cpu_ = self;
    __atomic_store_n(&next->last_cpu_, self, __ATOMIC_RELAXED);
    ++next->switches_in_;
    cs.current = next;
    cs.prev = prev;
    count(k.switches);
    cs.slice_left = slice_of(next);
    if (next == cs.resume) {
        cs.slice_left = cs.resume_slice;
        cs.resume = nullptr;
    }
    if (next->address_space_ != cs.loaded_as) {
        if (next->address_space_ != nullptr) next->address_space_->activate();
        else arch::tlb::load(arch::kernel_pml4(), 0, nullptr);
        cs.loaded_as = next->address_space_;
    } else {
        count(k.cr3_skips);  // tlb::load counts its own writes and skips
    }
    if (next->on_switch_in_ != nullptr) next->on_switch_in_(*next);
    if (prev->fpu_area_ != nullptr) arch::fpu::save(prev->fpu_area_);
    if (next->fpu_area_ != nullptr) arch::fpu::restore(next->fpu_area_);
    if (!prev->stack_intact()) panic("thread '%s' overflowed its stack", prev->name_);
    // One TSC read ends prev's slice and opens next's (sched/cpu_time.h), as
    // late as possible so the switch's own work above counts to prev.
    const uint64_t now = arch::read_cycles();
    prev->cpu_time_.switch_out(now);
    next->cpu_time_.switch_in(now);
    context_switch(&prev->saved_rsp_, next->saved_rsp_);
    finish_switch();
}

void snapshot(const Thread& t, unsigned self, CpuLoad* loads, PlacementInput& in) {
    unsigned n = __atomic_load_n(&g_ncpus, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; ++i) {
        const CpuSched& c = on(i);
        loads[i].load = __atomic_load_n(&c.load_pub, __ATOMIC_RELAXED);
        loads[i].idle = __atomic_load_n(&c.idle_pub, __ATOMIC_RELAXED);
        loads[i].online = c.online;
    }
    in.cpus = loads;
    in.ncpus = n;
    in.last_cpu = t.last_cpu_;
    in.waker_cpu = self;
    in.allowed = t.allowed_;
    in.weight = t.link_.weight;
}

// t is runnable, off every CPU and not queued: queue it on target (IPI if
// remote). urgent: at the head, and switch to it now even on this CPU.
void enqueue_on(Thread& t, unsigned target, bool urgent) {
    arch::IrqState s = arch::irq_save();
    unsigned self = cpu::id();
    CpuSched& cs = on(target);
    cs.lock.lock();
    t.cpu_ = target;
    // It arrives from off this CPU's clock (created, woken, moved): placed
    // at the queue's minimum plus its lag, bounded below (sched/run_queue.h).
    const uint64_t now = arch::read_cycles();
    cs.rq.set_fifo(strict_slices());
    auto r = urgent ? cs.rq.push_front(t.link_, true, now) : cs.rq.join(t.link_, now);
    if (!r.ok()) panic("sched: enqueue of '%s' failed: %s", t.name_, error_name(r.error()));
    publish(cs, false);
    bool target_idle = cs.current == cs.idle;
    // Wake-up preemption on this CPU; a remote CPU decides in its own
    // reschedule interrupt (schedule(), preempting), with its own clock.
    WakePreempt wp = WakePreempt::no;
    if (target == self && !urgent && !target_idle) wp = cs.rq.check_preempt(now);
    cs.lock.unlock();
    if (target == self && cs.tick_off) update_tick(cs);  // someone is waiting here now: the tick counts their turn
    if (target != self) {
        arch::send_reschedule(target);
    } else if ((urgent || wp == WakePreempt::now) && !target_idle) {
        cs.need_resched = true;
        arch::send_reschedule(self);  // taken as soon as interrupts are on again
    } else if (wp == WakePreempt::later) {
        cs.wake_check = true;
    } else if (target_idle) {
        cs.need_resched = true;  // woken from an interrupt that hit our idle thread
    }
    arch::irq_restore(s);
}

// t is runnable and not queued: choose its CPU and queue it there.
void enqueue_placed(Thread& t, bool created) {
    arch::IrqState s = arch::irq_save();
    // A thread woken while its old CPU is still switching away from it must
    // not run anywhere until that switch is done (its stack is in use).
    wait_off_cpu(t, "wake-up");
    unsigned self = cpu::id();
    CpuLoad loads[kMaxCpus];
    PlacementInput in;
    snapshot(t, self, loads, in);
    bool fell_back = false;
    const SchedObserver* obs = __atomic_load_n(&g_obs, __ATOMIC_ACQUIRE);
    unsigned target = kNoCpu;
    bool standing = false;
    if (obs != nullptr) {
        // The server's standing assignment, if it has one for t and it is valid.
        unsigned c = obs->place(t, in);
        if (c != kNoCpu && placement_valid(in, c)) {
            target = c;
            standing = true;
        }
    }
    if (target == kNoCpu) target = place_thread(in, g_hook, g_hook_ctx, &fell_back);
    if (fell_back) __atomic_fetch_add(&g_fallbacks, 1, __ATOMIC_RELAXED);
    // Posted before the enqueue so the event precedes anything the thread
    // does on its new CPU; posting is lock-free and never waits for the server.
    if (obs != nullptr) obs->runnable(t, target, created, standing);
    enqueue_on(t, target, obs != nullptr && obs->urgent != nullptr && obs->urgent(t));
    arch::irq_restore(s);
}

// Interrupt context, interrupts off: switch now if asked and safe.
void maybe_preempt(CpuSched& cs) {
    if (!cs.need_resched) return;
    if (arch::percpu_self()->locks_held != 0) return;  // holder of a plain SpinLock: retry next tick
    cs.preempting = cs.slice_left > 0;                 // not a slice expiry (schedule() may keep the current thread)
    schedule();
}

void timer_tick(arch::InterruptFrame&) {
    CpuSched& cs = local();
    if (!cs.online) return;
    if (cs.current == cs.idle) count(arch::percpu_self()->counters.idle_ticks);
    // The interrupted code holds a plain SpinLock: taking run-queue locks
    // could break the lock order, and switching would strand the lock.
    // Sleepers and the slice are handled on the next tick.
    if (arch::percpu_self()->locks_held != 0) return;
    if (const SchedObserver* obs = __atomic_load_n(&g_obs, __ATOMIC_ACQUIRE)) obs->tick(cs.id);
    if (cs.sleepers != nullptr) {
        uint64_t now = arch::percpu_self()->ticks;
        uint64_t now_ns = 0;  // read once, and only if a sleeper waits on it
        Thread* due = nullptr;
        cs.lock.lock();
        for (Thread** pp = &cs.sleepers; *pp != nullptr;) {
            Thread* t = *pp;
            if (t->wake_ns_ != 0 && now_ns == 0) now_ns = arch::cycles_to_ns(arch::read_cycles());
            if (t->wake_tick_ <= now || (t->wake_ns_ != 0 && t->wake_ns_ <= now_ns)) {
                *pp = t->sleep_next_;
                t->sleep_next_ = due;
                due = t;
            } else {
                pp = &t->sleep_next_;
            }
        }
        cs.lock.unlock();
        while (due != nullptr) {
            Thread* t = due;
            due = t->sleep_next_;
            t->sleep_next_ = nullptr;
            (void)wake(*t);
        }
    }
    if (cs.current == cs.idle) {
        if (__atomic_load_n(&cs.queued_pub, __ATOMIC_ACQUIRE) != 0) cs.need_resched = true;
    } else if (cs.slice_left > 0 && --cs.slice_left == 0) {
        if (__atomic_load_n(&cs.queued_pub, __ATOMIC_ACQUIRE) != 0) cs.need_resched = true;
        else cs.slice_left = slice_of(cs.current);
    } else if (cs.wake_check) {
        cs.need_resched = true;  // schedule() re-decides the deferred wake-up preemption
    }
    maybe_preempt(cs);
    update_tick(local(), true);  // the thread running now (maybe_preempt may have switched)
}

void resched_ipi(arch::InterruptFrame&) {
    CpuSched& cs = local();
    if (!cs.online) return;
    cs.need_resched = true;
    maybe_preempt(cs);
    update_tick(local());  // a queued thread (or a placement server) wants the tick back
}

// Idle CPU, interrupts off: takes the oldest thread waiting in another
// CPU's queue that may run here and queues it locally. Default placement
// chooses a CPU once, at wake-up (two threads started together can land on
// one CPU while another is busy a moment longer); without this the second
// one would wait there while this CPU idles. Not while a placement hook or
// server places threads: their choice stands (a server hears that this CPU
// went idle and decides itself).
bool pull_waiting(CpuSched& cs) {
    if (__atomic_load_n(&g_hook, __ATOMIC_ACQUIRE) != nullptr) return false;
    const SchedObserver* obs = __atomic_load_n(&g_obs, __ATOMIC_ACQUIRE);
    if (obs != nullptr && obs->placing != nullptr && obs->placing()) return false;
    const unsigned self = cs.id;
    const unsigned n = __atomic_load_n(&g_ncpus, __ATOMIC_ACQUIRE);
    for (unsigned i = 1; i < n; ++i) {
        CpuSched& o = on((self + i) % n);
        if (!o.online || __atomic_load_n(&o.queued_pub, __ATOMIC_ACQUIRE) == 0) continue;
        Thread* t = nullptr;
        o.lock.lock();
        o.rq.for_each([&](RunQueueLink& l) {
            auto* x = static_cast<Thread*>(l.entity);
            if (t == nullptr && x->allowed_.has(self)) t = x;
        });
        if (t != nullptr && o.rq.remove(t->link_).ok()) publish(o, o.current == o.idle);
        else t = nullptr;
        o.lock.unlock();
        if (t == nullptr) continue;
        // Preempted a moment ago on o, it may still be on o's stack.
        wait_off_cpu(*t, "idle pull");
        enqueue_on(*t, self);
        return true;
    }
    return false;
}

[[noreturn]] void idle_loop() {
    for (;;) {
        arch::irq_disable();
        CpuSched& cs = local();
        if (__atomic_load_n(&cs.queued_pub, __ATOMIC_ACQUIRE) != 0) {
            schedule();
        } else if (!pull_waiting(cs)) {
            // Halted from here until the interrupt that wakes the CPU, whose
            // entry (isr_dispatch) charges the halt to the idle account.
            charge_to(arch::percpu_self()->counters, CpuMode::idle, arch::read_cycles());
            arch::wait_for_interrupt();  // sti; hlt: a wake-up IPI cannot slip in between
        }
    }
}

void idle_main(void*) { idle_loop(); }

void cpu_start(CpuSched& cs, unsigned id) {
    cs.id = id;
    charge_to(arch::percpu_self()->counters, CpuMode::kernel, arch::read_cycles());  // cycle accounting starts
    if (!arch::timer_set_periodic(kTimerHz)) panic("sched: cannot program the %u Hz timer", kTimerHz);
}

}  // namespace

void init() {
    arch::IrqState s = arch::irq_save();
    arch::fpu::cpu_init();
    arch::tlb::cpu_init();
    arch::tlb::init_handlers();
    unsigned n = cpu::count();
    for (unsigned i = 0; i < n; ++i) {
        auto mem = kmalloc(sizeof(CpuSched), alignof(CpuSched));
        if (!mem.ok()) panic("sched: no memory for cpu %u's run queue", i);
        cpu::get(i)->sched = new (mem.value()) CpuSched;
    }
    CpuSched& cs = on(0);
    Thread* boot = Thread::adopt_current(&g_boot_thread, "kmain");
    boot->cpu_ = boot->last_cpu_ = 0;
    cs.current = boot;
    g_wake_credit = arch::ns_to_cycles(kWakeCreditNs);
    g_min_granularity = arch::ns_to_cycles(kMinGranularityNs);
    for (unsigned i = 0; i < n; ++i) on(i).rq.set_params(g_wake_credit, g_min_granularity);
    cs.rq.set_running(&boot->link_, arch::read_cycles());
    ThreadOptions io;
    io.name = "idle0";
    io.allowed = CpuMask::only(0);
    auto idle = Thread::create_stopped(&idle_main, nullptr, io);
    if (!idle.ok()) panic("sched: no idle thread: %s", error_name(idle.error()));
    idle.value()->is_idle_ = true;
    cs.idle = idle.value();
    publish(cs, false);
    arch::set_timer_handler(timer_tick);
    (void)arch::set_reschedule_handler(resched_ipi);
    cpu_start(cs, 0);
    __atomic_store_n(&g_ncpus, 1u, __ATOMIC_RELEASE);
    cs.online = true;
    g_running = true;
    arch::set_ap_main(&ap_enter);
    for (unsigned i = 1; i < n; ++i) arch::send_reschedule(i);  // APs idle in hlt until told
    arch::irq_restore(s);
    // Wait (bounded) for the APs: until then placement only sees CPU 0.
    uint64_t t0 = arch::read_cycles();
    uint64_t limit = arch::ns_to_cycles(2'000'000'000ull);
    for (unsigned i = 1; i < n; ++i) {
        while (!on(i).online && arch::read_cycles() - t0 < limit) arch::cpu_relax();
        if (!on(i).online) kprintf("[sched] cpu %u did not enter the scheduler\n", i);
    }
    unsigned up = 0;
    for (unsigned i = 0; i < n; ++i) up += on(i).online ? 1 : 0;
    kprintf("[sched] dispatch on %u cpus, %u Hz tick, slice %u ticks, fpu %s, pcid %s\n", up, kTimerHz,
            kDefaultSliceTicks, arch::fpu::mode_name(), arch::tlb::pcid_enabled() ? "on" : "off");
}

void ap_enter() {
    arch::irq_disable();
    arch::fpu::cpu_init();
    arch::tlb::cpu_init();
    unsigned self = cpu::id();
    CpuSched& cs = local();
    Thread* idle = Thread::adopt_current(&cs.ap_idle, "idle");
    idle->is_idle_ = true;
    idle->allowed_ = CpuMask::only(self);
    idle->cpu_ = idle->last_cpu_ = self;
    cs.current = idle;
    cs.idle = idle;
    cpu_start(cs, self);
    cs.lock.lock();
    publish(cs, true);
    cs.lock.unlock();
    __atomic_store_n(&cs.online, true, __ATOMIC_RELEASE);
    // ids are dense and APs come up in order; g_ncpus covers the highest online id.
    unsigned want = self + 1;
    unsigned cur = __atomic_load_n(&g_ncpus, __ATOMIC_ACQUIRE);
    while (cur < want && !__atomic_compare_exchange_n(&g_ncpus, &cur, want, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    }
    idle_loop();
}

bool running() { return g_running; }
unsigned cpu_count() { return __atomic_load_n(&g_ncpus, __ATOMIC_ACQUIRE); }

void schedule() {
    CpuSched& cs = local();
    Thread* prev = cs.current;
    cs.need_resched = false;
    const SchedObserver* obs = __atomic_load_n(&g_obs, __ATOMIC_ACQUIRE);
    unsigned move_to = kNoCpu;
    if (obs != nullptr && prev != cs.idle) {
        State st = prev->state();
        if (st == State::blocked || st == State::exited) obs->left(*prev, cs.id);
        else if (st == State::running) move_to = obs->preempted(*prev, cs.id);
        if (move_to != kNoCpu &&
            (move_to == cs.id || move_to >= g_ncpus || !on(move_to).online || !prev->allowed_.has(move_to)))
            move_to = kNoCpu;
    }
    cs.lock.lock();
    // The vruntime clock: the thread leaving (or keeping) the CPU pays for
    // the cycles it ran at its weight before it is put back in order.
    const uint64_t now = arch::read_cycles();
    cs.rq.charge(now);
    cs.rq.set_fifo(strict_slices());
    // An urgent wake-up (the placement server) that preempts a thread
    // mid-slice puts it back at the head with the rest of its slice, so the
    // server's own CPU time does not reorder the round the policy set up.
    RunQueueLink* urgent_head = nullptr;
    const bool preempting = cs.preempting;
    cs.preempting = false;
    const bool keeps_cpu = prev != cs.idle && move_to == kNoCpu && prev->state() == State::running;
    RunQueueLink* h = cs.rq.front();
    if (keeps_cpu && cs.slice_left > 0 && obs != nullptr && obs->urgent != nullptr && h != nullptr &&
        obs->urgent(*static_cast<Thread*>(h->entity))) {
        urgent_head = cs.rq.pop_front();
    } else if (keeps_cpu && preempting) {
        // An interrupt mid-slice (a wake-up IPI, a deferred wake-up check):
        // the thread keeps its slice unless a thread that just joined is owed
        // the CPU (sched/run_queue.h, wake_preempt) -- and never while a
        // placement server sets slices, which are then shares.
        const WakePreempt wp = cs.rq.fifo() ? WakePreempt::no : cs.rq.check_preempt(now);
        cs.wake_check = wp == WakePreempt::later;
        if (wp != WakePreempt::now) {
            cs.lock.unlock();
            return;
        }
    }
    cs.wake_check = false;
    if (prev != cs.idle && prev->state() != State::running)  // blocked (maybe woken already) or exited
        cs.rq.leave(prev->link_, now, prev->state() != State::exited);
    if (prev != cs.idle && prev->state() == State::running) {
        set_state(*prev, State::runnable);
        if (urgent_head != nullptr) {
            auto r = cs.rq.push_front(prev->link_);
            if (!r.ok()) panic("sched: requeue of '%s' failed: %s", prev->name_, error_name(r.error()));
            // Urgent threads preempting each other (the placement notifier,
            // then the server it wakes) must not overwrite the slice of the
            // ordinary thread they both displaced.
            if (cs.resume == nullptr || !obs->urgent(*prev)) {
                cs.resume = prev;
                cs.resume_slice = cs.slice_left;
            }
        } else if (move_to != kNoCpu) {
            // Queued on move_to by finish_switch(), once it is off this CPU.
            cs.rq.leave(prev->link_, now, false);
            cs.migrate = prev;
            cs.migrate_to = move_to;
        } else {
            auto r = cs.rq.enqueue(prev->link_);
            if (!r.ok()) panic("sched: requeue of '%s' failed: %s", prev->name_, error_name(r.error()));
        }
    }
    RunQueueLink* l = urgent_head != nullptr ? urgent_head : cs.rq.pop_front();
    Thread* next = l != nullptr ? static_cast<Thread*>(l->entity) : cs.idle;
    cs.rq.set_running(next == cs.idle ? nullptr : &next->link_, now);
    publish(cs, next == cs.idle);
    cs.lock.unlock();
    if (next == prev) {
        set_state(*prev, State::running);
        cs.slice_left = slice_of(prev);
        update_tick(cs);
        return;
    }
    if (obs != nullptr) obs->switch_in(cs.id, next == cs.idle ? nullptr : next);
    switch_to(cs, prev, next);
}

void yield() {
    arch::IrqState s = arch::irq_save();
    schedule();
    arch::irq_restore(s);
}

void block() {
    arch::IrqState s = arch::irq_save();
    schedule();
    arch::irq_restore(s);
}

bool wake(Thread& t) {
    State expected = State::blocked;
    if (!atomic_cas(&t.state_, expected, State::runnable, MemOrder::acq_rel, MemOrder::acquire)) {
        return false;
    }
    enqueue_placed(t, false);
    return true;
}

void start(Thread& t) {
    set_state(t, State::runnable);
    enqueue_placed(t, true);
}

void sleep_ticks(uint64_t ticks) {
    arch::IrqState s = arch::irq_save();
    sleep_until_tick(saturating_add(arch::percpu_self()->ticks, ticks == 0 ? 1 : ticks));
    arch::irq_restore(s);
}

void sleep_until_tick(uint64_t tick) {
    arch::IrqState s = arch::irq_save();
    CpuSched& cs = local();
    Thread* me = cs.current;
    if (arch::percpu_self()->ticks >= tick) {
        arch::irq_restore(s);
        return;
    }
    me->wake_tick_ = tick;
    me->wake_ns_ = 0;
    cs.lock.lock();
    me->sleep_next_ = cs.sleepers;
    cs.sleepers = me;
    cs.lock.unlock();
    set_state(*me, State::blocked);
    schedule();
    arch::irq_restore(s);
}

void file_sleep(uint64_t at_ns) {
    CpuSched& cs = local();
    Thread* me = cs.current;
    me->wake_tick_ = UINT64_MAX;
    me->wake_ns_ = at_ns != 0 ? at_ns : 1;
    me->sleep_cpu_ = cs.id;
    cs.lock.lock();
    me->sleep_next_ = cs.sleepers;
    cs.sleepers = me;
    cs.lock.unlock();
}

bool unfile_sleep(Thread& t) {
    const unsigned cpu = t.sleep_cpu_;
    if (cpu >= g_ncpus) return false;
    CpuSched& cs = on(cpu);
    bool found = false;
    arch::IrqState s = arch::irq_save();
    cs.lock.lock();
    for (Thread** pp = &cs.sleepers; *pp != nullptr; pp = &(*pp)->sleep_next_) {
        if (*pp == &t) {
            *pp = t.sleep_next_;
            t.sleep_next_ = nullptr;
            found = true;
            break;
        }
    }
    cs.lock.unlock();
    arch::irq_restore(s);
    return found;
}

void shorten_sleep(Thread& t, uint64_t at_ns) {
    const unsigned cpu = t.sleep_cpu_;
    if (cpu >= g_ncpus) return;
    CpuSched& cs = on(cpu);
    arch::IrqState s = arch::irq_save();
    cs.lock.lock();
    for (Thread* p = cs.sleepers; p != nullptr; p = p->sleep_next_) {
        if (p == &t) {
            if (t.wake_ns_ > at_ns) t.wake_ns_ = at_ns != 0 ? at_ns : 1;
            break;
        }
    }
    cs.lock.unlock();
    arch::irq_restore(s);
}

void exit_current() {
    arch::irq_disable();
    Thread* me = local().current;
    me->join_lock_.lock();
    set_state(*me, State::exited);
    WaitQueue::Wakeup joiner = me->joiner_.wake_one();
    me->join_lock_.unlock();
    joiner.wake();
    schedule();
    panic("sched: exited thread '%s' resumed", me->name_);
}

void set_placement_hook(PlacementHook hook, void* ctx) {
    // Two stores; a racing wake-up may pair the new hook with the old ctx
    // only if both change at once, so clear the hook first.
    __atomic_store_n(&g_hook, static_cast<PlacementHook>(nullptr), __ATOMIC_RELEASE);
    __atomic_store_n(&g_hook_ctx, ctx, __ATOMIC_RELEASE);
    __atomic_store_n(&g_hook, hook, __ATOMIC_RELEASE);
}

uint64_t placement_fallbacks() { return __atomic_load_n(&g_fallbacks, __ATOMIC_RELAXED); }

void set_observer(const SchedObserver* o) {
    __atomic_store_n(&g_obs, o, __ATOMIC_RELEASE);
    retick_all();
}

void retick_all() {
    if (!g_running) return;
    arch::IrqState s = arch::irq_save();
    const unsigned self = cpu::id();
    for (unsigned i = 0; i < g_ncpus; ++i) {
        if (i == self) update_tick(on(i));
        else if (on(i).online) arch::send_reschedule(i);  // resched_ipi re-evaluates its tick
    }
    arch::irq_restore(s);
}

void set_adaptive_tick(bool on) { g_adaptive_tick = on; }

void wait_off_cpu(const Thread& t, const char* site) {
    if (!__atomic_load_n(&t.on_cpu_, __ATOMIC_ACQUIRE)) return;
    SpinDeadline bound;
    while (__atomic_load_n(&t.on_cpu_, __ATOMIC_ACQUIRE)) {
        arch::cpu_relax();
        if (bound.expired())
            panic("sched: %s: thread '%s' still on cpu %u after %llu ms (its switch never finished)", site, t.name_,
                  __atomic_load_n(&t.cpu_, __ATOMIC_RELAXED), static_cast<unsigned long long>(bound.limit_ms()));
    }
}

bool move_queued(Thread& t, unsigned target) {
    if (target >= __atomic_load_n(&g_ncpus, __ATOMIC_ACQUIRE) || !on(target).online) return false;
    arch::IrqState s = arch::irq_save();
    // Take it out of whatever queue holds it, under that CPU's lock; a thread
    // that is running, blocked or already moving is left alone.
    unsigned from = __atomic_load_n(&t.cpu_, __ATOMIC_ACQUIRE);
    bool moved = false;
    if (from < kMaxCpus && from != target) {
        CpuSched& cs = on(from);
        cs.lock.lock();
        if (t.state() == State::runnable && cs.rq.contains(t.link_) && cs.rq.remove(t.link_).ok()) {
            publish(cs, cs.current == cs.idle);
            moved = true;
        }
        cs.lock.unlock();
    }
    // Off every queue and not running: nobody else can enqueue it (a waker
    // needs it blocked), so queue it on target -- once it is off its old
    // CPU: a thread preempted a moment ago is queued before that CPU has
    // switched away from it, and target must not resume it from a stale
    // saved_rsp_ while the old CPU still runs on its stack. The wait is
    // the old CPU's switch path, which takes no lock a caller may hold (as
    // for the waker in enqueue_placed). Leaving it queued instead would let
    // it run on there alone, never preempted, so never moved.
    if (moved) {
        wait_off_cpu(t, "move_queued");
        enqueue_on(t, target);
    }
    arch::irq_restore(s);
    return moved;
}

uint32_t nr_runnable(unsigned cpu) {
    const CpuSched* cp = find(cpu);
    if (cp == nullptr) return 0;
    const CpuSched& c = *cp;
    uint64_t q = __atomic_load_n(&c.queued_pub, __ATOMIC_ACQUIRE);
    bool busy = !__atomic_load_n(&c.idle_pub, __ATOMIC_RELAXED) && c.current != c.idle;
    return static_cast<uint32_t>(q + (busy ? 1 : 0));
}

CpuStats stats(unsigned cpu) {
    const PerCpu* p = kern::cpu::get(cpu);
    if (p == nullptr || p->sched == nullptr) return CpuStats{};
    const CpuSched& c = *p->sched;
    const CpuCounters& k = p->counters;
    return CpuStats{read_counter(k.switches),
                    read_counter(k.migrations),
                    p->ticks,
                    read_counter(k.idle_ticks),
                    read_counter(k.ipi_rx[static_cast<unsigned>(IpiKind::reschedule)]),
                    __atomic_load_n(&c.queued_pub, __ATOMIC_ACQUIRE)};
}

Thread* current_on(unsigned cpu) {
    const CpuSched* c = find(cpu);
    return c != nullptr ? __atomic_load_n(&c->current, __ATOMIC_RELAXED) : nullptr;
}
bool cpu_idle(unsigned cpu) {
    const CpuSched* c = find(cpu);
    return c != nullptr && __atomic_load_n(&c->current, __ATOMIC_RELAXED) == c->idle;
}

}  // namespace kern::sched

namespace kern {
Thread* Thread::current() {
    arch::IrqState s = arch::irq_save();
    // Before sched::init() attached CPU 0's state there is no thread yet.
    const sched::CpuSched* cs = cpu::current().sched;
    Thread* t = cs != nullptr ? cs->current : nullptr;
    arch::irq_restore(s);
    return t;
}
}  // namespace kern

extern "C" void sched_thread_start(kern::Thread::Entry entry, void* arg) {
    kern::sched::finish_switch();
    kern::arch::irq_enable();
    entry(arg);
    kern::Thread::exit();
}
