// heap_test.cpp - the user heap over a host arena: classes, alignment, reuse, large runs, realloc, exhaustion, threads.
#include <catch2/catch_test_macros.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "libcap/heap.h"

using cap::Heap;

namespace {

struct TestHeap {
    explicit TestHeap(size_t bytes)
        : mem(static_cast<unsigned char*>(std::aligned_alloc(4096, bytes))), arena(mem, bytes) {
        heap.set_backing(arena.backing());
    }
    ~TestHeap() { std::free(mem); }
    unsigned char* mem;
    cap::ArenaBacking arena;
    Heap heap;
};

}  // namespace

TEST_CASE("size classes cover 1..kMaxSmall with 16-byte multiples", "[libcap][heap]") {
    CHECK(Heap::class_of(1) == 0);
    CHECK(Heap::class_of(16) == 0);
    CHECK(Heap::class_of(17) == 1);
    CHECK(Heap::class_of(Heap::kMaxSmall) == Heap::kClassCount - 1);
    CHECK(Heap::class_of(Heap::kMaxSmall + 1) == Heap::kClassCount);
    for (size_t s = 1; s <= Heap::kMaxSmall; ++s) {
        const uint32_t c = Heap::class_of(s);
        REQUIRE(c < Heap::kClassCount);
        REQUIRE(Heap::class_size(c) >= s);
        REQUIRE(Heap::class_size(c) % 16 == 0);
        if (c > 0) REQUIRE(Heap::class_size(c - 1) < s);  // the smallest class that fits
    }
}

TEST_CASE("blocks are aligned, disjoint and keep their contents", "[libcap][heap]") {
    TestHeap t(64 << 20);
    std::mt19937 rng(1234);
    struct Live {
        unsigned char* p;
        size_t n;
        unsigned char fill;
    };
    std::vector<Live> live;
    for (int round = 0; round < 20000; ++round) {
        if (live.empty() || rng() % 3 != 0) {
            size_t n = 1 + rng() % (rng() % 8 == 0 ? 20000 : 300);
            auto* p = static_cast<unsigned char*>(t.heap.alloc(n));
            REQUIRE(p != nullptr);
            REQUIRE(reinterpret_cast<uintptr_t>(p) % 16 == 0);
            REQUIRE(t.heap.usable_size(p) >= n);
            unsigned char fill = static_cast<unsigned char>(rng());
            std::memset(p, fill, n);
            live.push_back({p, n, fill});
        } else {
            size_t i = rng() % live.size();
            Live l = live[i];
            for (size_t k = 0; k < l.n; ++k) REQUIRE(l.p[k] == l.fill);  // nobody wrote over it
            t.heap.free(l.p);
            live[i] = live.back();
            live.pop_back();
        }
    }
    // Disjointness of everything still live.
    std::map<uintptr_t, size_t> ranges;
    for (auto& l : live) ranges[reinterpret_cast<uintptr_t>(l.p)] = l.n;
    uintptr_t prev_end = 0;
    for (auto& [a, n] : ranges) {
        REQUIRE(a >= prev_end);
        prev_end = a + n;
    }
    auto s = t.heap.stats();
    CHECK(s.live_blocks == live.size());
    for (auto& l : live) t.heap.free(l.p);
    CHECK(t.heap.stats().live_blocks == 0);
    CHECK(t.heap.stats().live_bytes == 0);
}

TEST_CASE("freed blocks are reused, so steady churn does not grow the heap", "[libcap][heap]") {
    TestHeap t(4 << 20);
    for (int i = 0; i < 100; ++i) t.heap.free(t.heap.alloc(100));
    const size_t after_small = t.heap.stats().backing_bytes;
    for (int i = 0; i < 10000; ++i) t.heap.free(t.heap.alloc(100));
    CHECK(t.heap.stats().backing_bytes == after_small);
    // Large runs too: first fit on the run list.
    void* big = t.heap.alloc(100000);
    REQUIRE(big != nullptr);
    t.heap.free(big);
    const size_t after_big = t.heap.stats().backing_bytes;
    for (int i = 0; i < 100; ++i) {
        void* p = t.heap.alloc(50000);  // smaller: fits in (and splits) the freed run
        REQUIRE(p != nullptr);
        t.heap.free(p);
    }
    CHECK(t.heap.stats().backing_bytes == after_big);
}

TEST_CASE("aligned allocation up to a page", "[libcap][heap]") {
    TestHeap t(4 << 20);
    for (size_t align = 1; align <= 4096; align <<= 1) {
        for (size_t n : {1ul, 24ul, 3000ul, 9000ul}) {
            void* p = t.heap.alloc_aligned(align, n);
            REQUIRE(p != nullptr);
            CHECK(reinterpret_cast<uintptr_t>(p) % align == 0);
            CHECK(t.heap.usable_size(p) >= n);
            std::memset(p, 0xab, n);
            t.heap.free(p);
        }
    }
    CHECK(t.heap.alloc_aligned(8192, 16) == nullptr);
    CHECK(t.heap.alloc_aligned(48, 16) == nullptr);  // not a power of two
    CHECK(t.heap.stats().live_blocks == 0);
}

TEST_CASE("realloc, calloc and size 0", "[libcap][heap]") {
    TestHeap t(4 << 20);
    CHECK(t.heap.alloc(0) == nullptr);
    t.heap.free(nullptr);
    auto* p = static_cast<unsigned char*>(t.heap.alloc(10));
    for (int i = 0; i < 10; ++i) p[i] = static_cast<unsigned char>(i);
    auto* q = static_cast<unsigned char*>(t.heap.realloc(p, 5000));
    REQUIRE(q != nullptr);
    for (int i = 0; i < 10; ++i) CHECK(q[i] == i);
    CHECK(t.heap.realloc(q, 10) == q);  // shrinking stays in place
    CHECK(t.heap.realloc(q, 0) == nullptr);
    auto* z = static_cast<unsigned char*>(t.heap.alloc_zeroed(100, 7));
    REQUIRE(z != nullptr);
    for (int i = 0; i < 700; ++i) REQUIRE(z[i] == 0);
    t.heap.free(z);
    CHECK(t.heap.alloc_zeroed(SIZE_MAX / 2, 4) == nullptr);  // count * size overflows
    CHECK(t.heap.stats().live_blocks == 0);
}

TEST_CASE("exhaustion returns null and is counted", "[libcap][heap]") {
    TestHeap t(256 * 1024);
    std::vector<void*> v;
    for (;;) {
        void* p = t.heap.alloc(1000);
        if (p == nullptr) break;
        v.push_back(p);
        REQUIRE(v.size() < 100000);
    }
    CHECK(v.size() > 100);
    CHECK(t.heap.stats().failed == 1);
    CHECK(t.heap.alloc(1 << 20) == nullptr);
    // Freed memory is usable again.
    t.heap.free(v.back());
    v.pop_back();
    CHECK(t.heap.alloc(1000) != nullptr);
}

TEST_CASE("a heap without backing fails cleanly", "[libcap][heap]") {
    Heap h;
    CHECK(h.alloc(16) == nullptr);
    CHECK(h.alloc(100000) == nullptr);
}

TEST_CASE("concurrent alloc/free from four threads", "[libcap][heap]") {
    TestHeap t(32 << 20);
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    for (int id = 0; id < 4; ++id) {
        threads.emplace_back([&, id] {
            std::mt19937 rng(static_cast<unsigned>(id));
            std::vector<std::pair<unsigned char*, size_t>> mine;
            for (int i = 0; i < 20000; ++i) {
                if (mine.size() < 64 && rng() % 2 == 0) {
                    size_t n = 1 + rng() % 3000;
                    auto* p = static_cast<unsigned char*>(t.heap.alloc(n));
                    if (p == nullptr) {
                        errors++;
                        continue;
                    }
                    std::memset(p, id + 1, n);
                    mine.push_back({p, n});
                } else if (!mine.empty()) {
                    auto [p, n] = mine.back();
                    mine.pop_back();
                    for (size_t k = 0; k < n; ++k)
                        if (p[k] != id + 1) {
                            errors++;
                            break;
                        }
                    t.heap.free(p);
                }
            }
            for (auto [p, n] : mine) t.heap.free(p);
        });
    }
    for (auto& th : threads) th.join();
    CHECK(errors == 0);
    CHECK(t.heap.stats().live_blocks == 0);
}
