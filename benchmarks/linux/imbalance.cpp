// benchmarks/linux/imbalance.cpp — the Linux baseline of workload "imbalance": a seeded pool of tenfold-varying tasks on more threads than CPUs.
//
//   imbalance-bench [--threads=N] [--tasks=N] [--seed=N] [--unit-blocks=N] [--runs=R]
//
// The shape of the capOS coordinator (benchmarks/capos/imbalance.cpp):
// pthreads in one process, each running its fixed task list
// (benchmarks/workloads/imbalance.h, the same compiled kernel) from a
// common start 20 ms after the last pthread_create; per thread
// CLOCK_THREAD_CPUTIME_ID (converted to TSC cycles) and the finish TSC; per
// CPU the busy fraction over the run (placement_busy.h).
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blockhash.h"
#include "cycles.h"
#include "imbalance.h"
#include "linux_common.h"
#include "paired.h"
#include "placement_busy.h"
#include "result_line.h"

namespace {

using namespace bench::linux_baseline;

struct alignas(64) Slot {
    uint64_t cpu_ns;
    uint64_t finish;
    uint64_t root;
    int start_cpu, end_cpu;
    int status;
};

uint32_t g_threads = bench::kImbalanceDefaultThreads, g_tasks = bench::kImbalanceDefaultTasks;
uint32_t g_unit = bench::kImbalanceDefaultUnitBlocks;
uint64_t g_seed = bench::kImbalanceDefaultSeed;
uint64_t g_start = 0;
Slot g_slots[bench::kImbalanceMaxThreads];

uint64_t thread_ns(bool& ok) {
    timespec ts{};
    ok = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0;
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void* task_thread(void* arg) {
    const auto i = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    Slot& s = g_slots[i];
    uint64_t start = 0;
    while ((start = __atomic_load_n(&g_start, __ATOMIC_ACQUIRE)) == 0 || bench::cycles_now() < start)
        __builtin_ia32_pause();
    s.start_cpu = sched_getcpu();
    bool ok0 = false, ok1 = false;
    const uint64_t a = thread_ns(ok0);
    bench::BlockPartial part{0, 0};
    for (uint32_t j = 0; j < g_tasks; ++j) {
        const uint32_t k = i * g_tasks + j;
        const uint32_t first = (k * 8192u) % bench::kBlocks;
        const uint32_t n = bench::imbalance_task_units(g_seed, k) * g_unit;
        part = bench::block_combine(part, bench::block_hash_range(first, first + n));
    }
    const uint64_t z = thread_ns(ok1);
    s.finish = bench::cycles_now();
    s.end_cpu = sched_getcpu();
    s.root = bench::block_root(part);
    s.cpu_ns = z - a;
    s.status = ok0 && ok1 && z >= a ? 0 : 1;
    return nullptr;
}

const char* opt(int argc, char** argv, const char* key) {
    const size_t k = strlen(key);
    for (int i = 1; i < argc; ++i)
        if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') return argv[i] + k + 1;
    return nullptr;
}

bool run(uint32_t cpus, uint64_t tsc_hz, uint32_t r) {
    memset(g_slots, 0, sizeof g_slots);
    __atomic_store_n(&g_start, 0ull, __ATOMIC_RELEASE);
    char label[48], line[bench::kResultLineMax];
    snprintf(label, sizeof label, "imbalance-%u", r);
    BusySnapshot ka, kb;
    const bool have_a = busy_take(ka);
    bench::format_window_line(line, sizeof line, true, label);
    emit_line(line);
    pthread_t th[bench::kImbalanceMaxThreads];
    uint32_t started = 0;
    bool ok = true;
    for (uint32_t i = 0; i < g_threads; ++i) {
        if (pthread_create(&th[i], nullptr, task_thread, reinterpret_cast<void*>(static_cast<uintptr_t>(i))) != 0) {
            ok = false;
            break;
        }
        ++started;
    }
    const uint64_t start = bench::cycles_now() + tsc_hz / 50;
    __atomic_store_n(&g_start, ok ? start : 1, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < started; ++i) pthread_join(th[i], nullptr);
    bench::format_window_line(line, sizeof line, false, label);
    emit_line(line);
    const bool have_b = have_a && busy_take(kb);
    uint64_t busy[bench::kImbalanceMaxCpus] = {};
    const bool have_busy = have_b && busy_ppm(ka, kb, cpus, busy);
    uint64_t cpu[bench::kImbalanceMaxThreads] = {}, fin[bench::kImbalanceMaxThreads] = {};
    for (uint32_t i = 0; i < g_threads; ++i) {
        if (i >= started || g_slots[i].status != 0) ok = false;
        cpu[i] = static_cast<uint64_t>(static_cast<double>(g_slots[i].cpu_ns) * static_cast<double>(tsc_hz) / 1e9);
        fin[i] = g_slots[i].finish > start ? g_slots[i].finish - start : 0;
    }
    char out[512];
    if (bench::format_imbalance_line(out, sizeof out,
                                     bench::ImbalanceLine{"linux", cpus, g_threads, g_tasks, g_seed, g_unit, tsc_hz,
                                                          cpu, fin, busy, ok && have_busy}) != 0)
        emit_line(out);
    else ok = false;
    int len = snprintf(out, sizeof out, "[imbalance-detail] start_cpus=");
    for (uint32_t i = 0; i < g_threads; ++i)
        len += snprintf(out + len, sizeof out - static_cast<size_t>(len), "%s%d", i ? "," : "", g_slots[i].start_cpu);
    len += snprintf(out + len, sizeof out - static_cast<size_t>(len), " end_cpus=");
    for (uint32_t i = 0; i < g_threads; ++i)
        len += snprintf(out + len, sizeof out - static_cast<size_t>(len), "%s%d", i ? "," : "", g_slots[i].end_cpu);
    emit_line(out);
    return ok && have_busy;
}

}  // namespace

int main(int argc, char** argv) {
    if (const char* v = opt(argc, argv, "--threads")) g_threads = static_cast<uint32_t>(strtoul(v, nullptr, 10));
    if (const char* v = opt(argc, argv, "--tasks")) g_tasks = static_cast<uint32_t>(strtoul(v, nullptr, 10));
    if (const char* v = opt(argc, argv, "--seed")) g_seed = strtoull(v, nullptr, 10);
    if (const char* v = opt(argc, argv, "--unit-blocks")) g_unit = static_cast<uint32_t>(strtoul(v, nullptr, 10));
    const char* rs = opt(argc, argv, "--runs");
    const uint64_t runs = rs != nullptr ? strtoull(rs, nullptr, 10) : 1;
    const uint32_t cpus = online_cpus();
    if (g_threads == 0 || g_threads > bench::kImbalanceMaxThreads || g_tasks == 0 ||
        g_tasks > bench::kImbalanceMaxTasks || g_unit == 0 || g_unit > 65536 || runs == 0 || runs > 64 ||
        cpus > bench::kImbalanceMaxCpus) {
        emit_line("[imbalance] error=bad-arguments");
        return 2;
    }
    const uint64_t tsc_hz = measure_tsc_hz();
    bool ok = true;
    for (uint32_t r = 0; r < runs; ++r) ok = run(cpus, tsc_hz, r) && ok;
    return ok ? 0 : 1;
}
