// imbalance.cpp - the capOS "imbalance" coordinator: a seeded pool of tenfold-varying tasks on more threads than CPUs.
//
// Arguments (`key=value`; the module variant's defaults first, then the
// module command line):
//   cpus=<n>          CPUs (utest modules get it from the kernel; else CPUID)
//   threads=<n>       worker threads (default 6)
//   tasks=<n>         tasks per thread (default 8)
//   seed=<n>          task costs (benchmarks/workloads/imbalance.h; default 16)
//   unit_blocks=<n>   blocks per cost unit (default 384)
//   runs=<n>          runs in this boot (default 1)
//
// A run: KernelStats snapshot, spawn the threads in this process (so a
// placement that keeps a process on one CPU shows what that costs), open
// the start 20 ms after the last spawn; each thread waits for it, reads its
// own Thread.cpuTime, runs its tasks (imbalance.h), reads it again and
// stamps its finish. After the joins a second snapshot gives each CPU's busy
// fraction over the run. Prints one `[imbalance]` line and one
// `[imbalance-detail]` line (each thread's CPU at its start and at its end)
// between `[bench-window]` markers, then `[utest] imbalance <passed>
// passed, <failed> failed`.
#include "bench_client.h"
#include "blockhash.h"
#include "cycles.h"
#include "imbalance.h"
#include "kstats.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"
#include "libcap/thread_client.h"
#include "paired.h"
#include "result_line.h"

extern const char kBenchDefaultArgs[];

namespace {

using namespace benchcap;

struct alignas(64) Slot {
    uint64_t cpu_time;
    uint64_t finish;  // TSC
    uint64_t root;
    uint32_t start_cpu;
    uint32_t end_cpu;
    uint32_t status;  // 0 ok, 1 no handle, 2 cpuTime failed
    uint32_t done;
};

uint32_t g_threads = 0, g_tasks = 0, g_unit = 0;
uint64_t g_seed = 0;
uint64_t g_start = 0;  // TSC; 0 until every thread exists
CapHandle g_handles[bench::kImbalanceMaxThreads];
Slot g_slots[bench::kImbalanceMaxThreads];

int64_t task_thread(void* arg) {
    const auto i = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    Slot& s = g_slots[i];
    CapHandle self = 0;
    uint64_t start = 0;
    // Spins (no system call) until its handle and the start are known: the
    // wait is the 20 ms after the last spawn.
    while ((self = __atomic_load_n(&g_handles[i], __ATOMIC_ACQUIRE)) == 0 ||
           (start = __atomic_load_n(&g_start, __ATOMIC_ACQUIRE)) == 0 || bench::cycles_now() < start)
        __builtin_ia32_pause();
    s.start_cpu = cpu_id();
    auto a = cap::thread_cpu_time(self);
    bench::BlockPartial part{0, 0};
    for (uint32_t j = 0; j < g_tasks; ++j) {
        const uint32_t k = i * g_tasks + j;
        const uint32_t first = (k * 8192u) % bench::kBlocks;
        const uint32_t n = bench::imbalance_task_units(g_seed, k) * g_unit;
        part = bench::block_combine(part, bench::block_hash_range(first, first + n));
    }
    auto z = cap::thread_cpu_time(self);
    s.finish = bench::cycles_now();
    s.end_cpu = cpu_id();
    s.root = bench::block_root(part);
    if (a.ok() && z.ok() && z.value() >= a.value()) s.cpu_time = z.value() - a.value();
    else s.status = 2;
    __atomic_store_n(&s.done, 1u, __ATOMIC_RELEASE);
    return s.status;
}

kstats::Snapshot g_ka, g_kb;

// Busy fraction x 1e6 of each CPU between two snapshots: (user + kernel) /
// (user + kernel + idle) cycles. False (zeros) without the kstats capability.
bool busy_ppm(uint32_t cpus, uint64_t* out) {
    for (uint32_t c = 0; c < cpus; ++c) out[c] = 0;
    if (g_ka.ncpus < cpus || g_kb.ncpus < cpus) return false;
    for (uint32_t c = 0; c < cpus; ++c) {
        const kstats::Cpu& a = g_ka.cpus[c];
        const kstats::Cpu& b = g_kb.cpus[c];
        const uint64_t busy =
            kstats::diff(a.user_cycles, b.user_cycles) + kstats::diff(a.kernel_cycles, b.kernel_cycles);
        const uint64_t idle = kstats::diff(a.idle_cycles, b.idle_cycles);
        out[c] = busy + idle == 0 ? 0 : static_cast<uint64_t>(static_cast<double>(busy) / (busy + idle) * 1e6 + 0.5);
    }
    return true;
}

bool run(uint32_t cpus, uint64_t tsc_hz, uint32_t r) {
    __builtin_memset(g_slots, 0, sizeof g_slots);
    for (auto& h : g_handles) h = 0;
    __atomic_store_n(&g_start, 0ull, __ATOMIC_RELEASE);
    char label[48];
    bench::LineWriter lw(label, sizeof label);
    lw.str("imbalance-").u64(r);
    char line[bench::kResultLineMax];
    const bool have_k = kstats_take(g_ka);
    if (bench::format_window_line(line, sizeof line, true, label) != 0) cap::print("%s\n", line);
    cap::Thread th[bench::kImbalanceMaxThreads];
    bool ok = true;
    for (uint32_t i = 0; i < g_threads; ++i) {
        auto t = cap::Thread::spawn(task_thread, reinterpret_cast<void*>(static_cast<uintptr_t>(i)), 64 * 1024);
        if (!t.ok()) {
            cap::print("[imbalance] spawn of thread %u failed: %d\n", i, static_cast<int>(t.status()));
            ok = false;
            break;
        }
        th[i] = static_cast<cap::Thread&&>(t.value());
        __atomic_store_n(&g_handles[i], th[i].handle(), __ATOMIC_RELEASE);
    }
    const uint64_t start = bench::cycles_now() + tsc_hz / 50;
    if (ok) __atomic_store_n(&g_start, start, __ATOMIC_RELEASE);
    for (auto& t : th) {
        if (!t.joinable()) continue;
        auto j = t.join();
        ok = ok && j.ok() && j.value() == 0;
    }
    if (bench::format_window_line(line, sizeof line, false, label) != 0) cap::print("%s\n", line);
    const bool have_kb = have_k && kstats_take(g_kb);
    uint64_t busy[bench::kImbalanceMaxCpus] = {};
    const bool have_busy = have_kb && busy_ppm(cpus, busy);
    uint64_t cpu[bench::kImbalanceMaxThreads] = {}, fin[bench::kImbalanceMaxThreads] = {};
    for (uint32_t i = 0; i < g_threads; ++i) {
        const Slot& s = g_slots[i];
        if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) == 0 || s.status != 0) ok = false;
        cpu[i] = s.cpu_time;
        fin[i] = s.finish > start ? s.finish - start : 0;
    }
    char out[1024];
    const size_t len =
        bench::format_imbalance_line(out, sizeof out,
                                     bench::ImbalanceLine{"capos", cpus, g_threads, g_tasks, g_seed, g_unit, tsc_hz,
                                                          cpu, fin, busy, ok && have_busy});
    if (len != 0) cap::print("%s\n", out);
    char d[512];
    bench::LineWriter w(d, sizeof d);
    w.str("[imbalance-detail] start_cpus=");
    for (uint32_t i = 0; i < g_threads; ++i) w.str(i ? "," : "").u64(g_slots[i].start_cpu);
    w.str(" end_cpus=");
    for (uint32_t i = 0; i < g_threads; ++i) w.str(i ? "," : "").u64(g_slots[i].end_cpu);
    w.str(" kstats=").str(have_busy ? "yes" : "no");
    if (w.ok()) cap::print("%s\n", d);
    if (!have_busy) cap::print("[imbalance] no per-CPU busy time: the kstats capability is missing or failed\n");
    return ok && have_busy && len != 0;
}

}  // namespace

int main(cap::StartInfo& info) {
    Args args;
    args.add(kBenchDefaultArgs);
    args.add(info.args());
    const uint32_t probed = cpuid_cpu_count();
    const uint32_t cpus = static_cast<uint32_t>(args.u64("cpus", probed != 0 ? probed : 1));
    g_threads = static_cast<uint32_t>(args.u64("threads", bench::kImbalanceDefaultThreads));
    g_tasks = static_cast<uint32_t>(args.u64("tasks", bench::kImbalanceDefaultTasks));
    g_seed = args.u64("seed", bench::kImbalanceDefaultSeed);
    g_unit = static_cast<uint32_t>(args.u64("unit_blocks", bench::kImbalanceDefaultUnitBlocks));
    const uint64_t runs = args.u64("runs", 1);
    if (cpus == 0 || cpus > bench::kImbalanceMaxCpus || g_threads == 0 || g_threads > bench::kImbalanceMaxThreads ||
        g_tasks == 0 || g_tasks > bench::kImbalanceMaxTasks || g_unit == 0 || g_unit > 65536 || runs == 0 ||
        runs > 64) {
        cap::print("[imbalance] bad arguments: '%s' '%s'\n", kBenchDefaultArgs, info.args());
        cap::print("[utest] imbalance 0 passed, 1 failed\n");
        return 2;
    }
    const uint64_t tsc_hz = measure_tsc_hz(info);
    char line[bench::kResultLineMax];
    if (bench::format_env_line(line, sizeof line, "capos", cpus, tsc_hz) != 0) cap::print("%s\n", line);
    if (tsc_hz == 0) {
        cap::print("[imbalance] no TSC rate (Timer failed)\n[utest] imbalance 0 passed, 1 failed\n");
        return 3;
    }
    cap::print("[imbalance-info] cpus=%u threads=%u tasks=%u seed=%llu unit_blocks=%u runs=%llu\n", cpus, g_threads,
               g_tasks, static_cast<unsigned long long>(g_seed), g_unit, static_cast<unsigned long long>(runs));
    uint32_t passed = 0, failed = 0;
    for (uint32_t r = 0; r < runs; ++r) {
        if (run(cpus, tsc_hz, r)) ++passed;
        else ++failed;
    }
    benchcap::finish_placement_trace(info);  // before the last line: the harness stops the boot at it
    cap::print("[utest] imbalance %u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
