// test/unit/workloads/test_workloads.cpp — host tests of the benchmark workloads and their constants.
//
// The constants in primes.h and blockhash.h are recomputed here by separate,
// deliberately plain implementations (a sieve of Eratosthenes; the block hash
// written out from its description), so a change to a workload that changes
// its answer fails here instead of silently moving the goalposts.
#include <catch2/catch_test_macros.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "blockhash.h"
#include "chunks.h"
#include "paired.h"
#include "primes.h"
#include "result_line.h"

namespace {

// SplitMix64 finaliser, written from its published constants.
uint64_t ref_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t ref_rotl(uint64_t x, int n) { return n == 0 ? x : (x << n) | (x >> (64 - n)); }

struct RefPrimes {
    uint64_t count = 0;
    uint64_t checksum = 0;
};

// Sieve of Eratosthenes over [0, hi), then the primes in [lo, hi).
RefPrimes ref_primes(uint32_t lo, uint32_t hi) {
    std::vector<bool> composite(hi, false);
    RefPrimes r;
    for (uint64_t n = 2; n < hi; ++n) {
        if (composite[n]) {
            continue;
        }
        for (uint64_t m = n * n; m < hi; m += n) {
            composite[m] = true;
        }
        if (n >= lo) {
            ++r.count;
            r.checksum += ref_mix(n);
        }
    }
    return r;
}

// The block hash written out from blockhash.h's description, sharing no code with it.
uint64_t ref_block_hash(uint32_t block, uint32_t rounds) {
    uint64_t s[8];
    for (int j = 0; j < 8; ++j) {
        s[j] = ref_mix(((static_cast<uint64_t>(block) << 3) | static_cast<uint64_t>(j)) ^ 0x5ca1ab1e0ddba11ull);
    }
    for (uint32_t r = 0; r < rounds; ++r) {
        for (uint64_t half = 0; half < 2; ++half) {
            const uint64_t rc = (2 * static_cast<uint64_t>(r) + half + 1) * 0x9e3779b97f4a7c15ull;
            uint64_t n[8];
            for (int p = 0; p < 8; p += 2) {
                uint64_t a = s[p] + (s[p + 1] ^ rc);
                uint64_t b = ref_rotl(s[p + 1], 13 + p) ^ a;
                a = ref_rotl(a, 32) * 0xd6e8feb86659fd93ull;
                b = ref_rotl(b + a, 29);
                n[p] = a;
                n[p + 1] = b;
            }
            // new[0..7] = old[2,5,4,7,6,1,0,3]
            const uint64_t o[8] = {n[2], n[5], n[4], n[7], n[6], n[1], n[0], n[3]};
            std::memcpy(s, o, sizeof(s));
        }
    }
    uint64_t h = 0;
    for (int j = 0; j < 8; ++j) {
        h = ref_mix(h ^ s[j]) + static_cast<uint64_t>(j);
    }
    return h;
}

uint64_t ref_root(const std::vector<uint32_t>& order, uint32_t rounds) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < order.size(); ++i) {
        // Position i holds the content of block order[i].
        sum += ref_mix(ref_block_hash(order[i], rounds) + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull);
    }
    return ref_mix(sum + static_cast<uint64_t>(order.size()) * 0x9e3779b97f4a7c15ull);
}

}  // namespace

TEST_CASE("mix64 and rotl64 match their definitions", "[workloads]") {
    for (uint64_t x : {0ull, 1ull, 0x123456789abcdefull, ~0ull}) {
        CHECK(bench::mix64(x) == ref_mix(x));
        for (uint32_t n : {1u, 13u, 32u, 63u}) {
            CHECK(bench::rotl64(x, n) == ref_rotl(x, static_cast<int>(n)));
        }
        CHECK(bench::rotl64(x, 0) == x);
        CHECK(bench::rotl64(x, 64) == x);
    }
}

TEST_CASE("prime constants match an independent sieve", "[workloads][primes]") {
    const RefPrimes ref = ref_primes(bench::kPrimeLo, bench::kPrimeHi);
    CHECK(ref.count == bench::kPrimeCount);
    CHECK(ref.checksum == bench::kPrimeChecksum);
    CHECK(bench::kPrimeCount == 1'077'871u);  // pi(2^24), a published value
}

TEST_CASE("prime_test agrees with the sieve and handles edges", "[workloads][primes]") {
    constexpr uint32_t kN = 200'000;
    std::vector<bool> composite(kN, false);
    composite[0] = composite[1] = true;
    for (uint32_t n = 2; n < kN; ++n) {
        if (!composite[n]) {
            for (uint64_t m = static_cast<uint64_t>(n) * n; m < kN; m += n) {
                composite[m] = true;
            }
        }
    }
    for (uint32_t n = 0; n < kN; ++n) {
        INFO("n=" << n);
        REQUIRE(bench::prime_test(n, nullptr) == !composite[n]);
    }
    CHECK(bench::prime_test(4'294'967'291u, nullptr));      // largest 32-bit prime
    CHECK(!bench::prime_test(4'294'967'295u, nullptr));     // 3 * 5 * 17 * 257 * 65537
    CHECK(!bench::prime_test(65'521u * 65'519u, nullptr));  // product of two large primes
}

TEST_CASE("prime_count_range: small ranges and the top of u32", "[workloads][primes]") {
    CHECK(bench::prime_count_range(0, 0).count == 0);
    CHECK(bench::prime_count_range(5, 5).count == 0);
    CHECK(bench::prime_count_range(9, 3).count == 0);
    CHECK(bench::prime_count_range(0, 3).count == 1);  // {2}
    CHECK(bench::prime_count_range(2, 3).count == 1);  // {2}
    CHECK(bench::prime_count_range(3, 4).count == 1);  // {3}
    CHECK(bench::prime_count_range(4, 5).count == 0);
    CHECK(bench::prime_count_range(0, 100).count == 25);
    CHECK(bench::prime_count_range(0, 100).checksum == ref_primes(0, 100).checksum);
    const RefPrimes r = ref_primes(1'000, 300'001);
    const bench::PrimeResult w = bench::prime_count_range(1'000, 300'001);
    CHECK(w.count == r.count);
    CHECK(w.checksum == r.checksum);
    // The top of the u32 range must terminate and agree with prime_test.
    uint64_t expect = 0;
    for (uint64_t n = 0xffff'ff00u; n < 0xffff'ffffu; ++n) {
        expect += bench::prime_test(static_cast<uint32_t>(n), nullptr) ? 1 : 0;
    }
    CHECK(bench::prime_count_range(0xffff'ff00u, 0xffff'ffffu).count == expect);
    CHECK(expect > 0);
}

TEST_CASE("prime segments tile the range for every k", "[workloads][primes]") {
    const uint32_t ranges[][2] = {
        {bench::kPrimeLo, bench::kPrimeHi}, {2, 3}, {10, 17}, {1'000, 5'000}, {7, 4'000'000'000u}};
    for (const auto& rg : ranges) {
        for (uint32_t k = 1; k <= 16; ++k) {
            INFO("range " << rg[0] << ".." << rg[1] << " k=" << k);
            REQUIRE(bench::prime_segment(rg[0], rg[1], k, 0).lo == rg[0]);
            REQUIRE(bench::prime_segment(rg[0], rg[1], k, k - 1).hi == rg[1]);
            for (uint32_t i = 0; i < k; ++i) {
                const bench::PrimeSegment s = bench::prime_segment(rg[0], rg[1], k, i);
                REQUIRE(s.lo <= s.hi);
                if (i + 1 < k) {
                    REQUIRE(s.hi == bench::prime_segment(rg[0], rg[1], k, i + 1).lo);
                }
            }
        }
    }
}

TEST_CASE("segment results combine to the whole for any k", "[workloads][primes]") {
    const uint32_t lo = 2;
    const uint32_t hi = 1u << 20;
    const RefPrimes ref = ref_primes(lo, hi);
    for (uint32_t k = 1; k <= 7; ++k) {
        bench::PrimeResult total{0, 0};
        for (uint32_t i = k; i-- > 0;) {  // reverse order: combining is order-free
            const bench::PrimeSegment s = bench::prime_segment(lo, hi, k, i);
            total = bench::prime_combine(total, bench::prime_count_range(s.lo, s.hi));
        }
        CHECK(total.count == ref.count);
        CHECK(total.checksum == ref.checksum);
    }
}

TEST_CASE("default range: 4 segments give the constants and cost within 1% of each other", "[workloads][primes]") {
    constexpr uint32_t k = 4;
    uint64_t ops[k] = {};
    uint64_t all = 0;
    bench::PrimeResult total{0, 0};
    for (uint32_t i = 0; i < k; ++i) {
        const bench::PrimeSegment s = bench::prime_default_segment(k, i);
        total = bench::prime_combine(total, bench::prime_count_range(s.lo, s.hi, &ops[i]));
        all += ops[i];
    }
    CHECK(bench::prime_verify_default(total));
    for (uint32_t i = 0; i < k; ++i) {
        INFO("segment " << i << " ops " << ops[i] << " of " << all);
        CHECK(ops[i] * k * 100 >= all * 99);
        CHECK(ops[i] * k * 100 <= all * 101);
    }
    // A wrong checksum or count must not verify.
    CHECK(!bench::prime_verify_default({total.count, total.checksum + 1}));
    CHECK(!bench::prime_verify_default({total.count - 1, total.checksum}));
}

TEST_CASE("isqrt64 and log2_q16", "[workloads][primes]") {
    for (uint64_t n : {0ull, 1ull, 2ull, 3ull, 4ull, 15ull, 16ull, 17ull, 1ull << 32, (1ull << 32) - 1, ~0ull}) {
        const uint64_t r = bench::isqrt64(n);
        CHECK(static_cast<unsigned __int128>(r) * r <= n);
        CHECK(static_cast<unsigned __int128>(r + 1) * (r + 1) > n);
    }
    CHECK(bench::log2_q16(1) == 0);
    CHECK(bench::log2_q16(1024) == (10u << 16));
    // log2(3) = 1.58496; the approximation is good to 0.005.
    const int64_t l3 = static_cast<int64_t>(bench::log2_q16(3));
    CHECK(l3 > static_cast<int64_t>(1.58 * 65536));
    CHECK(l3 < static_cast<int64_t>(1.59 * 65536));
}

TEST_CASE("block root constant matches an independent implementation", "[workloads][blockhash]") {
    std::vector<uint32_t> order(bench::kBlocks);
    for (uint32_t i = 0; i < bench::kBlocks; ++i) {
        order[i] = i;
    }
    CHECK(ref_root(order, bench::kRounds) == bench::kBlockRootHash);
    for (uint32_t k : {1u, 2u, 3u, 4u}) {
        bench::BlockPartial total{0, 0};
        for (uint32_t t = 0; t < k; ++t) {
            const bench::BlockSpan s = bench::blockhash_span(bench::kBlocks, k, t);
            total = bench::block_combine(total, bench::block_hash_range(s.first, s.last));
        }
        CHECK(total.count == bench::kBlocks);
        CHECK(bench::blockhash_verify_default(bench::block_root(total)));
    }
}

TEST_CASE("block root detects missing, duplicated and reordered blocks", "[workloads][blockhash]") {
    constexpr uint32_t kN = 64;
    constexpr uint32_t kR = 4;
    std::vector<uint32_t> order(kN);
    for (uint32_t i = 0; i < kN; ++i) {
        order[i] = i;
    }
    const uint64_t good = ref_root(order, kR);
    CHECK(bench::block_root(bench::block_hash_range(0, kN, kR)) == good);

    // Missing block 17: process [0,17) and [18,64).
    const bench::BlockPartial missing =
        bench::block_combine(bench::block_hash_range(0, 17, kR), bench::block_hash_range(18, kN, kR));
    CHECK(bench::block_root(missing) != good);
    // Block 17 hashed twice.
    const bench::BlockPartial dup =
        bench::block_combine(bench::block_hash_range(0, kN, kR), bench::block_hash_range(17, 18, kR));
    CHECK(bench::block_root(dup) != good);
    // Blocks 3 and 40 swapped in position.
    std::vector<uint32_t> swapped = order;
    std::swap(swapped[3], swapped[40]);
    CHECK(ref_root(swapped, kR) != good);
    // Spans tile [0, blocks) for any k.
    for (uint32_t k = 1; k <= 9; ++k) {
        uint32_t next = 0;
        for (uint32_t t = 0; t < k; ++t) {
            const bench::BlockSpan s = bench::blockhash_span(kN, k, t);
            REQUIRE(s.first == next);
            REQUIRE(s.last >= s.first);
            REQUIRE(s.last - s.first <= kN / k + 1);
            next = s.last;
        }
        REQUIRE(next == kN);
    }
    static_assert(sizeof(bench::BlockSlot) == 64);
    static_assert(alignof(bench::BlockSlot) == 64);
}

TEST_CASE("result lines are formatted exactly", "[workloads][resultline]") {
    char buf[bench::kResultLineMax];
    const size_t n = bench::format_process_line(
        buf, sizeof(buf),
        bench::ProcessScaleLine{2, 2, 2, 16'777'216, 1'077'871, 0x1234abcdull, 987654321, 987700000, true});
    CHECK(std::string(buf) ==
          "[smp-process-scale] cpus=2 workers=2 range=2..16777216 primes=1077871 "
          "checksum=0x000000001234abcd elapsed=987654321 total=987700000 verified=true");
    CHECK(n == std::strlen(buf));
    bench::format_thread_line(buf, sizeof(buf),
                              bench::ThreadScaleLine{4, 4, 262'144, 64, ~0ull, 1, 22, 333, 356, false});
    CHECK(std::string(buf) ==
          "[smp-thread-scale] cpus=4 threads=4 blocks=262144 rounds=64 root=0xffffffffffffffff "
          "spawn_ready=1 work=22 shutdown=333 total=356 verified=false");
    bench::format_env_line(buf, sizeof(buf), "linux", 1, 0);
    CHECK(std::string(buf) == "[smp-env] os=linux cpus=1 tsc_hz=0 cycle_source=rdtsc");
    // Too small a buffer: nothing usable is reported, and nothing is overrun.
    char small[16];
    CHECK(bench::format_process_line(small, sizeof(small), bench::ProcessScaleLine{1, 1, 2, 3, 1, 0, 0, 0, true}) == 0);
    CHECK(std::strlen(small) < sizeof(small));
}

TEST_CASE("a paired boot alternates 1 and k workers in ABBA blocks", "[workloads][paired]") {
    std::vector<uint32_t> order;
    for (uint32_t i = 0; i < bench::paired_runs(2); ++i) order.push_back(bench::paired_workers(i, 2));
    CHECK(order == std::vector<uint32_t>{1, 2, 2, 1, 1, 2, 2, 1});
    // Equal counts of A and B, and the same mean position in the sequence.
    uint32_t sum_a = 0, sum_b = 0, na = 0, nb = 0;
    for (uint32_t i = 0; i < bench::paired_runs(3); ++i) {
        if (bench::paired_workers(i, 4) == 1) sum_a += i, ++na;
        else sum_b += i, ++nb;
    }
    CHECK(na == nb);
    CHECK(sum_a == sum_b);
    char buf[64];
    CHECK(bench::format_window_label(buf, sizeof buf, "process", 3, 1) == std::strlen("process-3-w1"));
    CHECK(std::string(buf) == "process-3-w1");
    bench::format_window_line(buf, sizeof buf, true, "thread-0-w2");
    CHECK(std::string(buf) == "[bench-window] begin thread-0-w2");
    char small[8];
    CHECK(bench::format_window_line(small, sizeof small, false, "thread-0-w2") == 0);
}

TEST_CASE("chunks tile the range and any claim order gives the same result", "[workloads][chunks]") {
    const uint32_t lo = 2, hi = 300'000, chunks = 97;
    uint32_t covered = 0, prev_hi = lo;
    for (uint32_t c = 0; c < chunks; ++c) {
        const bench::ChunkRange r = bench::chunk_range(lo, hi, chunks, c);
        CHECK(r.lo == prev_hi);
        CHECK(r.hi > r.lo);
        covered += r.hi - r.lo;
        prev_hi = r.hi;
    }
    CHECK(prev_hi == hi);
    CHECK(covered == hi - lo);
    // Two "workers" taking turns from one counter: every chunk exactly once.
    uint32_t next = 0;
    std::vector<int> seen(chunks, 0);
    bench::PrimeResult total{0, 0};
    uint32_t taken = bench::take_chunks(&next, chunks, [&](uint32_t c) {
        ++seen[c];
        const bench::ChunkRange r = bench::chunk_range(lo, hi, chunks, c);
        total = bench::prime_combine(total, bench::prime_count_range(r.lo, r.hi));
    });
    CHECK(taken == chunks);
    CHECK(bench::take_chunks(&next, chunks, [&](uint32_t) { FAIL("no chunk may be left"); }) == 0);
    for (int v : seen) CHECK(v == 1);
    CHECK(bench::prime_result_equal(total, bench::prime_count_range(lo, hi)));
    // A doubled chunk is detected.
    const bench::ChunkRange r0 = bench::chunk_range(lo, hi, chunks, 0);
    CHECK_FALSE(bench::prime_result_equal(bench::prime_combine(total, bench::prime_count_range(r0.lo, r0.hi)),
                                          bench::prime_count_range(lo, hi)));
}
