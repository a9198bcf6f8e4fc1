// benchmarks/linux/consolidation.cpp — the Linux baseline of workload "consolidation": a partly idle periodic load.
//
//   consolidation-bench [--threads=N] [--period-us=N] [--work-blocks=N] [--window-ms=N]
//
// The shape of the capOS coordinator (benchmarks/capos/consolidation.cpp):
// the same calibration (context only), pthreads that each period hash
// work_blocks blocks and clock_nanosleep to the next period's start, and per CPU the busy
// fraction over the window (placement_busy.h) from snapshots the main
// thread takes at the window's start and end.
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blockhash.h"
#include "consolidation.h"
#include "cycles.h"
#include "linux_common.h"
#include "paired.h"
#include "placement_busy.h"
#include "result_line.h"

namespace {

using namespace bench::linux_baseline;

struct alignas(64) Slot {
    uint64_t periods, missed, root;
    int start_cpu, end_cpu;
};

uint64_t g_tsc_hz = 0, g_start = 0, g_end = 0, g_period = 0, g_blocks = 0;
Slot g_slots[bench::kConsolidationMaxThreads];

void sleep_until(uint64_t target) {
    const uint64_t now = bench::cycles_now();
    if (now >= target) return;
    const uint64_t ns = (target - now) * 1'000'000'000ull / g_tsc_hz;
    timespec ts{static_cast<time_t>(ns / 1'000'000'000ull), static_cast<long>(ns % 1'000'000'000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) != 0) {}
}

void* periodic_thread(void* arg) {
    const auto i = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    Slot& s = g_slots[i];
    sleep_until(g_start);
    s.start_cpu = sched_getcpu();
    bench::BlockPartial part{0, 0};
    for (uint64_t k = 0; g_start + k * g_period < g_end; ++k) {
        const uint32_t first = static_cast<uint32_t>((i * 65536u + k * 64u) % bench::kBlocks);
        part = bench::block_combine(part, bench::block_hash_range(first, first + static_cast<uint32_t>(g_blocks)));
        ++s.periods;
        const uint64_t next = g_start + (k + 1) * g_period;
        if (bench::cycles_now() > next) ++s.missed;
        if (next < g_end) sleep_until(next);
    }
    s.end_cpu = sched_getcpu();
    s.root = bench::block_root(part);
    return nullptr;
}

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

const char* opt(int argc, char** argv, const char* key) {
    const size_t k = strlen(key);
    for (int i = 1; i < argc; ++i)
        if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') return argv[i] + k + 1;
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t n = bench::kConsolidationDefaultThreads, period_us = bench::kConsolidationDefaultPeriodUs;
    uint64_t window_ms = bench::kConsolidationDefaultWindowMs;
    if (const char* v = opt(argc, argv, "--threads")) n = strtoull(v, nullptr, 10);
    if (const char* v = opt(argc, argv, "--period-us")) period_us = strtoull(v, nullptr, 10);
    g_blocks = bench::kConsolidationDefaultWorkBlocks;
    if (const char* v = opt(argc, argv, "--work-blocks")) g_blocks = strtoull(v, nullptr, 10);
    if (const char* v = opt(argc, argv, "--window-ms")) window_ms = strtoull(v, nullptr, 10);
    const uint32_t cpus = online_cpus();
    if (n == 0 || n > bench::kConsolidationMaxThreads || period_us < 1000 || period_us > 1'000'000 || g_blocks == 0 ||
        g_blocks > 65536 || window_ms == 0 || window_ms > 600'000 || cpus > bench::kConsolidationMaxCpus) {
        emit_line("[consolidation] error=bad-arguments");
        return 2;
    }
    g_tsc_hz = measure_tsc_hz();
    const uint64_t rate = blocks_per_second();
    const uint64_t duty = rate == 0 ? 0 : g_blocks * 1'000'000ull * 1'000'000ull / (rate * period_us);
    g_period = g_tsc_hz * period_us / 1'000'000;
    g_start = bench::cycles_now() + g_tsc_hz / 5;
    g_end = g_start + g_tsc_hz * window_ms / 1000;
    pthread_t th[bench::kConsolidationMaxThreads];
    uint32_t started = 0;
    bool ok = true;
    for (uint32_t i = 0; i < n; ++i) {
        if (pthread_create(&th[i], nullptr, periodic_thread, reinterpret_cast<void*>(static_cast<uintptr_t>(i))) != 0) {
            ok = false;
            break;
        }
        ++started;
    }
    char line[bench::kResultLineMax];
    sleep_until(g_start);
    BusySnapshot ka, kb;
    const bool have_a = busy_take(ka);
    bench::format_window_line(line, sizeof line, true, "consolidation-0");
    emit_line(line);
    sleep_until(g_end);
    const bool have_b = have_a && busy_take(kb);
    bench::format_window_line(line, sizeof line, false, "consolidation-0");
    emit_line(line);
    for (uint32_t i = 0; i < started; ++i) pthread_join(th[i], nullptr);
    uint64_t busy[bench::kConsolidationMaxCpus] = {};
    const bool have_busy = have_b && busy_ppm(ka, kb, cpus, busy);
    uint64_t periods[bench::kConsolidationMaxThreads] = {}, missed[bench::kConsolidationMaxThreads] = {};
    for (uint32_t i = 0; i < n; ++i) {
        if (i >= started || g_slots[i].periods == 0) ok = false;
        periods[i] = g_slots[i].periods;
        missed[i] = g_slots[i].missed;
    }
    char out[512];
    const bool good = ok && have_busy;
    if (bench::format_consolidation_line(
            out, sizeof out,
            bench::ConsolidationLine{"linux", cpus, static_cast<uint32_t>(n), static_cast<uint32_t>(period_us), duty,
                                     g_end - g_start, g_blocks, periods, missed, busy, good}) != 0)
        emit_line(out);
    else ok = false;
    int len = snprintf(out, sizeof out, "[consolidation-detail] start_cpus=");
    for (uint32_t i = 0; i < n; ++i)
        len += snprintf(out + len, sizeof out - static_cast<size_t>(len), "%s%d", i ? "," : "", g_slots[i].start_cpu);
    len += snprintf(out + len, sizeof out - static_cast<size_t>(len), " end_cpus=");
    for (uint32_t i = 0; i < n; ++i)
        len += snprintf(out + len, sizeof out - static_cast<size_t>(len), "%s%d", i ? "," : "", g_slots[i].end_cpu);
    emit_line(out);
    return ok && good ? 0 : 1;
}
