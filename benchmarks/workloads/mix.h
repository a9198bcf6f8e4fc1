// benchmarks/workloads/mix.h — integer mixing helpers shared by the benchmark workloads.
//
// Header-only and freestanding-safe: only <stdint.h>, no libc, no floats, so the
// very same code runs in capOS workers, in the static Linux baseline and in the
// host unit tests.
#pragma once

#include <stdint.h>

namespace bench {

// Rotate left; n is taken modulo 64 so every caller is well defined.
constexpr uint64_t rotl64(uint64_t x, uint32_t n) {
    n &= 63u;
    return n == 0 ? x : (x << n) | (x >> (64u - n));
}

// SplitMix64 finaliser: a bijective avalanche mix. Used wherever a value must
// change every output bit when any input bit changes (checksums, root hash).
constexpr uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

inline constexpr uint64_t kGolden64 = 0x9e3779b97f4a7c15ull;

}  // namespace bench
