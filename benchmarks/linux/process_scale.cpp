// benchmarks/linux/process_scale.cpp — Linux baseline of the process-scale workload (forked workers).
//
// The parent maps one shared page set, forks N workers and blocks in
// waitpid. Each worker computes its cost-balanced segment between two cycle
// reads with no syscall in between, after a process-shared barrier so all
// workers exist before any starts. Results come back through the shared
// mapping, one cache line per worker. elapsed = max(end) - min(start).
//
// Usage: smp-process-scale [--workers N] [--runs R] [--lo L] [--hi H] [--detail 0|1]
// A non-default range (functional tests) is verified against a one-process
// recomputation instead of the constants.
#include <new>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux_common.h"
#include "primes.h"
#include "result_line.h"

namespace {

using namespace bench;
using namespace bench::linux_baseline;

struct alignas(64) WorkerSlot {
    uint64_t count;
    uint64_t checksum;
    uint64_t start_cycles;
    uint64_t end_cycles;
    uint64_t done;
    uint64_t pad_[3];
};
static_assert(sizeof(WorkerSlot) == 64);

struct Shared {
    pthread_barrier_t gate;
    WorkerSlot slots[kPrimeMaxWorkers];
};

[[noreturn]] void worker(Shared* sh, uint32_t lo, uint32_t hi, uint32_t k, uint32_t index) {
    const PrimeSegment seg = prime_segment(lo, hi, k, index);
    pthread_barrier_wait(&sh->gate);
    const uint64_t start = cycles_now();
    const PrimeResult r = prime_count_range(seg.lo, seg.hi);
    const uint64_t end = cycles_now();
    WorkerSlot& s = sh->slots[index];
    s.count = r.count;
    s.checksum = r.checksum;
    s.start_cycles = start;
    s.end_cycles = end;
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
    _exit(0);
}

// One run; returns false on a setup failure (already reported).
bool run_once(uint32_t workers, uint32_t lo, uint32_t hi, const PrimeResult* expected, bool detail) {
    void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        emit_line("[smp-process-scale] error=mmap");
        return false;
    }
    auto* sh = new (mem) Shared{};
    pthread_barrierattr_t attr;
    pthread_barrierattr_init(&attr);
    pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(&sh->gate, &attr, workers);
    pthread_barrierattr_destroy(&attr);

    pid_t pids[kPrimeMaxWorkers] = {};
    for (uint32_t i = 0; i < workers; ++i) {
        const pid_t pid = fork();
        if (pid == 0) {
            worker(sh, lo, hi, workers, i);
        }
        if (pid < 0) {
            emit_line("[smp-process-scale] error=fork");
            return false;  // children blocked at the gate die with the VM
        }
        pids[i] = pid;
    }
    bool ok = true;
    for (uint32_t i = 0; i < workers; ++i) {
        int status = 0;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            ok = false;
        }
    }
    PrimeResult total{0, 0};
    uint64_t first = ~0ull;
    uint64_t last = 0;
    for (uint32_t i = 0; i < workers; ++i) {
        const WorkerSlot& s = sh->slots[i];
        if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) == 0) {
            ok = false;
            continue;
        }
        total = prime_combine(total, PrimeResult{s.count, s.checksum});
        first = s.start_cycles < first ? s.start_cycles : first;
        last = s.end_cycles > last ? s.end_cycles : last;
    }
    const bool verified = ok && prime_result_equal(total, *expected);
    char line[kResultLineMax];
    format_process_line(line, sizeof(line),
                        ProcessScaleLine{online_cpus(), workers, lo, hi, total.count, total.checksum,
                                         last > first ? last - first : 0, verified});
    emit_line(line);
    if (detail) {
        // Per-worker compute cycles: shows segment imbalance (diagnostic, not a result line).
        bench::LineWriter w(line, sizeof(line));
        w.str("[linux-detail] workload=process worker_cycles=");
        for (uint32_t i = 0; i < workers; ++i) {
            w.str(i == 0 ? "" : ",").u64(sh->slots[i].end_cycles - sh->slots[i].start_cycles);
        }
        emit_line(line);
    }
    pthread_barrier_destroy(&sh->gate);
    munmap(mem, sizeof(Shared));
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    uint32_t workers = online_cpus();
    uint32_t runs = 1;
    uint32_t lo = kPrimeLo;
    uint32_t hi = kPrimeHi;
    uint32_t detail = 0;
    for (int i = 1; i < argc; ++i) {
        if (!parse_u32_arg(argc, argv, i, "--detail", detail) && !parse_u32_arg(argc, argv, i, "--workers", workers) && !parse_u32_arg(argc, argv, i, "--runs", runs) &&
            !parse_u32_arg(argc, argv, i, "--lo", lo) && !parse_u32_arg(argc, argv, i, "--hi", hi)) {
            fprintf(stderr, "usage: %s [--workers N] [--runs R] [--lo L] [--hi H] [--detail 0|1]\n", argv[0]);
            return 2;
        }
    }
    if (workers == 0 || workers > kPrimeMaxWorkers || hi <= lo) {
        fprintf(stderr, "smp-process-scale: bad workers or range\n");
        return 2;
    }
    PrimeResult expected{kPrimeCount, kPrimeChecksum};
    if (lo != kPrimeLo || hi != kPrimeHi) {
        expected = prime_count_range(lo, hi);  // independent of the split
    }
    for (uint32_t r = 0; r < runs; ++r) {
        if (!run_once(workers, lo, hi, &expected, detail != 0)) {
            return 1;
        }
    }
    return 0;
}
