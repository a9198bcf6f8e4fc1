// benchmarks/workloads/primes.h — process-scale workload: segmented prime counting by trial division.
//
// One fixed range [kPrimeLo, kPrimeHi) is split into k contiguous segments,
// one per worker process. Each worker counts the primes of its segment with
// trial division by 2, 3 and 6m±1 — no memory beyond registers, no syscalls,
// no heap, no floats — so its timed section is pure integer work that
// scales with the number of CPUs as long as the segments cost the same.
//
// Cost model (why segments are not equal-length): testing a prime n costs
// about sqrt(n)/3 division pairs, a composite stops at its smallest factor,
// and the primes dominate; so the cost density at n is about
// sqrt(n)/L · (1 + a/L), L = log2(n). prime_bound() integrates that density
// over kPrimeGranules equal granules of the range (integer arithmetic only)
// and cuts the cumulative cost into k equal parts, interpolating inside a
// granule. test/unit/workloads checks the result against counted divisions.
//
// Result: {count, checksum} with checksum = sum over primes p of mix64(p)
// (mod 2^64). Addition is commutative and associative, so segment results
// combine in any order, and the mix makes the checksum depend on exactly
// which primes were found, not just how many.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mix.h"

namespace bench {

// Default range. 1 vCPU under multi-threaded TCG takes about 5.5 s on the
// project's machines (see docs/benchmarks.md for the measured figures).
inline constexpr uint32_t kPrimeLo = 2;
inline constexpr uint32_t kPrimeHi = 16'777'216;  // 2^24
// Computed on the host by an independent sieve (test/unit/workloads checks).
inline constexpr uint64_t kPrimeCount = 1'077'871;
inline constexpr uint64_t kPrimeChecksum = 0x829abeafa2f78f12ull;

inline constexpr uint32_t kPrimeGranules = 4096;
inline constexpr uint32_t kPrimeMaxWorkers = 256;

struct PrimeResult {
    uint64_t count;
    uint64_t checksum;
};

struct PrimeSegment {
    uint32_t lo;
    uint32_t hi;  // exclusive
};

constexpr PrimeResult prime_combine(PrimeResult a, PrimeResult b) {
    return PrimeResult{a.count + b.count, a.checksum + b.checksum};
}

constexpr bool prime_result_equal(PrimeResult a, PrimeResult b) {
    return a.count == b.count && a.checksum == b.checksum;
}

// Trial division by 2, 3 and 6m±1. `ops`, when non-null, counts division
// pairs (the unit of the cost model); the hot path passes nullptr and the
// branch folds away after inlining.
constexpr bool prime_test(uint32_t n, uint64_t* ops) {
    if (n < 2) {
        return false;
    }
    if (n < 4) {
        return true;
    }
    if (ops != nullptr) {
        ++*ops;  // the 2 and 3 tests cost about one pair
    }
    if (n % 2u == 0 || n % 3u == 0) {
        return false;
    }
    for (uint32_t d = 5; static_cast<uint64_t>(d) * d <= n; d += 6) {
        if (ops != nullptr) {
            ++*ops;
        }
        if (n % d == 0 || n % (d + 2u) == 0) {
            return false;
        }
    }
    return true;
}

#if defined(BENCH_ONE_COPY)
// The one compiled copy of prime_count_range (timed_kernels.cpp).
PrimeResult prime_count_range_compiled(uint32_t lo, uint32_t hi);
#endif

// Counts the primes in [lo, hi). The timed section of a worker is exactly one
// call of this function (per chunk). With BENCH_ONE_COPY a run-time call
// without an operation counter goes to the one compiled copy, the same
// machine code on capOS and Linux (timed_kernels.cpp).
constexpr PrimeResult prime_count_range(uint32_t lo, uint32_t hi, uint64_t* ops = nullptr) {
#if defined(BENCH_ONE_COPY)
    if (!__builtin_is_constant_evaluated() && ops == nullptr) {
        return prime_count_range_compiled(lo, hi);
    }
#endif
    PrimeResult r{0, 0};
    if (lo >= hi) {
        return r;
    }
    uint32_t n = lo;
    if (n <= 2) {
        if (hi > 2) {
            r.count = 1;
            r.checksum = mix64(2);
        }
        n = 3;
    }
    if ((n & 1u) == 0) {
        ++n;  // only odd candidates from here on
    }
    for (; n < hi; n += 2) {
        if (prime_test(n, ops)) {
            ++r.count;
            r.checksum += mix64(n);
        }
        if (n > 0xffff'fffdu) {
            break;  // n += 2 would wrap
        }
    }
    return r;
}

// floor(sqrt(n)), bit by bit (no floats).
constexpr uint64_t isqrt64(uint64_t n) {
    uint64_t r = 0;
    uint64_t bit = 1ull << 62;
    while (bit > n) {
        bit >>= 2;
    }
    while (bit != 0) {
        if (n >= r + bit) {
            n -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

// log2(n) in Q16 fixed point for n >= 1: exponent plus log2(1+f) ≈
// f + c·f·(1−f), c = 0.3466 (absolute error below 0.005).
constexpr uint64_t log2_q16(uint64_t n) {
    uint32_t e = 0;
    while (e < 63 && (n >> (e + 1)) != 0) {
        ++e;
    }
    const uint64_t m = e >= 16 ? (n >> (e - 16)) : (n << (16 - e));  // [2^16, 2^17)
    const uint64_t f = m - (1ull << 16);
    const uint64_t corr = (22713ull * f * ((1ull << 16) - f)) >> 32;
    return (static_cast<uint64_t>(e) << 16) + f + corr;
}

// Relative cost density at n (see the header comment): sqrt(n)/L · (1 + a/L)
// with L = log2(n) (the base only rescales a), a = kPrimeCompositeQ16.
// a = 10 (Q16): fitted to counted divisions over the default range, where it
// keeps every segment within 0.3% of the mean for k = 2, 4, 8 (the unit test
// asserts 1%).
inline constexpr uint64_t kPrimeCompositeQ16 = 10ull << 16;
constexpr uint64_t prime_cost_density(uint64_t n, uint64_t a_q16 = kPrimeCompositeQ16) {
    if (n < 4) {
        n = 4;
    }
    const uint64_t l = log2_q16(n);       // >= 2^17
    const uint64_t s = isqrt64(n) << 24;  // <= 2^40
    const uint64_t base = s / l;          // <= 2^23
    return base + (base * a_q16) / l;     // Q16/Q16 cancels; a_q16 < 2^24 keeps it in range
}

// Estimated cost of granule g of [lo, hi) and its bounds.
struct PrimeGranule {
    uint64_t start;
    uint64_t len;
    uint64_t weight;
};

constexpr PrimeGranule prime_granule(uint32_t lo, uint32_t hi, uint32_t g, uint64_t a_q16) {
    const uint64_t span = static_cast<uint64_t>(hi) - lo;
    const uint64_t width = (span + kPrimeGranules - 1) / kPrimeGranules;
    PrimeGranule out{lo, 0, 0};
    const uint64_t start = lo + width * g;
    if (width == 0 || start >= hi) {
        out.start = hi;
        return out;
    }
    const uint64_t end = start + width < hi ? start + width : hi;
    out.start = start;
    out.len = end - start;
    out.weight = prime_cost_density(start + out.len / 2, a_q16) * out.len;  // <= 2^23 * 2^20
    return out;
}

// Cut point j of k over [lo, hi): 0 -> lo, k -> hi, monotonic in j, so
// segments [bound(j), bound(j+1)) tile the range with no gap or overlap.
constexpr uint32_t prime_bound(uint32_t lo, uint32_t hi, uint32_t k, uint32_t j, uint64_t a_q16 = kPrimeCompositeQ16) {
    if (j == 0 || hi <= lo) {
        return lo;
    }
    if (j >= k) {
        return hi;
    }
    uint64_t total = 0;
    for (uint32_t g = 0; g < kPrimeGranules; ++g) {
        total += prime_granule(lo, hi, g, a_q16).weight;
    }
    // total < 2^56 for any u32 range; k <= kPrimeMaxWorkers keeps this exact.
    const uint64_t target = (total / k) * j + ((total % k) * j) / k;
    uint64_t cum = 0;
    for (uint32_t g = 0; g < kPrimeGranules; ++g) {
        const PrimeGranule gr = prime_granule(lo, hi, g, a_q16);
        if (gr.len == 0) {
            break;
        }
        if (cum + gr.weight >= target) {
            // Linear interpolation inside the granule; (target-cum) <= weight < 2^43.
            const uint64_t within = gr.weight == 0 ? 0 : ((target - cum) * gr.len) / gr.weight;
            return static_cast<uint32_t>(gr.start + within);
        }
        cum += gr.weight;
    }
    return hi;
}

// Segment i of k for the range [lo, hi). k must be in 1..kPrimeMaxWorkers.
constexpr PrimeSegment prime_segment(uint32_t lo, uint32_t hi, uint32_t k, uint32_t i) {
    if (k == 0) {
        k = 1;
    }
    if (k > kPrimeMaxWorkers) {
        k = kPrimeMaxWorkers;
    }
    return PrimeSegment{prime_bound(lo, hi, k, i), prime_bound(lo, hi, k, i + 1)};
}

constexpr PrimeSegment prime_default_segment(uint32_t k, uint32_t i) { return prime_segment(kPrimeLo, kPrimeHi, k, i); }

// True when r is the known answer for the default range.
constexpr bool prime_verify_default(PrimeResult r) { return r.count == kPrimeCount && r.checksum == kPrimeChecksum; }

}  // namespace bench
