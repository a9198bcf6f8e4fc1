// wakeup.cpp - the capOS "wakeup" coordinator: how long woken threads wait to run while hogs fill every CPU.
//
// Arguments (`key=value`; the module variant's defaults first, then the
// module command line):
//   cpus=<n>         CPUs (utest modules get it from the kernel; else CPUID)
//   window_ms=<n>    the measured window (default 4000)
//   period_us=<n>    the latency threads' period (default 5000)
//
// One hog per CPU: a shares-worker process (shares_worker.cpp) with `cpus`
// threads of weight 1024 spinning through the window. In this process,
// three threads at the default weight (benchmarks/workloads/wakeup.h):
//   timer    sleeps (Timer.sleep) to each deadline start + k * period and
//            records TSC on waking - the deadline;
//   waker    on its own period (offset by half of it) stamps the TSC, bumps a
//            word and Park.wakes it, unless the waiter has not yet taken the
//            previous wake-up (then the stamp stays, so a late waiter's full
//            delay is recorded);
//   waiter   Park.waits on the word and records TSC on waking - the stamp.
// The latency threads sleep (they do not spin) until the window opens.
// Prints one `[wakeup]` line per kind, then `[utest] wakeup <passed>
// passed, <failed> failed`.
#include "bench_client.h"
#include "cycles.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"
#include "paired.h"
#include "result_line.h"
#include "shares_page.h"
#include "wakeup.h"

extern const char kBenchDefaultArgs[];

namespace {

using namespace benchcap;

struct Samples {
    uint64_t v[bench::kWakeupMaxSamples];
    uint32_t n;
    uint32_t dropped;
    uint32_t failed;  // a Timer or Park call failed
    void add(uint64_t d) {
        if (n < bench::kWakeupMaxSamples) v[n++] = d;
        else ++dropped;
    }
};

Samples g_timer, g_msg;
uint64_t g_tsc_hz = 0;
uint64_t g_start = 0, g_end = 0, g_period = 0;  // TSC
uint32_t g_word = 0;                            // bumped by the waker (Park word)
uint32_t g_taken = 0;                           // the last value of g_word the waiter took
uint64_t g_stamp = 0;                           // TSC of the pending wake-up

// Sleeps until TSC `target` (a relative Timer.sleep of the remaining time).
bool sleep_until(uint64_t target) {
    const uint64_t now = bench::cycles_now();
    if (now >= target) return true;
    const uint64_t ns = (target - now) * 1'000'000'000ull / g_tsc_hz;
    return cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), ns == 0 ? 1 : ns).ok();
}

// Deadline k of a thread whose first deadline is `first`, skipping those
// already past (cyclictest's behaviour after an overrun).
uint64_t next_deadline(uint64_t prev) {
    uint64_t t = prev + g_period;
    const uint64_t now = bench::cycles_now();
    while (t <= now) t += g_period;
    return t;
}

int64_t timer_thread(void*) {
    if (!sleep_until(g_start)) ++g_timer.failed;
    for (uint64_t t = g_start + g_period; t < g_end; t = next_deadline(t)) {
        if (!sleep_until(t)) {
            ++g_timer.failed;
            break;
        }
        const uint64_t woke = bench::cycles_now();
        g_timer.add(woke > t ? woke - t : 0);
    }
    return 0;
}

int64_t waker_thread(void*) {
    if (!sleep_until(g_start)) ++g_msg.failed;
    auto& r = cap::this_ring();
    for (uint64_t t = g_start + g_period / 2; t < g_end; t = next_deadline(t)) {
        if (!sleep_until(t)) {
            ++g_msg.failed;
            break;
        }
        const uint32_t w = __atomic_load_n(&g_word, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&g_taken, __ATOMIC_ACQUIRE) != w) continue;  // the last one is still pending
        __atomic_store_n(&g_stamp, bench::cycles_now(), __ATOMIC_RELEASE);
        __atomic_store_n(&g_word, w + 1, __ATOMIC_RELEASE);
        if (!cap::park_wake(r, cap::start_info().park(), &g_word, 1).ok()) ++g_msg.failed;
    }
    // Past the end: one last bump so a parked waiter sees the window closed.
    __atomic_store_n(&g_stamp, 0, __ATOMIC_RELEASE);
    __atomic_fetch_add(&g_word, 1, __ATOMIC_ACQ_REL);
    (void)cap::park_wake(r, cap::start_info().park(), &g_word, 1);
    return 0;
}

int64_t waiter_thread(void*) {
    auto& r = cap::this_ring();
    uint32_t seen = 0;
    for (;;) {
        uint32_t w = __atomic_load_n(&g_word, __ATOMIC_ACQUIRE);
        while (w == seen) {
            // 100 ms timeout: a lost wake-up cannot hang the run.
            if (!cap::park_wait(r, cap::start_info().park(), &g_word, seen, 100'000'000).ok()) ++g_msg.failed;
            w = __atomic_load_n(&g_word, __ATOMIC_ACQUIRE);
            if (w == seen && bench::cycles_now() > g_end + g_tsc_hz) return 0;
        }
        const uint64_t woke = bench::cycles_now();
        const uint64_t stamp = __atomic_load_n(&g_stamp, __ATOMIC_ACQUIRE);
        seen = w;
        __atomic_store_n(&g_taken, w, __ATOMIC_RELEASE);
        if (stamp == 0) return 0;  // the waker's closing bump
        g_msg.add(woke > stamp ? woke - stamp : 0);
    }
}

}  // namespace

int main(cap::StartInfo& info) {
    Args args;
    args.add(kBenchDefaultArgs);
    args.add(info.args());
    const uint32_t probed = cpuid_cpu_count();
    const uint32_t cpus = static_cast<uint32_t>(args.u64("cpus", probed != 0 ? probed : 1));
    const uint64_t window_ms = args.u64("window_ms", bench::kWakeupDefaultWindowMs);
    const uint64_t period_us = args.u64("period_us", bench::kWakeupDefaultPeriodUs);
    if (cpus == 0 || cpus > bench::kSharesMaxThreads || window_ms == 0 || window_ms > 600'000 || period_us < 100 ||
        period_us > 1'000'000) {
        cap::print("[wakeup] bad arguments: '%s' '%s'\n", kBenchDefaultArgs, info.args());
        cap::print("[utest] wakeup 0 passed, 1 failed\n");
        return 2;
    }
    g_tsc_hz = measure_tsc_hz(info);
    char line[bench::kResultLineMax];
    if (bench::format_env_line(line, sizeof line, "capos", cpus, g_tsc_hz) != 0) cap::print("%s\n", line);
    if (g_tsc_hz == 0) {
        cap::print("[wakeup] no TSC rate (Timer failed)\n[utest] wakeup 0 passed, 1 failed\n");
        return 3;
    }
    cap::print("[wakeup-info] cpus=%u hogs=%u window_ms=%llu period_us=%llu\n", cpus, cpus,
               static_cast<unsigned long long>(window_ms), static_cast<unsigned long long>(period_us));
    g_period = g_tsc_hz * period_us / 1'000'000;

    auto& ring = cap::this_ring();
    bool ok = true;
    auto mo = cap::process_allocate(ring, info.process(), kSharesPageBytes);
    const uint64_t va = mo.ok() ? map_shared(mo.value(), kSharesPageBytes) : 0;
    if (va == 0) {
        cap::print("[wakeup] no hog page\n[utest] wakeup 0 passed, 1 failed\n");
        return 4;
    }
    auto* page = reinterpret_cast<SharesPage*>(va);
    __builtin_memset(page, 0, sizeof(SharesPage));
    char a[128];
    bench::LineWriter w(a, sizeof a);
    w.str("first=0 threads=").u64(cpus).str(" weights=");
    for (uint32_t i = 0; i < cpus; ++i) w.str(i ? ":" : "").u64(1024);
    const Grant g[3] = {{"results", mo.value()}, {"console", info.console()}, {"timer", info.timer()}};
    auto hogs = spawn_worker("shares-worker", a, g, 3);
    if (!hogs.ok()) {
        cap::print("[wakeup] spawn of the hogs failed: %d\n", static_cast<int>(hogs.status()));
        ok = false;
    }
    g_start = bench::cycles_now() + g_tsc_hz / 5;  // 200 ms for the hogs to start
    g_end = g_start + g_tsc_hz * window_ms / 1000;
    page->window.end = g_end;
    page->window.tsc_hz = g_tsc_hz;
    __atomic_store_n(&page->window.start, g_start, __ATOMIC_RELEASE);

    if (bench::format_window_line(line, sizeof line, true, "wakeup-0") != 0) cap::print("%s\n", line);
    cap::Thread th[3];
    cap::Thread::Fn fns[3] = {timer_thread, waiter_thread, waker_thread};
    for (int i = 0; i < 3 && ok; ++i) {
        auto t = cap::Thread::spawn(fns[i], nullptr, 64 * 1024);
        if (!t.ok()) {
            cap::print("[wakeup] spawn of latency thread %d failed: %d\n", i, static_cast<int>(t.status()));
            ok = false;
            break;
        }
        th[i] = static_cast<cap::Thread&&>(t.value());
    }
    for (auto& t : th) {
        if (!t.joinable()) continue;
        auto j = t.join();
        ok = ok && j.ok() && j.value() == 0;
    }
    if (hogs.ok()) {
        auto e = wait_process(hogs.value().handle);
        ok = ok && e.ok() && e.value().code == 0 && e.value().reason == 0;
    }
    if (bench::format_window_line(line, sizeof line, false, "wakeup-0") != 0) cap::print("%s\n", line);
    for (uint32_t i = 0; i < cpus; ++i) {
        const SharesSlot& s = page->slots[i];
        if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) == 0 || s.status != 0) ok = false;
    }
    uint32_t passed = 0, failed = 0;
    Samples* kinds[2] = {&g_timer, &g_msg};
    const char* names[2] = {"timer", "message"};
    for (int k = 0; k < 2; ++k) {
        const bool good = ok && kinds[k]->failed == 0 && kinds[k]->n > 0;
        char out[bench::kResultLineMax];
        if (bench::format_wakeup_line(
                out, sizeof out,
                bench::WakeupLine{"capos", names[k], cpus, cpus, g_tsc_hz, static_cast<uint32_t>(period_us),
                                  kinds[k]->v, kinds[k]->n, kinds[k]->dropped, good}) != 0)
            cap::print("%s\n", out);
        if (good) ++passed;
        else ++failed;
    }
    cap::print("[wakeup-detail] hog_cycles=%llu,%llu timer_failures=%u message_failures=%u\n",
               static_cast<unsigned long long>(page->slots[0].cycles),
               static_cast<unsigned long long>(cpus > 1 ? page->slots[1].cycles : 0), g_timer.failed, g_msg.failed);
    benchcap::finish_placement_trace(info);  // before the last line: the harness stops the boot at it
    cap::print("[utest] wakeup %u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
