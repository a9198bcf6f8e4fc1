// consolidation.cpp - the capOS "consolidation" coordinator: a partly idle periodic load, and which CPUs it kept busy.
//
// Arguments (`key=value`; the module variant's defaults first, then the
// module command line):
//   cpus=<n>        CPUs (utest modules get it from the kernel; else CPUID)
//   threads=<n>     periodic threads (default 3)
//   period_us=<n>   their period (default 20000)
//   work_blocks=<n> blocks of work per period per thread (default 128)
//   window_ms=<n>   the measured window (default 4000)
//
// Calibration first, for context only (est_duty_ppm): how many blocks of the
// timed kernel (blockhash.h) this thread hashes per second alone. Then the
// threads (in this process) sleep until the window opens, and each
// period do their work and sleep (Timer.sleep) to the next period's start.
// The main thread sleeps to the window's start and end and takes a
// KernelStats snapshot at each: each CPU's busy fraction over the window.
// Prints one `[consolidation]` line (consolidation.h) and one
// `[consolidation-detail]` line between `[bench-window]` markers, then
// `[utest] consolidation <passed> passed, <failed> failed`.
#include "bench_client.h"
#include "blockhash.h"
#include "consolidation.h"
#include "cycles.h"
#include "kstats.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"
#include "paired.h"
#include "result_line.h"

extern const char kBenchDefaultArgs[];

namespace {

using namespace benchcap;

struct alignas(64) Slot {
    uint64_t periods;
    uint64_t missed;
    uint64_t root;
    uint32_t start_cpu;
    uint32_t end_cpu;
    uint32_t failed;  // a Timer call failed
    uint32_t done;
};

uint64_t g_tsc_hz = 0, g_start = 0, g_end = 0, g_period = 0, g_blocks = 0;
Slot g_slots[bench::kConsolidationMaxThreads];

bool sleep_until(uint64_t target) {
    const uint64_t now = bench::cycles_now();
    if (now >= target) return true;
    const uint64_t ns = (target - now) * 1'000'000'000ull / g_tsc_hz;
    return cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), ns == 0 ? 1 : ns).ok();
}

int64_t periodic_thread(void* arg) {
    const auto i = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    Slot& s = g_slots[i];
    if (!sleep_until(g_start)) ++s.failed;
    s.start_cpu = cpu_id();
    bench::BlockPartial part{0, 0};
    // Period k runs from g_start + k * period; work that ends after period
    // k + 1 began is a miss, and the next period's work then starts at once.
    for (uint64_t k = 0; g_start + k * g_period < g_end; ++k) {
        const uint32_t first = static_cast<uint32_t>((i * 65536u + k * 64u) % bench::kBlocks);
        part = bench::block_combine(part, bench::block_hash_range(first, first + static_cast<uint32_t>(g_blocks)));
        ++s.periods;
        const uint64_t next = g_start + (k + 1) * g_period;
        if (bench::cycles_now() > next) ++s.missed;
        if (next < g_end && !sleep_until(next)) {
            ++s.failed;
            break;
        }
    }
    s.end_cpu = cpu_id();
    s.root = bench::block_root(part);
    __atomic_store_n(&s.done, 1u, __ATOMIC_RELEASE);
    return s.failed == 0 ? 0 : 1;
}

// Blocks per second on this (otherwise idle) CPU as the host runs it now:
// the median of five 512-block batches (some 10-30 ms each here), so an
// interrupt or a host hiccup in one batch moves neither end.
uint64_t blocks_per_second() {
    uint64_t t[5];
    for (int k = 0; k < 5; ++k) {
        const uint64_t t0 = bench::cycles_now();
        const bench::BlockPartial p = bench::block_hash_range(static_cast<uint32_t>(k) * 512u, (k + 1) * 512u);
        const uint64_t t1 = bench::cycles_now();
        t[k] = p.count == 512 ? t1 - t0 : ~0ull;
    }
    for (int a = 1; a < 5; ++a)  // insertion sort: the median of five
        for (int b = a; b > 0 && t[b] < t[b - 1]; --b) {
            const uint64_t x = t[b];
            t[b] = t[b - 1];
            t[b - 1] = x;
        }
    return t[2] == 0 || t[2] == ~0ull ? 0 : 512 * g_tsc_hz / t[2];
}

kstats::Snapshot g_ka, g_kb;

}  // namespace

int main(cap::StartInfo& info) {
    Args args;
    args.add(kBenchDefaultArgs);
    args.add(info.args());
    const uint32_t probed = cpuid_cpu_count();
    const uint32_t cpus = static_cast<uint32_t>(args.u64("cpus", probed != 0 ? probed : 1));
    const uint32_t n = static_cast<uint32_t>(args.u64("threads", bench::kConsolidationDefaultThreads));
    const uint64_t period_us = args.u64("period_us", bench::kConsolidationDefaultPeriodUs);
    g_blocks = args.u64("work_blocks", bench::kConsolidationDefaultWorkBlocks);
    const uint64_t window_ms = args.u64("window_ms", bench::kConsolidationDefaultWindowMs);
    if (cpus == 0 || cpus > bench::kConsolidationMaxCpus || n == 0 || n > bench::kConsolidationMaxThreads ||
        period_us < 1000 || period_us > 1'000'000 || g_blocks == 0 || g_blocks > 65536 || window_ms == 0 ||
        window_ms > 600'000) {
        cap::print("[consolidation] bad arguments: '%s' '%s'\n", kBenchDefaultArgs, info.args());
        cap::print("[utest] consolidation 0 passed, 1 failed\n");
        return 2;
    }
    g_tsc_hz = measure_tsc_hz(info);
    char line[bench::kResultLineMax];
    if (bench::format_env_line(line, sizeof line, "capos", cpus, g_tsc_hz) != 0) cap::print("%s\n", line);
    if (g_tsc_hz == 0) {
        cap::print("[consolidation] no TSC rate (Timer failed)\n[utest] consolidation 0 passed, 1 failed\n");
        return 3;
    }
    const uint64_t rate = blocks_per_second();
    const uint64_t duty = rate == 0 ? 0 : g_blocks * 1'000'000ull * 1'000'000ull / (rate * period_us);
    g_period = g_tsc_hz * period_us / 1'000'000;
    cap::print(
        "[consolidation-info] cpus=%u threads=%u period_us=%llu est_duty_ppm=%llu window_ms=%llu blocks_per_s=%llu\n",
        cpus, n, static_cast<unsigned long long>(period_us), static_cast<unsigned long long>(duty),
        static_cast<unsigned long long>(window_ms), static_cast<unsigned long long>(rate));
    // 200 ms for the threads to start and fall asleep.
    g_start = bench::cycles_now() + g_tsc_hz / 5;
    g_end = g_start + g_tsc_hz * window_ms / 1000;
    cap::Thread th[bench::kConsolidationMaxThreads];
    bool ok = true;
    for (uint32_t i = 0; i < n; ++i) {
        auto t = cap::Thread::spawn(periodic_thread, reinterpret_cast<void*>(static_cast<uintptr_t>(i)), 64 * 1024);
        if (!t.ok()) {
            cap::print("[consolidation] spawn of thread %u failed: %d\n", i, static_cast<int>(t.status()));
            ok = false;
            break;
        }
        th[i] = static_cast<cap::Thread&&>(t.value());
    }
    ok = sleep_until(g_start) && ok;
    const bool have_a = kstats_take(g_ka);
    if (bench::format_window_line(line, sizeof line, true, "consolidation-0") != 0) cap::print("%s\n", line);
    ok = sleep_until(g_end) && ok;
    const bool have_b = have_a && kstats_take(g_kb);
    if (bench::format_window_line(line, sizeof line, false, "consolidation-0") != 0) cap::print("%s\n", line);
    for (auto& t : th) {
        if (!t.joinable()) continue;
        auto j = t.join();
        ok = ok && j.ok() && j.value() == 0;
    }
    uint64_t busy[bench::kConsolidationMaxCpus] = {};
    bool have_busy = have_b && g_ka.ncpus >= cpus && g_kb.ncpus >= cpus;
    for (uint32_t c = 0; c < cpus && have_busy; ++c) {
        const kstats::Cpu& a = g_ka.cpus[c];
        const kstats::Cpu& b = g_kb.cpus[c];
        const uint64_t bz = kstats::diff(a.user_cycles, b.user_cycles) + kstats::diff(a.kernel_cycles, b.kernel_cycles);
        busy[c] = bench::consolidation_ppm(bz, bz + kstats::diff(a.idle_cycles, b.idle_cycles));
    }
    uint64_t periods[bench::kConsolidationMaxThreads] = {}, missed[bench::kConsolidationMaxThreads] = {};
    for (uint32_t i = 0; i < n; ++i) {
        const Slot& s = g_slots[i];
        if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) == 0 || s.failed != 0 || s.periods == 0) ok = false;
        periods[i] = s.periods;
        missed[i] = s.missed;
    }
    char out[1024];
    const bool good = ok && have_busy;
    const size_t len = bench::format_consolidation_line(
        out, sizeof out,
        bench::ConsolidationLine{"capos", cpus, n, static_cast<uint32_t>(period_us), duty, g_end - g_start, g_blocks,
                                 periods, missed, busy, good});
    if (len != 0) cap::print("%s\n", out);
    char d[512];
    bench::LineWriter w(d, sizeof d);
    w.str("[consolidation-detail] start_cpus=");
    for (uint32_t i = 0; i < n; ++i) w.str(i ? "," : "").u64(g_slots[i].start_cpu);
    w.str(" end_cpus=");
    for (uint32_t i = 0; i < n; ++i) w.str(i ? "," : "").u64(g_slots[i].end_cpu);
    w.str(" kstats=").str(have_busy ? "yes" : "no");
    if (w.ok()) cap::print("%s\n", d);
    const bool pass = good && len != 0;
    benchcap::finish_placement_trace(info);  // before the last line: the harness stops the boot at it
    cap::print("[utest] consolidation %u passed, %u failed\n", pass ? 1u : 0u, pass ? 0u : 1u);
    return pass ? 0 : 1;
}
