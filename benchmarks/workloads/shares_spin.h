// benchmarks/workloads/shares_spin.h — the loop every "shares" thread runs in its window, on capOS and on Linux.
//
// The shared timed kernel (blockhash.h, the one compiled copy under
// BENCH_ONE_COPY) on a few blocks at a time, the clock checked between
// chunks: a chunk is well under a millisecond here, which bounds how far a
// thread's reading can pass the window's end.
#pragma once

#include <stdint.h>

#include "blockhash.h"
#include "cycles.h"

namespace bench {

inline constexpr uint32_t kSharesChunkBlocks = 4;

struct SharesSpin {
    uint64_t blocks;  // blocks hashed
    uint64_t root;    // their hash (kept, so the loop cannot be dropped)
};

// Hashes chunks starting at block `first` until the TSC reaches `end`.
inline SharesSpin shares_spin_until(uint64_t end, uint32_t first) {
    BlockPartial part{0, 0};
    uint32_t b = first;
    uint64_t n = 0;
    while (cycles_now() < end) {
        part = block_combine(part, block_hash_range(b, b + kSharesChunkBlocks));
        b += kSharesChunkBlocks;
        n += kSharesChunkBlocks;
    }
    return SharesSpin{n, block_root(part)};
}

}  // namespace bench
