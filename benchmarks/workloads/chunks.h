// benchmarks/workloads/chunks.h — a benchmark's fixed work shared by its workers in chunks from one counter.
//
// The work (a prime range, a block range) is cut into `chunks` equal pieces;
// each worker claims the next piece with one atomic increment of a counter in
// memory the workers share (a MemoryObject page on capOS, a MAP_SHARED page
// or a global on Linux) until none is left. No system call: the timed
// section stays free of the kernel. Why not a split in advance: this host
// slows single vCPU threads for a while, out of the guest's sight, and with
// a fixed split the run then lasts as long as its slowest worker, so the
// speedup measured the host's unevenness as much as the guest's scaling.
// With chunks a slowed CPU just takes fewer of them, on capOS and on Linux
// alike (same code). Partials combine by addition in any order
// (prime_combine, block_combine), so a missing or doubled chunk still fails
// verification.
#pragma once

#include <stdint.h>

namespace bench {

// 512 pieces: a piece of the default workloads is ~0.2 % of the work, small
// against host hiccups, large against one atomic increment.
inline constexpr uint32_t kDefaultChunks = 512;
inline constexpr uint32_t kMaxChunks = 65536;

struct ChunkRange {
    uint32_t lo;
    uint32_t hi;  // exclusive
};

// Piece c of `chunks` equal pieces tiling [lo, hi).
constexpr ChunkRange chunk_range(uint32_t lo, uint32_t hi, uint32_t chunks, uint32_t c) {
    const uint64_t n = hi - lo;
    return ChunkRange{static_cast<uint32_t>(lo + n * c / chunks), static_cast<uint32_t>(lo + n * (c + 1) / chunks)};
}

// Claims pieces from *next until none is left, calling work(piece) for
// each; returns how many this worker took.
template <class Work>
inline uint32_t take_chunks(uint32_t* next, uint32_t chunks, Work&& work) {
    uint32_t taken = 0;
    for (;;) {
        const uint32_t c = __atomic_fetch_add(next, 1u, __ATOMIC_RELAXED);
        if (c >= chunks) return taken;
        work(c);
        ++taken;
    }
}

}  // namespace bench
