// benchmarks/linux/thread_scale.cpp — Linux baseline of the thread-scale workload (pthreads, blocking join).
//
// Phases, all from guest cycle reads:
//   t0 = before the first pthread_create; each thread waits at a barrier of
//   the k workers, then brackets block_hash_range with start/end reads and
//   fills its own cache-line slot; the main thread blocks in pthread_join;
//   t3 = after the last join.
//   spawn_ready = min(start) - t0, work = max(end) - min(start),
//   shutdown = t3 - max(end), total = t3 - t0 (the three sum to total).
//
// Usage: smp-thread-scale [--threads N] [--runs R] [--paired B] [--chunks C] [--blocks B] [--detail 0|1]
// --chunks C: the threads share the blocks in C pieces from one counter
// (chunks.h, default 512); 0: each its fixed span.
// --paired B: a paired boot (benchmarks/workloads/paired.h): B ABBA blocks of
// 1 and N threads instead of R runs of N. Each run is bracketed by
// `[bench-window]` lines and followed by its `[linux-stats]` lines.
// A non-default block count (functional tests) is verified against a
// single-threaded recomputation instead of kBlockRootHash.
#include <pthread.h>
#include <stdio.h>

#include "blockhash.h"
#include "chunks.h"
#include "linux_common.h"
#include "paired.h"
#include "procstats.h"
#include "result_line.h"

namespace {

using namespace bench;
using namespace bench::linux_baseline;

constexpr uint32_t kMaxThreads = 256;

BlockSlot g_slots[kMaxThreads];
uint32_t g_chunks_taken[kMaxThreads];
pthread_barrier_t g_gate;
uint32_t g_chunks;  // 0: fixed spans
struct alignas(64) ChunkCounter {
    uint32_t next;  // chunks.h (atomic); the struct fills its cache line alone
};
ChunkCounter g_next_chunk;

struct ThreadArg {
    uint32_t index;
    uint32_t threads;
    uint32_t blocks;
};

void* thread_main(void* p) {
    const ThreadArg a = *static_cast<const ThreadArg*>(p);
    const BlockSpan span = blockhash_span(a.blocks, a.threads, a.index);
    const uint32_t chunks = g_chunks;
    pthread_barrier_wait(&g_gate);
    const uint64_t start = cycles_now();
    BlockPartial part{0, 0};
    uint32_t taken = 1;
    if (chunks == 0) {
        part = block_hash_range(span.first, span.last);
    } else {
        taken = take_chunks(&g_next_chunk.next, chunks, [&](uint32_t c) {
            const ChunkRange cr = chunk_range(0, a.blocks, chunks, c);
            part = block_combine(part, block_hash_range(cr.lo, cr.hi));
        });
    }
    const uint64_t end = cycles_now();
    BlockSlot& s = g_slots[a.index];
    s.partial = part;
    s.start_cycles = start;
    s.end_cycles = end;
    g_chunks_taken[a.index] = taken;
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
    return nullptr;
}

bool run_once(uint32_t threads, uint32_t blocks, uint32_t chunks, uint64_t expected_root, bool detail,
              const char* label) {
    for (uint32_t i = 0; i < threads; ++i) {
        g_slots[i] = BlockSlot{};
        g_chunks_taken[i] = 0;
    }
    g_chunks = chunks > blocks ? blocks : chunks;
    __atomic_store_n(&g_next_chunk.next, 0u, __ATOMIC_RELAXED);
    pthread_barrier_init(&g_gate, nullptr, threads);
    pthread_t tids[kMaxThreads];
    ThreadArg args[kMaxThreads];
    Window win(label);
    win.begin();
    const uint64_t t0 = cycles_now();
    for (uint32_t i = 0; i < threads; ++i) {
        args[i] = ThreadArg{i, threads, blocks};
        if (pthread_create(&tids[i], nullptr, thread_main, &args[i]) != 0) {
            emit_line("[smp-thread-scale] error=pthread_create");
            return false;
        }
    }
    for (uint32_t i = 0; i < threads; ++i) {
        pthread_join(tids[i], nullptr);
    }
    const uint64_t t3 = cycles_now();
    win.end();
    pthread_barrier_destroy(&g_gate);

    bool ok = true;
    BlockPartial total{0, 0};
    uint64_t first = ~0ull;
    uint64_t last = 0;
    for (uint32_t i = 0; i < threads; ++i) {
        const BlockSlot& s = g_slots[i];
        if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) == 0) {
            ok = false;
            continue;
        }
        total = block_combine(total, s.partial);
        first = s.start_cycles < first ? s.start_cycles : first;
        last = s.end_cycles > last ? s.end_cycles : last;
    }
    if (!ok || first < t0 || last > t3 || last < first) {
        ok = false;
        first = last = t0;
    }
    const uint64_t root = block_root(total);
    char line[kResultLineMax];
    format_thread_line(line, sizeof(line),
                       ThreadScaleLine{online_cpus(), threads, blocks, kRounds, root, first - t0, last - first,
                                       t3 - last, t3 - t0, ok && root == expected_root});
    emit_line(line);
    if (detail) {
        // Per-thread compute cycles (diagnostic, not a result line).
        bench::LineWriter w(line, sizeof(line));
        w.str("[linux-detail] workload=thread thread_cycles=");
        for (uint32_t i = 0; i < threads; ++i) {
            w.str(i == 0 ? "" : ",").u64(g_slots[i].end_cycles - g_slots[i].start_cycles);
        }
        w.str(" thread_chunks=");
        for (uint32_t i = 0; i < threads; ++i) {
            w.str(i == 0 ? "" : ",").u64(g_chunks_taken[i]);
        }
        emit_line(line);
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    uint32_t threads = online_cpus();
    uint32_t runs = 1;
    uint32_t blocks = kBlocks;
    uint32_t detail = 0;
    uint32_t paired = 0;
    uint32_t chunks = kDefaultChunks;
    for (int i = 1; i < argc; ++i) {
        if (!parse_u32_arg(argc, argv, i, "--detail", detail) && !parse_u32_arg(argc, argv, i, "--threads", threads) &&
            !parse_u32_arg(argc, argv, i, "--runs", runs) && !parse_u32_arg(argc, argv, i, "--paired", paired) &&
            !parse_u32_arg(argc, argv, i, "--chunks", chunks) && !parse_u32_arg(argc, argv, i, "--blocks", blocks)) {
            fprintf(stderr,
                    "usage: %s [--threads N] [--runs R] [--paired B] [--chunks C] [--blocks B] "
                    "[--detail 0|1]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads == 0 || threads > kMaxThreads || blocks == 0 || paired > 64 || chunks > kMaxChunks) {
        fprintf(stderr, "smp-thread-scale: bad thread or block count\n");
        return 2;
    }
    const uint64_t expected = blocks == kBlocks ? kBlockRootHash : block_root(block_hash_range(0, blocks));
    const uint32_t n = paired != 0 ? paired_runs(paired) : runs;
    for (uint32_t r = 0; r < n; ++r) {
        const uint32_t k = paired != 0 ? paired_workers(r, threads) : threads;
        char label[64];
        format_window_label(label, sizeof label, "thread", r, k);
        if (!run_once(k, blocks, chunks, expected, detail != 0, label)) {
            return 1;
        }
    }
    return 0;
}
