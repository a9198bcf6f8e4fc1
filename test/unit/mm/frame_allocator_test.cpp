// frame_allocator_test.cpp - physical frame allocator: reservations, exhaustion, errors.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "mm/frame_allocator.h"

using kern::Error;
using kern::FrameAllocator;
using kern::kFrameSize;
using kern::PhysRange;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kGiB = 1024 * kMiB;

struct Fixture {
    std::vector<uint64_t> storage;
    FrameAllocator fa;

    kern::Result<void> init(const std::vector<PhysRange>& usable, const std::vector<PhysRange>& reserved) {
        storage.assign(FrameAllocator::storage_words(FrameAllocator::usable_end(usable.data(), usable.size())),
                       0xdeadbeefdeadbeefull);  // init must not trust the storage contents
        return fa.init(storage.data(), storage.size(), usable.data(), usable.size(), reserved.data(), reserved.size());
    }
};

bool inside(uint64_t pa, const PhysRange& r) { return pa + kFrameSize > r.base && pa < r.base + r.length; }

}  // namespace

TEST_CASE("frame allocator: counts exclude reserved ranges and partial frames", "[frame]") {
    Fixture f;
    // 0..640K and 1M..9M usable, with a partial frame at each edge of the second range.
    const std::vector<PhysRange> usable = {{0, 640 * 1024}, {kMiB + 100, 8 * kMiB - 200}};
    const std::vector<PhysRange> reserved = {
        {0, kMiB},             // low 1 MiB
        {2 * kMiB, 2 * kMiB},  // kernel image
        {5 * kMiB + 10, 20},   // multiboot info inside one frame: whole frame reserved
    };
    REQUIRE(f.init(usable, reserved).ok());
    // Second range whole frames: [1M+4K, 9M-4K) -> 2048 - 2 frames; minus 512 kernel, minus 1.
    CHECK(f.fa.total_count() == 2048 - 2 - 512 - 1);
    CHECK(f.fa.free_count() == f.fa.total_count());
    CHECK(f.fa.ignored_count() == 0);
    CHECK_FALSE(f.fa.is_usable(0));
    CHECK_FALSE(f.fa.is_usable(kMiB));
    CHECK(f.fa.is_usable(kMiB + kFrameSize));
    CHECK_FALSE(f.fa.is_usable(5 * kMiB));
    CHECK(f.fa.is_usable(5 * kMiB + kFrameSize));
}

TEST_CASE("frame allocator: never hands out a reserved frame, exhausts cleanly", "[frame]") {
    Fixture f;
    const std::vector<PhysRange> usable = {{0, 0x9f000}, {kMiB, 31 * kMiB}, {64 * kMiB, 4 * kMiB}};
    const std::vector<PhysRange> reserved = {
        {0, kMiB}, {kMiB, 3 * kMiB}, {10 * kMiB + 0x800, 0x3000}, {12 * kMiB, 64 * 1024}, {65 * kMiB, kMiB}};
    REQUIRE(f.init(usable, reserved).ok());
    const size_t total = f.fa.total_count();
    std::set<uint64_t> got;
    for (;;) {
        auto r = f.fa.alloc();
        if (!r.ok()) {
            CHECK(r.error() == Error::out_of_memory);
            break;
        }
        const uint64_t pa = r.value();
        REQUIRE(pa % kFrameSize == 0);
        for (const PhysRange& res : reserved) REQUIRE_FALSE(inside(pa, res));
        bool in_usable = false;
        for (const PhysRange& u : usable) in_usable |= pa >= u.base && pa + kFrameSize <= u.base + u.length;
        REQUIRE(in_usable);
        REQUIRE(got.insert(pa).second);  // no frame twice
        REQUIRE(f.fa.is_allocated(pa));
    }
    CHECK(got.size() == total);
    CHECK(f.fa.free_count() == 0);
    CHECK(f.fa.alloc().error() == Error::out_of_memory);
    CHECK(f.fa.alloc_contiguous(1, kFrameSize).error() == Error::out_of_memory);

    // Give everything back, in shuffled order; counts return to the start.
    std::vector<uint64_t> all(got.begin(), got.end());
    std::shuffle(all.begin(), all.end(), std::mt19937(42));
    for (uint64_t pa : all) REQUIRE(f.fa.free(pa).ok());
    CHECK(f.fa.free_count() == total);
    // After freeing, allocation resumes from the lowest free frame.
    auto again = f.fa.alloc();
    REQUIRE(again.ok());
    CHECK(again.value() == *got.begin());
}

TEST_CASE("frame allocator: bad frees are errors and change nothing", "[frame]") {
    Fixture f;
    REQUIRE(f.init({{0, 16 * kMiB}}, {{0, kMiB}, {8 * kMiB, kMiB}}).ok());
    auto a = f.fa.alloc();
    REQUIRE(a.ok());
    const size_t before = f.fa.free_count();
    CHECK(f.fa.free(a.value() + 8).error() == Error::misaligned);
    CHECK(f.fa.free(0).error() == Error::not_owned);                      // low memory, reserved
    CHECK(f.fa.free(8 * kMiB + kFrameSize).error() == Error::not_owned);  // reserved hole
    CHECK(f.fa.free(64 * kMiB).error() == Error::out_of_range);
    CHECK(f.fa.free(a.value() + kFrameSize).error() == Error::double_free);  // never allocated
    CHECK(f.fa.free_count() == before);
    REQUIRE(f.fa.free(a.value()).ok());
    CHECK(f.fa.free(a.value()).error() == Error::double_free);
    CHECK(f.fa.free_count() == before + 1);
}

TEST_CASE("frame allocator: contiguous allocation honours alignment and holes", "[frame]") {
    Fixture f;
    REQUIRE(f.init({{0, 64 * kMiB}}, {{0, kMiB}, {2 * kMiB + 5 * kFrameSize, kFrameSize}}).ok());
    const size_t total = f.fa.total_count();

    SECTION("2 MiB aligned run skips the hole at 2 MiB + 20 KiB") {
        auto r = f.fa.alloc_contiguous(512, 2 * kMiB);
        REQUIRE(r.ok());
        CHECK(r.value() % (2 * kMiB) == 0);
        CHECK(r.value() == 4 * kMiB);
        for (uint64_t pa = r.value(); pa < r.value() + 2 * kMiB; pa += kFrameSize) REQUIRE(f.fa.is_allocated(pa));
        CHECK(f.fa.free_count() == total - 512);
        REQUIRE(f.fa.free_contiguous(r.value(), 512).ok());
        CHECK(f.fa.free_count() == total);
    }
    SECTION("unaligned-size run lands on the first fit") {
        auto r = f.fa.alloc_contiguous(3, kFrameSize);
        REQUIRE(r.ok());
        CHECK(r.value() == kMiB);
        auto s = f.fa.alloc_contiguous(6, 16 * kFrameSize);
        REQUIRE(s.ok());
        CHECK(s.value() % (16 * kFrameSize) == 0);
        CHECK(s.value() == kMiB + 16 * kFrameSize);
        // Single frames fill the gap left below the aligned run first.
        auto one = f.fa.alloc();
        REQUIRE(one.ok());
        CHECK(one.value() == kMiB + 3 * kFrameSize);
    }
    SECTION("run that crosses a reserved frame is refused at that place") {
        // Only the frames 2M..2M+20K are free below 2M+24K after taking [1M, 2M).
        REQUIRE(f.fa.alloc_contiguous(256, kFrameSize).ok());
        auto r = f.fa.alloc_contiguous(8, kFrameSize);
        REQUIRE(r.ok());
        CHECK(r.value() == 2 * kMiB + 6 * kFrameSize);
        auto small = f.fa.alloc_contiguous(5, kFrameSize);
        REQUIRE(small.ok());
        CHECK(small.value() == 2 * kMiB);
    }
    SECTION("invalid arguments") {
        CHECK(f.fa.alloc_contiguous(0, kFrameSize).error() == Error::invalid_argument);
        CHECK(f.fa.alloc_contiguous(1, 2048).error() == Error::invalid_argument);
        CHECK(f.fa.alloc_contiguous(1, 3 * kFrameSize).error() == Error::invalid_argument);
        CHECK(f.fa.alloc_contiguous(total + 1, kFrameSize).error() == Error::out_of_memory);
        CHECK(f.fa.alloc_contiguous(1, 128 * kMiB).error() == Error::out_of_memory);
    }
    SECTION("free_contiguous is all or nothing") {
        auto r = f.fa.alloc_contiguous(4, kFrameSize);
        REQUIRE(r.ok());
        REQUIRE(f.fa.free(r.value() + 2 * kFrameSize).ok());
        const size_t before = f.fa.free_count();
        CHECK(f.fa.free_contiguous(r.value(), 4).error() == Error::double_free);
        CHECK(f.fa.free_count() == before);
        CHECK(f.fa.is_allocated(r.value()));
        CHECK(f.fa.free_contiguous(r.value(), 0).error() == Error::invalid_argument);
        CHECK(f.fa.free_contiguous(r.value() + 1, 1).error() == Error::misaligned);
        CHECK(f.fa.free_contiguous(60 * kMiB, 4 * 1024).error() == Error::out_of_range);
    }
}

TEST_CASE("frame allocator: random churn keeps the free count exact", "[frame]") {
    Fixture f;
    REQUIRE(f.init({{kMiB, 15 * kMiB}, {32 * kMiB, 16 * kMiB}}, {{20 * kMiB, kMiB}, {40 * kMiB, 3 * kMiB}}).ok());
    const size_t total = f.fa.total_count();
    std::mt19937 rng(7);
    std::vector<std::pair<uint64_t, size_t>> held;
    size_t held_frames = 0;
    for (int step = 0; step < 20000; ++step) {
        if (held.empty() || rng() % 3 != 0) {
            const size_t n = rng() % 4 == 0 ? 1 + rng() % 40 : 1;
            const uint64_t align = kFrameSize << (rng() % 5);
            auto r = n == 1 && align == kFrameSize ? f.fa.alloc() : f.fa.alloc_contiguous(n, align);
            if (r.ok()) {
                REQUIRE(r.value() % align == 0);
                held.push_back({r.value(), n});
                held_frames += n;
            } else {
                REQUIRE(r.error() == Error::out_of_memory);
            }
        } else {
            const size_t i = rng() % held.size();
            REQUIRE(f.fa.free_contiguous(held[i].first, held[i].second).ok());
            held_frames -= held[i].second;
            held[i] = held.back();
            held.pop_back();
        }
        REQUIRE(f.fa.free_count() + held_frames == total);
    }
    // No two live allocations overlap and none touches a reserved range.
    std::sort(held.begin(), held.end());
    for (size_t i = 1; i < held.size(); ++i) {
        REQUIRE(held[i - 1].first + held[i - 1].second * kFrameSize <= held[i].first);
    }
    for (const auto& h : held) {
        for (uint64_t pa = h.first; pa < h.first + h.second * kFrameSize; pa += kFrameSize) {
            REQUIRE(f.fa.is_usable(pa));
        }
    }
}

TEST_CASE("frame allocator: 64 GiB fits and storage limits are honoured", "[frame]") {
    SECTION("64 GiB of RAM above the PCI hole") {
        Fixture f;
        const std::vector<PhysRange> usable = {{kMiB, 3 * kGiB - kMiB}, {4 * kGiB, 61 * kGiB}};
        REQUIRE(f.init(usable, {{0, kMiB}}).ok());
        CHECK(f.storage.size() * 8 == 2 * (65 * kGiB / kFrameSize / 8));  // 4 MiB of bitmaps
        CHECK(f.fa.total_count() == (64 * kGiB - kMiB) / kFrameSize);
        CHECK(f.fa.managed_end() == 65 * kGiB);
        auto top = f.fa.alloc_contiguous(1, 64 * kGiB);  // 0 is reserved; 64 GiB qualifies
        REQUIRE(top.ok());
        CHECK(top.value() == 64 * kGiB);
        CHECK(f.fa.alloc_contiguous(1, 64 * kGiB).error() == Error::out_of_memory);
        CHECK(f.fa.alloc_contiguous(1, 128 * kGiB).error() == Error::out_of_memory);
        auto big = f.fa.alloc_contiguous(1, 4 * kGiB);
        REQUIRE(big.ok());
        CHECK(big.value() == 4 * kGiB);
        REQUIRE(f.fa.free(top.value()).ok());
        REQUIRE(f.fa.free(big.value()).ok());
        CHECK(f.fa.free_count() == f.fa.total_count());
    }
    SECTION("memory beyond the storage is ignored and counted") {
        std::vector<uint64_t> storage(2 * 64);  // 64 words per bitmap: 4096 frames = 16 MiB
        FrameAllocator fa;
        const PhysRange usable[] = {{0, 32 * kMiB}};
        REQUIRE(fa.init(storage.data(), storage.size(), usable, 1, nullptr, 0).ok());
        CHECK(fa.total_count() == 4096);
        CHECK(fa.ignored_count() == 4096);
        CHECK(fa.free(20 * kMiB).error() == Error::out_of_range);
    }
    SECTION("argument checks") {
        FrameAllocator fa;
        const PhysRange usable[] = {{0, kMiB}};
        CHECK(fa.init(nullptr, 4, usable, 1, nullptr, 0).error() == Error::invalid_argument);
        std::vector<uint64_t> storage(4);
        CHECK(fa.init(storage.data(), 4, nullptr, 1, nullptr, 0).error() == Error::invalid_argument);
        REQUIRE(fa.init(storage.data(), 4, usable, 1, nullptr, 0).ok());
        CHECK(fa.init(storage.data(), 4, usable, 1, nullptr, 0).error() == Error::exists);
    }
}

TEST_CASE("frame allocator: place_storage finds a hole outside reservations", "[frame]") {
    const PhysRange usable[] = {{0, 0x9f000}, {kMiB, 63 * kMiB}};
    const PhysRange reserved[] = {{0, kMiB}, {kMiB, 2 * kMiB + 5}, {4 * kMiB, kMiB}};
    auto r = FrameAllocator::place_storage(usable, 2, reserved, 3, kMiB + 1);
    REQUIRE(r.ok());
    // [3M+4K, 3M+4K+1M+4K) would hit the reservation at 4M, so the hole after it wins.
    CHECK(r.value() == 5 * kMiB);
    auto small = FrameAllocator::place_storage(usable, 2, reserved, 3, 8192);
    REQUIRE(small.ok());
    CHECK(small.value() == 3 * kMiB + kFrameSize);
    CHECK(FrameAllocator::place_storage(usable, 2, reserved, 3, 64 * kMiB).error() == Error::out_of_memory);
    CHECK(FrameAllocator::place_storage(usable, 2, reserved, 3, 0).error() == Error::invalid_argument);
}

TEST_CASE("frame allocator: rebase_storage keeps the state", "[frame]") {
    Fixture f;
    REQUIRE(f.init({{kMiB, 8 * kMiB}}, {}).ok());
    auto a = f.fa.alloc();
    REQUIRE(a.ok());
    // The same bits seen through another mapping: here, a copy of the storage.
    std::vector<uint64_t> moved = f.storage;
    f.storage.assign(f.storage.size(), 0);
    f.fa.rebase_storage(moved.data());
    CHECK(f.fa.is_allocated(a.value()));
    auto b = f.fa.alloc();
    REQUIRE(b.ok());
    CHECK(b.value() == a.value() + kFrameSize);
    REQUIRE(f.fa.free(a.value()).ok());
    CHECK(f.fa.free(a.value()).error() == Error::double_free);
}
