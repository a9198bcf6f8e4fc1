// shootdown_test.cpp: host tests of TLB shootdown batching, masks and the request board.
#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "mm/shootdown.h"

using kern::CpuMask;
using kern::kShootdownMaxPages;
using kern::ShootdownBatch;
using kern::ShootdownBoard;
using kern::ShootdownRequest;
using kern::TlbCpuMask;

TEST_CASE("batch collects distinct pages and degrades to a full flush", "[shootdown]") {
    ShootdownBatch b;
    REQUIRE(b.empty());
    b.add_page(0x1234);
    b.add_page(0x1fff);  // same page
    b.add_page(0x2000);
    REQUIRE(b.count() == 2);
    REQUIRE(b.page(0) == 0x1000);
    REQUIRE(b.page(1) == 0x2000);
    REQUIRE_FALSE(b.full());
    for (uint64_t i = 0; i < kShootdownMaxPages - 2; ++i) b.add_page(0x100000 + i * 4096);
    REQUIRE(b.count() == kShootdownMaxPages);
    REQUIRE_FALSE(b.full());
    b.add_page(0x100000);  // duplicate: still fits
    REQUIRE_FALSE(b.full());
    b.add_page(0x900000);  // one too many
    REQUIRE(b.full());
    REQUIRE_FALSE(b.empty());
    b.clear();
    REQUIRE(b.empty());
    b.add_range(0x400000, 3);
    REQUIRE(b.count() == 3);
    REQUIRE(b.page(2) == 0x402000);
    b.add_range(0, kShootdownMaxPages + 1);
    REQUIRE(b.full());
}

TEST_CASE("tlb cpu mask sets on load and clears lazily", "[shootdown]") {
    TlbCpuMask m;
    REQUIRE(m.snapshot().empty());
    m.note_loaded(0);
    m.note_loaded(5);
    m.note_loaded(5);
    REQUIRE(m.snapshot().bits == ((1ull << 0) | (1ull << 5)));
    m.note_dropped(0);
    REQUIRE(m.has(5));
    REQUIRE_FALSE(m.has(0));
    m.note_dropped(7);  // not in the mask: no change
    REQUIRE(m.snapshot().count() == 1);
}

TEST_CASE("board: targets acknowledge by generation", "[shootdown]") {
    auto board = std::make_unique<ShootdownBoard>();
    ShootdownRequest req;
    req.root = 0xabc000;
    req.pcid = 7;
    req.batch.add_page(0x5000);
    CpuMask targets;
    targets.set(0);  // self: never a target
    targets.set(1);
    targets.set(3);
    uint64_t g1 = board->post(0, req, targets);
    REQUIRE(g1 == 1);
    REQUIRE(board->generation(0) == 1);
    REQUIRE(board->pending(1).has(0));
    REQUIRE(board->pending(3).has(0));
    REQUIRE(board->pending(0).empty());
    REQUIRE(board->unacked(0, g1, targets).bits == ((1ull << 1) | (1ull << 3)));

    std::vector<uint64_t> seen_roots;
    auto handle = [&](const ShootdownRequest& r) {
        seen_roots.push_back(r.root);
        REQUIRE(r.pcid == 7);
        REQUIRE(r.batch.count() == 1);
        REQUIRE(r.batch.page(0) == 0x5000);
    };
    REQUIRE(board->service(1, handle) == 1);
    REQUIRE(board->service(1, handle) == 0);  // inbox drained
    REQUIRE(board->unacked(0, g1, targets).bits == (1ull << 3));
    REQUIRE_FALSE(board->done(0, g1, targets));
    REQUIRE(board->service(3, handle) == 1);
    REQUIRE(board->done(0, g1, targets));
    REQUIRE(seen_roots == std::vector<uint64_t>{0xabc000, 0xabc000});

    // A second request is not completed by the first one's acknowledgements.
    req.root = 0xdef000;
    uint64_t g2 = board->post(0, req, targets);
    REQUIRE(g2 == 2);
    REQUIRE(board->acked(0, 1) == 1);
    REQUIRE_FALSE(board->done(0, g2, targets));
    REQUIRE(board->service(3, handle) == 1);
    REQUIRE(board->unacked(0, g2, targets).bits == (1ull << 1));
    REQUIRE(board->service(1, handle) == 1);
    REQUIRE(board->done(0, g2, targets));
    REQUIRE(board->acked(0, 1) == 2);
}

TEST_CASE("board: a CPU serves requests from several initiators at once", "[shootdown]") {
    auto board = std::make_unique<ShootdownBoard>();
    ShootdownRequest a, b;
    a.root = 0x1000;
    b.root = 0x2000;
    uint64_t ga = board->post(1, a, CpuMask::only(0));
    uint64_t gb = board->post(2, b, CpuMask::only(0));
    std::vector<uint64_t> roots;
    REQUIRE(board->service(0, [&](const ShootdownRequest& r) { roots.push_back(r.root); }) == 2);
    REQUIRE(roots == std::vector<uint64_t>{0x1000, 0x2000});
    REQUIRE(board->done(1, ga, CpuMask::only(0)));
    REQUIRE(board->done(2, gb, CpuMask::only(0)));
}

TEST_CASE("board: CPUs shooting each other down at once both finish", "[shootdown]") {
    // Each host thread plays a CPU with "interrupts off": it only sees
    // requests by polling its own inbox from wait(). Without that servicing
    // the two would wait for each other forever.
    constexpr unsigned kCpus = 4;
    constexpr int kRounds = 2000;
    auto board = std::make_unique<ShootdownBoard>();
    std::atomic<uint64_t> handled[kCpus] = {};
    std::atomic<bool> go{false};
    std::atomic<int> errors{0};  // Catch2 assertions are not thread-safe: count here
    std::vector<std::thread> threads;
    for (unsigned c = 0; c < kCpus; ++c) {
        threads.emplace_back([&, c] {
            while (!go.load()) std::this_thread::yield();
            CpuMask all;
            for (unsigned t = 0; t < kCpus; ++t) all.set(t);
            auto handle = [&](const ShootdownRequest& r) {
                if (r.root >= kCpus) errors.fetch_add(1);  // root carries the initiator id here
                handled[c].fetch_add(1);
            };
            for (int i = 0; i < kRounds; ++i) {
                ShootdownRequest req;
                req.root = c;
                req.batch.add_page(static_cast<uint64_t>(i) * 4096);
                uint64_t g = board->post(c, req, all);
                board->wait(c, g, all, handle, [] { std::this_thread::yield(); });
                if (!board->done(c, g, all)) errors.fetch_add(1);
            }
            // Keep serving the others until everyone is done.
            auto start = std::chrono::steady_clock::now();
            while (std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
                board->service(c, handle);
                bool all_done = true;
                for (unsigned o = 0; o < kCpus; ++o) {
                    if (!board->done(o, kRounds, all)) all_done = false;
                }
                if (all_done) break;
                std::this_thread::yield();
            }
        });
    }
    go = true;
    for (auto& t : threads) t.join();
    REQUIRE(errors.load() == 0);
    CpuMask all;
    for (unsigned t = 0; t < kCpus; ++t) all.set(t);
    uint64_t total = 0;
    for (unsigned c = 0; c < kCpus; ++c) {
        REQUIRE(board->generation(c) == kRounds);
        REQUIRE(board->done(c, kRounds, all));
        total += handled[c].load();
    }
    // Every request reached every other CPU exactly once.
    REQUIRE(total == uint64_t{kCpus} * (kCpus - 1) * kRounds);
}
