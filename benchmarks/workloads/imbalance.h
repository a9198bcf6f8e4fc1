// benchmarks/workloads/imbalance.h — workload "imbalance": a seeded task pool of tenfold-varying costs on more threads than CPUs; makespan and per-CPU busy time.
//
// T threads (default 6 on 2 CPUs) each own a fixed list of tasks (default 8);
// task k costs imbalance_task_units(seed, k) units, 1..10 (a tenfold range,
// deterministic from the seed), a unit being `unit_blocks` blocks of the
// shared timed kernel (blockhash.h). Thread i runs tasks i*tasks ..
// i*tasks+tasks-1 back to back, so the threads' totals differ and nothing
// inside the workload evens them out: the OS must. A placement that spreads
// the threads, moves them as the lighter ones finish and pulls work onto a
// CPU that went idle finishes first.
//
// Per thread the OS's CPU time (capOS Thread.cpuTime, Linux
// CLOCK_THREAD_CPUTIME_ID) and its finish time after the common start; per
// CPU the busy fraction over the run (capOS KernelStats, Linux
// /proc/schedstat). The metrics:
//   makespan     the last thread's finish (cycles after the start);
//   ideal        max(sum of CPU times / cpus, the largest CPU time): the
//                makespan if no CPU idled while work was left and no thread
//                waited while a CPU idled;
//   efficiency   ideal / makespan (1 = balanced to the end).
// Freestanding: no libc, no heap.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "result_line.h"

namespace bench {

inline constexpr uint32_t kImbalanceMaxThreads = 16;
inline constexpr uint32_t kImbalanceMaxTasks = 64;  // per thread
inline constexpr uint32_t kImbalanceMaxCpus = 16;
inline constexpr uint32_t kImbalanceDefaultThreads = 6;
inline constexpr uint32_t kImbalanceDefaultTasks = 8;
inline constexpr uint64_t kImbalanceDefaultSeed = 16;
inline constexpr uint32_t kImbalanceDefaultUnitBlocks = 384;
inline constexpr const char* kImbalanceTag = "[imbalance]";

// splitmix64's finaliser: a well-mixed 64-bit function of x.
constexpr uint64_t imbalance_mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Cost of task k in units: 1..10.
constexpr uint32_t imbalance_task_units(uint64_t seed, uint32_t k) {
    return 1 + static_cast<uint32_t>(imbalance_mix(imbalance_mix(seed) ^ k) % 10);
}

// Units of thread i's tasks (i*tasks .. i*tasks+tasks-1).
constexpr uint64_t imbalance_thread_units(uint64_t seed, uint32_t i, uint32_t tasks) {
    uint64_t u = 0;
    for (uint32_t j = 0; j < tasks; ++j) u += imbalance_task_units(seed, i * tasks + j);
    return u;
}

struct ImbalanceMetrics {
    uint64_t makespan;
    uint64_t ideal;
    uint64_t efficiency_ppm;
};

// False on bad input (no threads, no CPUs, a zero makespan).
inline bool imbalance_metrics(const uint64_t* cpu, const uint64_t* finish, uint32_t n, uint32_t cpus,
                              ImbalanceMetrics& m) {
    if (n == 0 || cpus == 0) return false;
    uint64_t sum = 0, biggest = 0, last = 0;
    for (uint32_t i = 0; i < n; ++i) {
        sum += cpu[i];
        biggest = cpu[i] > biggest ? cpu[i] : biggest;
        last = finish[i] > last ? finish[i] : last;
    }
    if (last == 0) return false;
    m.makespan = last;
    m.ideal = sum / cpus > biggest ? sum / cpus : biggest;
    m.efficiency_ppm = static_cast<uint64_t>(static_cast<double>(m.ideal) / static_cast<double>(last) * 1e6 + 0.5);
    return true;
}

struct ImbalanceLine {
    const char* os;
    uint32_t cpus;
    uint32_t threads;
    uint32_t tasks;  // per thread
    uint64_t seed;
    uint32_t unit_blocks;
    uint64_t tsc_hz;           // the cycles' rate (the harness converts to time)
    const uint64_t* cpu;       // per thread: CPU time, cycles
    const uint64_t* finish;    // per thread: finish - start, cycles
    const uint64_t* busy_ppm;  // per CPU: busy fraction of the run x 1e6
    bool verified;
};

// [imbalance] os= cpus= threads= tasks= seed= unit_blocks= tsc_hz= units=<per thread>
//   cpu=<per thread> finish=<per thread> makespan= ideal= efficiency_ppm=
//   busy_ppm=<per CPU> verified=
// Returns the length, 0 if it did not fit.
inline size_t format_imbalance_line(char* buf, size_t cap, const ImbalanceLine& l) {
    ImbalanceMetrics m{};
    const bool have = l.verified && l.threads <= kImbalanceMaxThreads && l.cpus <= kImbalanceMaxCpus &&
                      imbalance_metrics(l.cpu, l.finish, l.threads, l.cpus, m);
    LineWriter w(buf, cap);
    w.str(kImbalanceTag).kv_str("os", l.os).kv("cpus", l.cpus).kv("threads", l.threads).kv("tasks", l.tasks);
    w.kv("seed", l.seed).kv("unit_blocks", l.unit_blocks).kv("tsc_hz", l.tsc_hz);
    w.str(" units=");
    for (uint32_t i = 0; i < l.threads; ++i) w.str(i ? "," : "").u64(imbalance_thread_units(l.seed, i, l.tasks));
    w.str(" cpu=");
    for (uint32_t i = 0; i < l.threads; ++i) w.str(i ? "," : "").u64(l.cpu[i]);
    w.str(" finish=");
    for (uint32_t i = 0; i < l.threads; ++i) w.str(i ? "," : "").u64(l.finish[i]);
    w.kv("makespan", have ? m.makespan : 0).kv("ideal", have ? m.ideal : 0);
    w.kv("efficiency_ppm", have ? m.efficiency_ppm : 0);
    w.str(" busy_ppm=");
    for (uint32_t c = 0; c < l.cpus; ++c) w.str(c ? "," : "").u64(l.busy_ppm[c]);
    w.kv_str("verified", have ? "true" : "false");
    return w.ok() ? w.size() : 0;
}

}  // namespace bench
