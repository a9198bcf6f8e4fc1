// sched_tests.cpp: in-kernel tests of dispatch (threads, blocking, migration,
// placement), plus the SMP work benchmark. The FPU-state and TLB-shootdown
// tests drive x86_64 hardware directly: arch/x86_64/ktest_fpu.cpp and
// ktest_shootdown.cpp.
#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "boot/boot_info.h"
#include "debug/console.h"
#include "ktest/ktest.h"
#include "ktest/helpers.h"
#include "debug/panic.h"
#include "cpu/percpu.h"
#include "sched/sched.h"
#include "sched/wait_queue.h"
#include "cpu/spinlock.h"
#include "object/address_space.h"
#include "object/thread.h"

namespace kern {
namespace {

using namespace ktest_helpers;
// ---------------------------------------------------------------------------
// sched_basic: create, run, sleep, join.

struct BasicCtx {
    uint64_t ran[8];
    uint64_t slept_us[8];
};

struct BasicArg {
    BasicCtx* ctx;
    unsigned index;
};

void basic_sleeper(void* p) {
    auto* a = static_cast<BasicArg*>(p);
    uint64_t t0 = now();
    sched::sleep_ticks(5);  // 20 ms at 250 Hz
    a->ctx->slept_us[a->index] = arch::cycles_to_ns(now() - t0) / 1000;
    a->ctx->ran[a->index] = cpu::id() + 1;
}

KTEST("sched_basic", "threads start, sleep 5 ticks (>= 3 tick periods = 12 ms), run and are joined") {
    BasicCtx ctx{};
    BasicArg args[8];
    Thread* ts[8] = {};
    for (unsigned i = 0; i < 8; ++i) {
        args[i] = BasicArg{&ctx, i};
        ThreadOptions o;
        o.name = "basic";
        auto t = Thread::create(basic_sleeper, &args[i], o);
        if (!t.ok()) return ktest_fail("create failed");
        ts[i] = t.value();
    }
    if (!join_all(ts, 8)) return ktest_fail("join failed");
    for (unsigned i = 0; i < 8; ++i) {
        if (ctx.ran[i] == 0) return ktest_fail("a thread did not run");
        // 5 ticks span at least 4 periods on hardware. Under emulation a vCPU
        // that was descheduled while its timer fired takes that stale tick
        // on resume and the next one on the timer's own phase, so one period
        // can shrink to almost nothing (QEMU skips further missed ticks
        // rather than replaying them): 3 periods is the bound that holds.
        if (ctx.slept_us[i] < 11900) return ktest_fail("sleep returned early");
    }
    uint64_t lo = ~0ull, hi = 0;
    for (unsigned i = 0; i < 8; ++i) {
        lo = ctx.slept_us[i] < lo ? ctx.slept_us[i] : lo;
        hi = ctx.slept_us[i] > hi ? ctx.slept_us[i] : hi;
    }
    kprintf("[sched] basic ok: 8 threads slept %llu..%llu us for 5 ticks, cpus=%u\n",
            static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi), ncpus());
    return ktest_ok();
}

// ---------------------------------------------------------------------------
// sched_threads: a token ring with several tokens for a few seconds. Threads
// block when they hold no token and are woken by their predecessor; half of
// them change their allowed CPU before every wait, so each wake-up migrates.

constexpr unsigned kRingMax = 2 * kMaxCpus + 1;

struct Ring {
    SpinLockIrq lock{LockRank::none, "test.ring"};
    unsigned n = 0;
    unsigned cpus = 1;
    uint64_t pending[kRingMax] = {};   // tokens waiting at thread i
    WaitQueue waiting[kRingMax];       // thread i while it has no token
    uint64_t passes[kRingMax] = {};    // tokens thread i passed on
    uint64_t total = 0;                // all passes (under lock)
    uint64_t cpu_mask[kRingMax] = {};  // CPUs thread i ran on
    uint64_t affinity_violations = 0;
    uint64_t checked_wakeups = 0;  // wake-ups of threads with a rotated mask
    bool stop = false;
};

struct RingArg {
    Ring* r;
    unsigned i;
};

void ring_worker(void* p) {
    auto* a = static_cast<RingArg*>(p);
    Ring& r = *a->r;
    unsigned i = a->i;
    Thread* me = Thread::current();
    bool rotate = (i % 2) == 1 && r.cpus > 1;
    uint64_t round = 0;
    for (;;) {
        unsigned want_cpu = kNoCpu;
        if (rotate) {
            want_cpu = static_cast<unsigned>((i + round) % r.cpus);
            (void)me->set_affinity(CpuMask::only(want_cpu));
        }
        // Wait for a token.
        arch::IrqState s = arch::irq_save();
        r.lock.lock();
        bool blocked = false;
        while (r.pending[i] == 0 && !r.stop) {
            blocked = true;
            r.waiting[i].block_on(r.lock);
        }
        if (r.stop) {
            r.lock.unlock();
            arch::irq_restore(s);
            return;
        }
        unsigned here = cpu::id();
        --r.pending[i];
        r.cpu_mask[i] |= uint64_t{1} << here;
        // Placement ran when it was woken: it must have honoured the mask.
        if (blocked && want_cpu != kNoCpu && here != want_cpu) ++r.affinity_violations;
        if (blocked && want_cpu != kNoCpu) ++r.checked_wakeups;
        r.lock.unlock();
        arch::irq_restore(s);
        // A little work with the token.
        uint64_t t0 = now();
        while (now() - t0 < 20000) arch::cpu_relax();
        // Pass it on.
        unsigned next = (i + 1) % r.n;
        s = arch::irq_save();
        r.lock.lock();
        ++r.pending[next];
        ++r.passes[i];
        ++r.total;
        WaitQueue::Wakeup w = r.waiting[next].wake_one();
        r.lock.unlock();
        arch::irq_restore(s);
        w.wake();
        ++round;
    }
}

KTEST("sched_threads", "kernel threads block, wake and migrate across CPUs for 3 s; token and pass counts verified") {
    static Ring r;
    static RingArg args[kRingMax];
    static Thread* ts[kRingMax];
    unsigned cpus = ncpus();
    r.cpus = cpus;
    r.n = 2 * cpus + 1;
    unsigned tokens = cpus;
    for (unsigned i = 0; i < tokens; ++i) r.pending[i * 2] = 1;
    uint64_t migr_before = 0;
    for (unsigned c = 0; c < cpus; ++c) migr_before += sched::stats(c).migrations_in;
    for (unsigned i = 0; i < r.n; ++i) {
        args[i] = RingArg{&r, i};
        ThreadOptions o;
        o.name = "ring";
        auto t = Thread::create(ring_worker, &args[i], o);
        if (!t.ok()) return ktest_fail("create failed");
        ts[i] = t.value();
    }
    sched::sleep_ticks(3 * sched::kTimerHz);
    WaitQueue::Wakeup wake_list[kRingMax];
    {
        LockGuard<SpinLockIrq> g(r.lock);
        r.stop = true;
        for (unsigned i = 0; i < r.n; ++i) wake_list[i] = r.waiting[i].wake_one();
    }
    for (unsigned i = 0; i < r.n; ++i) wake_list[i].wake();
    uint64_t thread_migrations = 0;
    for (unsigned i = 0; i < r.n; ++i) thread_migrations += ts[i]->migrations();
    if (!join_all(ts, r.n)) return ktest_fail("join failed");
    uint64_t sum = 0, left = 0;
    unsigned multi_cpu_threads = 0;
    for (unsigned i = 0; i < r.n; ++i) {
        sum += r.passes[i];
        left += r.pending[i];
        if (popcount64(r.cpu_mask[i]) > 1) ++multi_cpu_threads;
    }
    uint64_t migr = 0;
    for (unsigned c = 0; c < cpus; ++c) migr += sched::stats(c).migrations_in;
    migr -= migr_before;
    kprintf(
        "[sched] ring threads=%u tokens=%u cpus=%u passes=%llu sum=%llu tokens_left=%llu migrations=%llu "
        "thread_migrations=%llu multi_cpu_threads=%u affinity_checked=%llu affinity_violations=%llu\n",
        r.n, tokens, cpus, static_cast<unsigned long long>(r.total), static_cast<unsigned long long>(sum),
        static_cast<unsigned long long>(left), static_cast<unsigned long long>(migr),
        static_cast<unsigned long long>(thread_migrations), multi_cpu_threads,
        static_cast<unsigned long long>(r.checked_wakeups), static_cast<unsigned long long>(r.affinity_violations));
    if (sum != r.total) return ktest_fail("per-thread pass counts do not add up");
    if (left != tokens) return ktest_fail("tokens lost or duplicated");
    if (r.total < 100) return ktest_fail("too few passes: threads did not keep running");
    if (r.affinity_violations != 0) return ktest_fail("a woken thread ran outside its allowed CPUs");
    if (cpus > 1 && (migr == 0 || multi_cpu_threads < r.n / 2)) return ktest_fail("threads did not migrate");
    if (cpus > 1 && r.checked_wakeups < 10) return ktest_fail("too few wake-ups with a changed CPU mask");
    return ktest_ok();
}

// ---------------------------------------------------------------------------
// sched_spread: N CPU-bound threads on N CPUs end up one per CPU; a
// placement hook is obeyed, and an invalid one falls back to the default.

struct SpinArg {
    volatile bool* stop;
    volatile unsigned cpu;
    volatile uint64_t samples;
};

void spinner(void* p) {
    auto* a = static_cast<SpinArg*>(p);
    while (!*a->stop) {
        a->cpu = cpu::id();
        a->samples = a->samples + 1;
        arch::cpu_relax();
    }
}

// Sleeps until every spinner recorded a CPU (at most 5 s: a loaded host may
// leave a vCPU unscheduled for a while).
void wait_started(SpinArg* args, unsigned n) {
    for (unsigned round = 0; round < 50; ++round) {
        sched::sleep_ticks(sched::kTimerHz / 10);
        bool all = true;
        for (unsigned i = 0; i < n; ++i) all = all && args[i].samples > 0;
        if (all) return;
    }
}

unsigned hook_last_cpu(const PlacementInput& in, void*) { return in.ncpus - 1; }
unsigned hook_bogus(const PlacementInput&, void*) { return 999; }

KTEST("sched_spread", "N CPU-bound threads spread over N CPUs; placement hook obeyed; bad hook falls back") {
    unsigned n = ncpus();
    static SpinArg args[kMaxCpus];
    static Thread* ts[kMaxCpus];
    volatile bool stop = false;
    for (unsigned i = 0; i < n; ++i) {
        args[i].stop = &stop;
        args[i].cpu = kNoCpu;
        args[i].samples = 0;
        ThreadOptions o;
        o.name = "spin";
        auto t = Thread::create(spinner, &args[i], o);
        if (!t.ok()) return ktest_fail("create failed");
        ts[i] = t.value();
    }
    // The test thread sleeps, so every CPU has one spinner (the boot CPU's
    // included once the test thread is off it).
    wait_started(args, n);
    sched::sleep_ticks(sched::kTimerHz / 2);
    uint64_t seen = 0;
    for (unsigned i = 0; i < n; ++i) {
        if (args[i].cpu != kNoCpu) seen |= uint64_t{1} << args[i].cpu;
    }
    unsigned distinct = popcount64(seen);
    kprintf("[sched] spread threads=%u cpus=%u distinct_cpus=%u placement:", n, n, distinct);
    for (unsigned i = 0; i < n; ++i) kprintf(" %u", args[i].cpu);
    kprintf("\n");
    stop = true;
    if (!join_all(ts, n)) return ktest_fail("join failed");
    if (distinct != n) return ktest_fail("CPU-bound threads did not end up one per CPU");

    // A hook that sends everything to the last CPU is obeyed.
    stop = false;
    sched::set_placement_hook(hook_last_cpu, nullptr);
    for (unsigned i = 0; i < 2; ++i) {
        args[i].stop = &stop;
        args[i].cpu = kNoCpu;
        args[i].samples = 0;
        auto t = Thread::create(spinner, &args[i], ThreadOptions{});
        if (!t.ok()) return ktest_fail("create failed");
        ts[i] = t.value();
    }
    wait_started(args, 2);
    bool hook_ok = args[0].cpu == n - 1 && args[1].cpu == n - 1;
    stop = true;
    if (!join_all(ts, 2)) return ktest_fail("join failed");
    // A hook answering nonsense is replaced by the default, and counted.
    uint64_t fb0 = sched::placement_fallbacks();
    stop = false;
    sched::set_placement_hook(hook_bogus, nullptr);
    args[0].cpu = kNoCpu;
    auto t = Thread::create(spinner, &args[0], ThreadOptions{});
    if (!t.ok()) return ktest_fail("create failed");
    ts[0] = t.value();
    wait_started(args, 1);
    bool ran = args[0].cpu != kNoCpu;
    stop = true;
    if (!join_all(ts, 1)) return ktest_fail("join failed");
    sched::set_placement_hook(nullptr, nullptr);
    uint64_t fb = sched::placement_fallbacks() - fb0;
    kprintf("[sched] hook: last-cpu hook obeyed=%d, bogus hook fallbacks=%llu ran=%d\n", hook_ok ? 1 : 0,
            static_cast<unsigned long long>(fb), ran ? 1 : 0);
    if (!hook_ok) return ktest_fail("placement hook not obeyed");
    if (fb == 0 || !ran) return ktest_fail("invalid hook answer not replaced by the default");
    return ktest_ok();
}

// ---------------------------------------------------------------------------
// offcpu_timeout: the wait for a thread's old CPU to finish switching away
// from it (wake-up, move, join) is bounded: a thread whose switch never
// finishes is reported by name instead of leaving the waiter spinning.

void never_runs(void*) {}

KTEST("offcpu_timeout", "waiting for a thread that never leaves its CPU panics naming it after the hold limit") {
    ThreadOptions o;
    o.name = "stuck-on-cpu";
    auto t = Thread::create_stopped(never_runs, nullptr, o);
    if (!t.ok()) return ktest_fail("create failed");
    sched::wait_off_cpu(*t.value(), "test");  // off every CPU: returns at once
    kprintf("[sched] wait_off_cpu returned for a thread off every cpu\n");
    spinlock_set_hold_limit_ms(300);
    t.value()->cpu_ = 1;
    t.value()->on_cpu_ = true;  // as if cpu 1 never finished switching away from it
    sched::wait_off_cpu(*t.value(), "test");
    return ktest_fail("wait for a thread stuck on its cpu returned");
}

// ---------------------------------------------------------------------------
// bench_smp: a CPU-bound kernel-thread workload (prime counting by trial
// division over a fixed range), one thread per CPU, timed in TSC cycles from
// the first create to the last join. Workers take the range in chunks from a
// shared counter rather than a fixed split: under TCG a vCPU can run slower
// for a while for reasons outside the guest (its host thread gets less of a
// host CPU), and a fixed split would then time the slowest worker instead of
// the work the kernel let the CPUs do together. The per-thread chunk counts
// show how the work was shared.

constexpr uint32_t kPrimeLimit = 10000000;
constexpr uint32_t kPrimeCount = 664579;  // primes below 10,000,000
constexpr uint32_t kPrimeChunk = 20000;   // 500 chunks: a chunk is ~0.2% of the work

struct PrimeArg {
    uint32_t* next;  // shared: first number of the next unclaimed chunk
    uint32_t count;
    uint32_t chunks;
    unsigned cpu_first;
    unsigned cpu_last;
    uint64_t t_start;
    uint64_t t_end;
};

void prime_worker(void* p) {
    auto* a = static_cast<PrimeArg*>(p);
    a->t_start = now();
    a->cpu_first = cpu::id();
    uint32_t c = 0;
    for (;;) {
        uint32_t lo = __atomic_fetch_add(a->next, kPrimeChunk, __ATOMIC_RELAXED);
        if (lo >= kPrimeLimit) break;
        uint32_t hi = lo + kPrimeChunk < kPrimeLimit ? lo + kPrimeChunk : kPrimeLimit;
        ++a->chunks;
        for (uint32_t n = lo | 1; n < hi; n += 2) {  // odd numbers; 2 is counted by the caller
            if (n < 3) continue;
            bool prime = true;
            for (uint32_t d = 3; prime && d * d <= n; d += 2) {
                if (n % d == 0) prime = false;
            }
            if (prime) ++c;
        }
    }
    a->count = c;
    a->cpu_last = cpu::id();
    a->t_end = now();
}

KTEST("bench_smp", "measure: prime counting below 1e7 shared by one kernel thread per CPU, TSC cycles") {
    unsigned n = ncpus();
    static PrimeArg args[kMaxCpus];
    static Thread* ts[kMaxCpus];
    static uint32_t next_chunk;
    next_chunk = 0;
    // Per-CPU tick and IPI counts around the run show whether a CPU spent
    // time on anything but its worker (a slow worker with extra IPIs is a
    // kernel problem; one without is the host's).
    static uint64_t ticks0[kMaxCpus], ipis0[kMaxCpus];
    for (unsigned i = 0; i < n; ++i) {
        ticks0[i] = cpu::get(i)->ticks;
        ipis0[i] = ipis_received(cpu::get(i)->counters);
    }
    uint64_t t0 = now();
    for (unsigned i = 0; i < n; ++i) {
        args[i] = PrimeArg{&next_chunk, 0, 0, 0, 0, 0, 0};
        ThreadOptions o;
        o.name = "prime";
        auto t = Thread::create(prime_worker, &args[i], o);
        if (!t.ok()) return ktest_fail("create failed");
        ts[i] = t.value();
    }
    if (!join_all(ts, n)) return ktest_fail("join failed");
    uint64_t cycles = now() - t0;
    uint32_t primes = 1;  // 2
    for (unsigned i = 0; i < n; ++i) primes += args[i].count;
    bool ok = primes == kPrimeCount;
    for (unsigned i = 0; i < n; ++i) {
        kprintf("[bench] smp_work thread=%u cpu=%u->%u start=+%llu work=%llu chunks=%u migrations=%s\n", i,
                args[i].cpu_first, args[i].cpu_last, static_cast<unsigned long long>(args[i].t_start - t0),
                static_cast<unsigned long long>(args[i].t_end - args[i].t_start), args[i].chunks,
                args[i].cpu_first == args[i].cpu_last ? "none-seen" : "yes");
    }
    for (unsigned i = 0; i < n; ++i) {
        kprintf("[bench] smp_work cpu=%u ticks=%llu ipis=%llu\n", i,
                static_cast<unsigned long long>(cpu::get(i)->ticks - ticks0[i]),
                static_cast<unsigned long long>(ipis_received(cpu::get(i)->counters) - ipis0[i]));
    }
    // work: the compute window, first worker start to last worker end.
    uint64_t first = ~0ull, last = 0;
    for (unsigned i = 0; i < n; ++i) {
        first = args[i].t_start < first ? args[i].t_start : first;
        last = args[i].t_end > last ? args[i].t_end : last;
    }
    kprintf(
        "[bench] smp_work cpus=%u threads=%u range=2..%u primes=%u cycles=%llu work=%llu tsc_hz=%llu "
        "verified=%s\n",
        n, n, kPrimeLimit, primes, static_cast<unsigned long long>(cycles),
        static_cast<unsigned long long>(last - first), static_cast<unsigned long long>(arch::tsc_hz()),
        ok ? "true" : "false");
    return ok ? ktest_ok() : ktest_fail("wrong prime count");
}

}  // namespace
}  // namespace kern
