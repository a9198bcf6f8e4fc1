// benchmarks/workloads/blockhash.h — thread-scale workload: fixed-size block hashing with one root hash.
//
// Shape: 16 MiB of data as kBlocks = 262,144 blocks of 64 bytes (8 words),
// each hashed with kRounds = 64 rounds of a small ARX/multiply mix. Block i's
// content is generated from i (block_generate), so no file and no 16 MiB
// buffer is needed: a worker's timed section touches only its registers, its
// stack and, once at the end, its own output slot.
//
// Split: thread t of k hashes the contiguous block range blockhash_span(k, t);
// every block costs the same, so equal-length ranges are balanced.
//
// Root hash: root = mix64(S + C·kGolden64) where S = sum over processed
// blocks i of mix64(h_i + i·kGolden64) (mod 2^64) and C the number of blocks
// processed. Pairing each block hash with its own index makes a reordered
// block (content of j hashed as i) change S; a missing or duplicated block
// changes both S and C. Partial sums from per-thread slots add in any order.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mix.h"

// The timed copy (timed_kernels.cpp) must hold the whole loop: g++'s
// flatten inlines every call below it, clang 14's only the direct ones, so
// under clang the block steps are always_inline as well.
#if defined(__clang__)
#define BENCH_BLOCK_STEP [[gnu::always_inline]]
#else
#define BENCH_BLOCK_STEP
#endif

namespace bench {

inline constexpr uint32_t kBlocks = 262'144;
inline constexpr uint32_t kBlockBytes = 64;
inline constexpr uint32_t kBlockWords = kBlockBytes / 8;
inline constexpr uint32_t kRounds = 64;
inline constexpr uint64_t kBlockDataBytes = static_cast<uint64_t>(kBlocks) * kBlockBytes;  // 16 MiB
// Computed on the host by an independent implementation (test/unit/workloads).
inline constexpr uint64_t kBlockRootHash = 0x3087349e2c7db0b0ull;

static_assert(kBlockDataBytes == 16ull * 1024 * 1024, "the contract says 16 MiB");

// Block content: word w of block i. Deterministic, so every run and every OS
// hashes the same 16 MiB.
constexpr uint64_t block_word(uint32_t block, uint32_t word) {
    return mix64((static_cast<uint64_t>(block) << 3 | word) ^ 0x5ca1ab1e0ddba11ull);
}

BENCH_BLOCK_STEP constexpr void block_generate(uint32_t block, uint64_t (&w)[kBlockWords]) {
    for (uint32_t j = 0; j < kBlockWords; ++j) {
        w[j] = block_word(block, j);
    }
}

// One round over the 8-word state, as two half-rounds. A half-round works on
// four independent lane pairs (instruction-level parallelism), each an
// add-rotate-xor step and a multiply, then rotates lanes so that new pair q
// takes one word from old pairs q+1 and q+2 (mod 4): every word feeds every
// other within a few half-rounds. Two halves per round set the cost so one
// vCPU under multi-threaded TCG needs a few seconds for the 16 MiB.
BENCH_BLOCK_STEP constexpr void block_round(uint64_t (&s)[kBlockWords], uint32_t r) {
    constexpr uint32_t kPerm[kBlockWords] = {2, 5, 4, 7, 6, 1, 0, 3};
    for (uint32_t half = 0; half < 2; ++half) {
        const uint64_t rc = (2 * static_cast<uint64_t>(r) + half + 1) * kGolden64;
        for (uint32_t p = 0; p < kBlockWords; p += 2) {
            uint64_t a = s[p];
            uint64_t b = s[p + 1];
            a += b ^ rc;
            b = rotl64(b, 13 + p) ^ a;
            a = rotl64(a, 32) * 0xd6e8feb86659fd93ull;
            b += a;
            s[p] = a;
            s[p + 1] = rotl64(b, 29);
        }
        uint64_t t[kBlockWords] = {};
        for (uint32_t j = 0; j < kBlockWords; ++j) {
            t[j] = s[kPerm[j]];
        }
        for (uint32_t j = 0; j < kBlockWords; ++j) {
            s[j] = t[j];
        }
    }
}

// Hash of one block's content after `rounds` rounds.
BENCH_BLOCK_STEP constexpr uint64_t block_hash(const uint64_t (&w)[kBlockWords], uint32_t rounds) {
    uint64_t s[kBlockWords] = {};
    for (uint32_t j = 0; j < kBlockWords; ++j) {
        s[j] = w[j];
    }
    for (uint32_t r = 0; r < rounds; ++r) {
        block_round(s, r);
    }
    uint64_t h = 0;
    for (uint32_t j = 0; j < kBlockWords; ++j) {
        h = mix64(h ^ s[j]) + j;
    }
    return h;
}

// Positional term of block i (see the header comment).
BENCH_BLOCK_STEP constexpr uint64_t block_term(uint64_t h, uint32_t block) {
    return mix64(h + static_cast<uint64_t>(block) * kGolden64);
}

// Partial result of a block range; combines by addition in any order.
struct BlockPartial {
    uint64_t sum;
    uint64_t count;
};

constexpr BlockPartial block_combine(BlockPartial a, BlockPartial b) {
    return BlockPartial{a.sum + b.sum, a.count + b.count};
}

constexpr uint64_t block_root(BlockPartial p) { return mix64(p.sum + p.count * kGolden64); }

#if defined(BENCH_ONE_COPY)
// The one compiled copy of block_hash_range (timed_kernels.cpp), linked into
// the capOS and the Linux programs alike.
BlockPartial block_hash_range_compiled(uint32_t first, uint32_t last, uint32_t rounds);
#endif

// Hashes blocks [first, last). The timed section of a thread is one call.
// In a program built with BENCH_ONE_COPY a run-time call goes to the one
// compiled copy, so capOS and Linux execute the same machine code whatever
// flags their own programs are built with (timed_kernels.cpp says why).
constexpr BlockPartial block_hash_range(uint32_t first, uint32_t last, uint32_t rounds = kRounds) {
#if defined(BENCH_ONE_COPY)
    if (!__builtin_is_constant_evaluated()) {
        return block_hash_range_compiled(first, last, rounds);
    }
#endif
    BlockPartial p{0, 0};
    for (uint32_t i = first; i < last; ++i) {
        uint64_t w[kBlockWords] = {};
        block_generate(i, w);
        p.sum += block_term(block_hash(w, rounds), i);
        ++p.count;
    }
    return p;
}

struct BlockSpan {
    uint32_t first;
    uint32_t last;  // exclusive
};

// Thread t of k: contiguous, equal-length (±1 block) ranges tiling [0, blocks).
constexpr BlockSpan blockhash_span(uint32_t blocks, uint32_t k, uint32_t t) {
    if (k == 0) {
        k = 1;
    }
    const uint64_t b = blocks;
    return BlockSpan{static_cast<uint32_t>(b * t / k), static_cast<uint32_t>(b * (t + 1) / k)};
}

// One thread's output slot, alone on its cache line so threads that finish
// at the same time do not write-share a line. start/end are the thread's own
// cycle reads bracketing block_hash_range.
struct alignas(64) BlockSlot {
    BlockPartial partial;
    uint64_t start_cycles;
    uint64_t end_cycles;
    uint64_t done;  // written last; nonzero once the slot is valid
    uint64_t pad_[3];
};
static_assert(sizeof(BlockSlot) == 64 && alignof(BlockSlot) == 64, "one slot per cache line");

constexpr bool blockhash_verify_default(uint64_t root) { return root == kBlockRootHash; }

}  // namespace bench
