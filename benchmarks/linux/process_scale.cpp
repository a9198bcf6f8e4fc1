// benchmarks/linux/process_scale.cpp — Linux baseline of the process-scale workload (forked workers).
//
// The parent maps one shared page set, forks N workers and blocks in
// waitpid. Each worker computes its cost-balanced segment between two cycle
// reads with no syscall in between, after a process-shared barrier so all
// workers exist before any starts. Results come back through the shared
// mapping, one cache line per worker. elapsed = max(end) - min(start).
//
// Usage: smp-process-scale [--workers N] [--runs R] [--paired B] [--chunks C] [--lo L] [--hi H] [--detail 0|1]
// --chunks C: the workers share the range in C pieces from a counter in the
// shared page (chunks.h, default 512); 0: each its fixed segment.
// --paired B: a paired boot (benchmarks/workloads/paired.h): B ABBA blocks of
// 1 and N workers instead of R runs of N. Each run is bracketed by
// `[bench-window]` lines and followed by its `[linux-stats]` lines.
// total = first fork to the last waitpid (the parent's view; elapsed is the
// compute window behind the barrier).
// A non-default range (functional tests) is verified against a one-process
// recomputation instead of the constants.
#include <new>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chunks.h"
#include "linux_common.h"
#include "paired.h"
#include "procstats.h"
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
    uint32_t chunks_taken;
    uint32_t pad32_;
    uint64_t pad_[2];
};
static_assert(sizeof(WorkerSlot) == 64);

struct Shared {
    pthread_barrier_t gate;
    uint32_t chunks;                  // 0: fixed segments
    alignas(64) uint32_t next_chunk;  // chunks.h (atomic), on a line of its own
    alignas(64) WorkerSlot slots[kPrimeMaxWorkers];
};

[[noreturn]] void worker(Shared* sh, uint32_t lo, uint32_t hi, uint32_t k, uint32_t index) {
    const PrimeSegment seg = prime_segment(lo, hi, k, index);
    const uint32_t chunks = sh->chunks;
    pthread_barrier_wait(&sh->gate);
    const uint64_t start = cycles_now();
    PrimeResult r{0, 0};
    uint32_t taken = 1;
    if (chunks == 0) {
        r = prime_count_range(seg.lo, seg.hi);
    } else {
        taken = take_chunks(&sh->next_chunk, chunks, [&](uint32_t c) {
            const ChunkRange cr = chunk_range(lo, hi, chunks, c);
            r = prime_combine(r, prime_count_range(cr.lo, cr.hi));
        });
    }
    const uint64_t end = cycles_now();
    WorkerSlot& s = sh->slots[index];
    s.count = r.count;
    s.checksum = r.checksum;
    s.start_cycles = start;
    s.end_cycles = end;
    s.chunks_taken = taken;
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
    _exit(0);
}

// One run; returns false on a setup failure (already reported).
bool run_once(uint32_t workers, uint32_t lo, uint32_t hi, uint32_t chunks, const PrimeResult* expected, bool detail,
              const char* label) {
    void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        emit_line("[smp-process-scale] error=mmap");
        return false;
    }
    auto* sh = new (mem) Shared{};
    sh->chunks = chunks;
    pthread_barrierattr_t attr;
    pthread_barrierattr_init(&attr);
    pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(&sh->gate, &attr, workers);
    pthread_barrierattr_destroy(&attr);

    pid_t pids[kPrimeMaxWorkers] = {};
    Window win(label);
    win.begin();
    const uint64_t t0 = cycles_now();
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
    const uint64_t t3 = cycles_now();
    win.end();
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
                                         last > first ? last - first : 0, t3 > t0 ? t3 - t0 : 0, verified});
    emit_line(line);
    if (detail) {
        // Per-worker compute cycles: shows segment imbalance (diagnostic, not a result line).
        bench::LineWriter w(line, sizeof(line));
        w.str("[linux-detail] workload=process worker_cycles=");
        for (uint32_t i = 0; i < workers; ++i) {
            w.str(i == 0 ? "" : ",").u64(sh->slots[i].end_cycles - sh->slots[i].start_cycles);
        }
        w.str(" worker_chunks=");
        for (uint32_t i = 0; i < workers; ++i) {
            w.str(i == 0 ? "" : ",").u64(sh->slots[i].chunks_taken);
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
    uint32_t paired = 0;
    uint32_t chunks = kDefaultChunks;
    for (int i = 1; i < argc; ++i) {
        if (!parse_u32_arg(argc, argv, i, "--detail", detail) && !parse_u32_arg(argc, argv, i, "--workers", workers) &&
            !parse_u32_arg(argc, argv, i, "--runs", runs) && !parse_u32_arg(argc, argv, i, "--paired", paired) &&
            !parse_u32_arg(argc, argv, i, "--chunks", chunks) && !parse_u32_arg(argc, argv, i, "--lo", lo) &&
            !parse_u32_arg(argc, argv, i, "--hi", hi)) {
            fprintf(stderr,
                    "usage: %s [--workers N] [--runs R] [--paired B] [--chunks C] [--lo L] [--hi H] "
                    "[--detail 0|1]\n",
                    argv[0]);
            return 2;
        }
    }
    if (workers == 0 || workers > kPrimeMaxWorkers || hi <= lo || paired > 64 || chunks > kMaxChunks) {
        fprintf(stderr, "smp-process-scale: bad workers or range\n");
        return 2;
    }
    PrimeResult expected{kPrimeCount, kPrimeChecksum};
    if (lo != kPrimeLo || hi != kPrimeHi) {
        expected = prime_count_range(lo, hi);  // independent of the split
    }
    const uint32_t n = paired != 0 ? paired_runs(paired) : runs;
    for (uint32_t r = 0; r < n; ++r) {
        const uint32_t k = paired != 0 ? paired_workers(r, workers) : workers;
        char label[64];
        format_window_label(label, sizeof label, "process", r, k);
        if (!run_once(k, lo, hi, chunks, &expected, detail != 0, label)) {
            return 1;
        }
    }
    return 0;
}
