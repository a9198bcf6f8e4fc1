// heap_test.cpp - kernel heap: classes, alignment, bad frees, churn without overlap.
#include <catch2/catch_test_macros.hpp>

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <random>
#include <vector>

#include "mm/heap.h"

using kern::Error;
using kern::Heap;

namespace {

// Host backend: aligned_alloc with bookkeeping, and an optional budget to
// simulate the kernel running out of frames.
struct FakeBackend {
    std::map<uintptr_t, size_t> live;  // base -> bytes
    size_t mapped = 0;
    size_t budget = SIZE_MAX;
    size_t map_calls = 0;
    bool bad_unmap = false;

    static void* map(void* ctx, size_t bytes, size_t align) {
        auto* self = static_cast<FakeBackend*>(ctx);
        ++self->map_calls;
        if (bytes % 4096 != 0 || align < 4096 || (align & (align - 1)) != 0) return nullptr;
        if (self->mapped + bytes > self->budget) return nullptr;
        void* p = nullptr;
        if (posix_memalign(&p, align, bytes) != 0) return nullptr;
        std::memset(p, 0xa5, bytes);  // the heap must not rely on zeroed memory
        self->live[reinterpret_cast<uintptr_t>(p)] = bytes;
        self->mapped += bytes;
        return p;
    }
    static void unmap(void* ctx, void* p, size_t bytes) {
        auto* self = static_cast<FakeBackend*>(ctx);
        auto it = self->live.find(reinterpret_cast<uintptr_t>(p));
        if (it == self->live.end() || it->second != bytes) {
            self->bad_unmap = true;
            return;
        }
        self->live.erase(it);
        self->mapped -= bytes;
        std::free(p);
    }
    kern::HeapBackend backend() { return {&FakeBackend::map, &FakeBackend::unmap, this}; }
    ~FakeBackend() {
        for (auto& [base, bytes] : live) std::free(reinterpret_cast<void*>(base));
    }
};

struct Fixture {
    FakeBackend fb;
    Heap heap;
    Fixture() { REQUIRE(heap.init(fb.backend()).ok()); }
};

uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

}  // namespace

TEST_CASE("heap: size classes, alignment and usable size", "[heap]") {
    Fixture f;
    struct Case {
        size_t size, align, want_usable, want_align;
    };
    const Case cases[] = {
        {0, 0, 16, 16},          {1, 0, 16, 16},        {16, 0, 16, 16},         {17, 0, 32, 32},
        {100, 0, 128, 128},      {2048, 0, 2048, 2048}, {2049, 0, 4096, 4096},   {10000, 0, 12288, 4096},
        {8, 64, 64, 64},         {24, 8, 32, 32},       {100, 4096, 4096, 4096}, {5000, 16384, 8192, 16384},
        {300, 1024, 1024, 1024}, {0, 4096, 4096, 4096},
    };
    for (const Case& c : cases) {
        INFO("size=" << c.size << " align=" << c.align);
        auto r = f.heap.alloc(c.size, c.align);
        REQUIRE(r.ok());
        CHECK(addr(r.value()) % c.want_align == 0);
        auto us = f.heap.usable_size(r.value());
        REQUIRE(us.ok());
        CHECK(us.value() == c.want_usable);
        std::memset(r.value(), 0x5a, us.value());  // ASan: the whole usable size is ours
    }
    CHECK(f.heap.stats().allocations == std::size(cases));
    REQUIRE(f.heap.check().ok());
    CHECK(f.heap.alloc(16, 3).error() == Error::invalid_argument);
    CHECK(f.heap.alloc(SIZE_MAX, 16).error() == Error::overflow);
}

TEST_CASE("heap: statistics follow allocations", "[heap]") {
    Fixture f;
    auto a = f.heap.alloc(40);    // 64
    auto b = f.heap.alloc(500);   // 512
    auto c = f.heap.alloc(9000);  // 12288, large
    REQUIRE((a.ok() && b.ok() && c.ok()));
    kern::HeapStats s = f.heap.stats();
    CHECK(s.allocations == 3);
    CHECK(s.bytes_in_use == 64 + 512 + 12288);
    CHECK(s.large_blocks == 1);
    CHECK(s.chunks == 2);
    CHECK(s.bytes_mapped == f.fb.mapped);
    REQUIRE(f.heap.free(b.value()).ok());
    REQUIRE(f.heap.free(c.value()).ok());
    s = f.heap.stats();
    CHECK(s.allocations == 1);
    CHECK(s.bytes_in_use == 64);
    CHECK(s.large_blocks == 0);
    CHECK(s.bytes_mapped == f.fb.mapped);
    CHECK(s.alloc_calls == 3);
    CHECK(s.free_calls == 2);
    REQUIRE(f.heap.check().ok());
}

TEST_CASE("heap: bad frees are detected and change nothing", "[heap]") {
    Fixture f;
    auto small = f.heap.alloc(32);
    auto large = f.heap.alloc(3 * 4096);
    REQUIRE((small.ok() && large.ok()));
    uint8_t* sp = static_cast<uint8_t*>(small.value());
    uint8_t* lp = static_cast<uint8_t*>(large.value());
    const kern::HeapStats before = f.heap.stats();

    int on_stack = 0;
    CHECK(f.heap.free(nullptr).error() == Error::invalid_argument);
    CHECK(f.heap.free(&on_stack).error() == Error::not_owned);
    CHECK(f.heap.free(sp + 1).error() == Error::not_owned);     // interior
    CHECK(f.heap.free(sp + 16).error() == Error::not_owned);    // half a 32-byte block
    CHECK(f.heap.free(sp + 32).error() == Error::double_free);  // neighbour, never handed out
    CHECK(f.heap.free(lp + 4096).error() == Error::not_owned);  // inside a large block
    // The chunk header address is never a block.
    void* chunk_base = reinterpret_cast<void*>(addr(sp) & ~(Heap::kChunkSize - 1));
    CHECK(f.heap.free(chunk_base).error() == Error::not_owned);
    CHECK(f.heap.usable_size(&on_stack).error() == Error::not_owned);
    const kern::HeapStats mid = f.heap.stats();
    CHECK(mid.allocations == before.allocations);
    CHECK(mid.bytes_in_use == before.bytes_in_use);
    CHECK(mid.rejected_frees == 7);
    REQUIRE(f.heap.check().ok());

    REQUIRE(f.heap.free(sp).ok());
    CHECK(f.heap.free(sp).error() == Error::double_free);
    REQUIRE(f.heap.free(lp).ok());
    CHECK_FALSE(f.heap.free(lp).ok());  // the large block is gone from the table
    CHECK(f.heap.stats().allocations == 0);
    REQUIRE(f.heap.check().ok());
    CHECK_FALSE(f.fb.bad_unmap);
}

TEST_CASE("heap: out of memory is an error and the heap recovers", "[heap]") {
    Fixture f;
    f.fb.budget = 3 * Heap::kChunkSize;  // table page + two chunks
    std::vector<void*> got;
    Error last = Error::none;
    for (int i = 0; i < 100; ++i) {
        auto r = f.heap.alloc(2048);
        if (!r.ok()) {
            last = r.error();
            break;
        }
        got.push_back(r.value());
    }
    CHECK(last == Error::out_of_memory);
    CHECK(got.size() == 62);  // two chunks of 31 blocks (the header takes the first)
    CHECK(f.heap.alloc(64 * 1024).error() == Error::out_of_memory);
    CHECK(f.heap.stats().failed_allocs == 2);
    REQUIRE(f.heap.check().ok());
    for (void* p : got) REQUIRE(f.heap.free(p).ok());
    // Emptied chunks beyond one per class went back to the backend.
    CHECK(f.heap.stats().chunks == 1);
    CHECK(f.heap.stats().bytes_mapped == f.fb.mapped);
    auto again = f.heap.alloc(2048);
    REQUIRE(again.ok());
    REQUIRE(f.heap.free(again.value()).ok());
}

TEST_CASE("heap: uninitialised heap and init errors", "[heap]") {
    Heap h;
    CHECK(h.alloc(16).error() == Error::invalid_argument);
    CHECK(h.free(&h).error() == Error::not_owned);
    CHECK(h.init({nullptr, nullptr, nullptr}).error() == Error::invalid_argument);
    FakeBackend fb;
    REQUIRE(h.init(fb.backend()).ok());
    CHECK(h.init(fb.backend()).error() == Error::exists);
}

TEST_CASE("heap: random churn never overlaps and stays consistent", "[heap]") {
    Fixture f;
    std::mt19937_64 rng(12345);
    struct Live {
        size_t size;
        uint8_t tag;
    };
    std::map<uintptr_t, Live> live;
    auto overlaps = [&](uintptr_t p, size_t n) {
        auto it = live.upper_bound(p);
        if (it != live.end() && it->first < p + n) return true;
        if (it != live.begin()) {
            --it;
            if (it->first + it->second.size > p) return true;
        }
        return false;
    };
    size_t max_live = 0;
    for (int step = 0; step < 60000; ++step) {
        const bool do_alloc = live.empty() || (rng() % 100) < (live.size() < 3000 ? 55 : 40);
        if (do_alloc) {
            size_t size;
            const unsigned pick = static_cast<unsigned>(rng() % 100);
            if (pick < 70) size = rng() % 128;
            else if (pick < 95) size = rng() % 2100;
            else size = rng() % 20000;
            const size_t align = (rng() % 8 == 0) ? (size_t{1} << (rng() % 14)) : 0;
            auto r = f.heap.alloc(size, align);
            REQUIRE(r.ok());
            const uintptr_t p = addr(r.value());
            REQUIRE(p % (align == 0 ? 16 : align) == 0);
            const size_t n = size == 0 ? 1 : size;
            REQUIRE_FALSE(overlaps(p, n));
            const uint8_t tag = static_cast<uint8_t>(rng());
            std::memset(r.value(), tag, n);
            live[p] = {n, tag};
            if (live.size() > max_live) max_live = live.size();
        } else {
            auto it = live.begin();
            std::advance(it, static_cast<long>(rng() % live.size()));
            // The contents survived every other allocation and free.
            const uint8_t* b = reinterpret_cast<const uint8_t*>(it->first);
            for (size_t i = 0; i < it->second.size; i += 7) REQUIRE(b[i] == it->second.tag);
            REQUIRE(f.heap.free(reinterpret_cast<void*>(it->first)).ok());
            live.erase(it);
        }
        if (step % 5000 == 0) REQUIRE(f.heap.check().ok());
    }
    REQUIRE(f.heap.check().ok());
    CHECK(f.heap.stats().allocations == live.size());
    for (auto& [p, l] : live) REQUIRE(f.heap.free(reinterpret_cast<void*>(p)).ok());
    const kern::HeapStats s = f.heap.stats();
    CHECK(s.allocations == 0);
    CHECK(s.bytes_in_use == 0);
    CHECK(s.large_blocks == 0);
    CHECK(s.chunks <= Heap::kClasses);
    CHECK(s.bytes_mapped == f.fb.mapped);
    CHECK(max_live > 1000);
    CHECK_FALSE(f.fb.bad_unmap);
    REQUIRE(f.heap.check().ok());
}
