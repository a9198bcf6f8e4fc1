// ring_test.cpp - kernel ring: index arithmetic, wraparound, hostile indices, overflow, back-pressure.
#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "capos/abi/layout.h"
#include "capos/abi/ring.h"
#include "capos/abi/syscall.h"
#include "ipc/ring.h"

using namespace kern;
namespace abi = capos::abi;

namespace {

// Shared memory plus a minimal user-side producer/consumer written only
// against the ABI header, as libcap would.
struct Harness {
    Harness(uint32_t sq, uint32_t cq, uint32_t overflow_cap, uint32_t first = 0)
        : size(abi::ring_size(sq, cq)), overflow(overflow_cap ? overflow_cap : 1) {
        mem = static_cast<unsigned char*>(std::aligned_alloc(4096, size));
        std::memset(mem, 0xa5, size);  // the kernel must not rely on zeroed memory
        auto r = ring.init(mem, size, sq, cq, overflow.data(), overflow_cap, first);
        REQUIRE(r.ok());
    }
    ~Harness() { std::free(mem); }

    abi::RingHeader* hdr() { return reinterpret_cast<abi::RingHeader*>(mem); }
    abi::Sqe* sqes() { return reinterpret_cast<abi::Sqe*>(mem + hdr()->sq_offset); }
    abi::Cqe* cqes() { return reinterpret_cast<abi::Cqe*>(mem + hdr()->cq_offset); }

    // User side: returns false if the SQ is full.
    bool submit(uint64_t tag) {
        uint32_t tail = hdr()->sq_tail;
        uint32_t head = __atomic_load_n(&hdr()->sq_head, __ATOMIC_ACQUIRE);
        if (tail - head == hdr()->sq_entries) return false;
        abi::Sqe& e = sqes()[tail & hdr()->sq_mask];
        e = abi::Sqe{};
        e.user_tag = tag;
        e.interface_id = abi::kInterfaceKernelRing;
        e.method = abi::kMethodNop;
        __atomic_store_n(&hdr()->sq_tail, tail + 1, __ATOMIC_RELEASE);
        return true;
    }
    // User side: pops one completion if present.
    bool reap(abi::Cqe* out) {
        uint32_t head = hdr()->cq_head;
        uint32_t tail = __atomic_load_n(&hdr()->cq_tail, __ATOMIC_ACQUIRE);
        if (head == tail) return false;
        *out = cqes()[head & hdr()->cq_mask];
        __atomic_store_n(&hdr()->cq_head, head + 1, __ATOMIC_RELEASE);
        return true;
    }
    // Kernel side: consume everything possible and complete each at once (NOP).
    uint32_t enter() {
        ring.flush_overflow();
        abi::Sqe batch[8];
        uint32_t total = 0;
        for (;;) {
            auto r = ring.consume(batch, 8);
            REQUIRE(r.ok());
            for (uint32_t i = 0; i < r.value(); i++) post(batch[i].user_tag);
            total += r.value();
            if (r.value() < 8) return total;
        }
    }
    void post(uint64_t tag, int32_t status = 0) {
        abi::Cqe c{};
        c.user_tag = tag;
        c.status = status;
        ring.post(c);
    }

    size_t size;
    unsigned char* mem;
    std::vector<abi::Cqe> overflow;
    KernelRing ring;
};

}  // namespace

TEST_CASE("ABI layout is fixed", "[ring][abi]") {
    CHECK(sizeof(abi::Sqe) == 64);
    CHECK(sizeof(abi::Cqe) == 32);
    CHECK(abi::ring_sq_offset() == 4096);
    CHECK(abi::ring_cq_offset(64) == 8192);
    CHECK(abi::ring_cq_offset(65) == 12288);
    CHECK(abi::ring_size(64, 128) == 12288);
    CHECK(abi::make_handle(7, 3) == ((uint64_t{3} << 32) | 7));
    CHECK(abi::handle_slot(abi::make_handle(7, 3)) == 7);
    CHECK(abi::handle_generation(abi::make_handle(7, 3)) == 3);
    CHECK(abi::user_ring_addr(1) - abi::user_ring_addr(0) == abi::kUserRingStride);
    CHECK(abi::user_range_ok(abi::kUserImageBase, 4096));
    CHECK(!abi::user_range_ok(abi::kUserEnd - 4096, 8192));
    CHECK(!abi::user_range_ok(~uint64_t{0} - 10, 100));
    CHECK(static_cast<int32_t>(abi::Status::ok) == 0);
    CHECK(abi::is_error(abi::Status::stale_slot));
    CHECK(std::strcmp(abi::status_name(abi::Status::overflow), "overflow") == 0);
}

TEST_CASE("init validates geometry and publishes it", "[ring]") {
    KernelRing r;
    std::vector<abi::Cqe> ov(4);
    void* mem = std::aligned_alloc(4096, abi::ring_size(16, 32));
    CHECK(r.init(mem, abi::ring_size(16, 32), 12, 32, ov.data(), 4).error() == Error::invalid_argument);
    CHECK(r.init(mem, abi::ring_size(16, 32), 16, 0, ov.data(), 4).error() == Error::invalid_argument);
    CHECK(r.init(mem, abi::ring_size(16, 32), 8192, 32, ov.data(), 4).error() == Error::invalid_argument);
    CHECK(r.init(mem, abi::ring_size(16, 32) - 1, 16, 32, ov.data(), 4).error() == Error::truncated);
    CHECK(r.init(static_cast<char*>(mem) + 8, abi::ring_size(16, 32), 16, 32, ov.data(), 4).error() ==
          Error::invalid_argument);
    CHECK(r.init(mem, abi::ring_size(16, 32), 16, 32, nullptr, 4).error() == Error::invalid_argument);
    REQUIRE(r.init(mem, abi::ring_size(16, 32), 16, 32, ov.data(), 4).ok());
    auto* h = static_cast<abi::RingHeader*>(mem);
    CHECK(h->magic == abi::kRingMagic);
    CHECK(h->sq_entries == 16);
    CHECK(h->sq_mask == 15);
    CHECK(h->cq_entries == 32);
    CHECK(h->cq_offset == abi::ring_cq_offset(16));
    CHECK(h->sq_head == 0);
    CHECK(h->cq_tail == 0);
    std::free(mem);
}

TEST_CASE("NOP round trip preserves tags and order", "[ring]") {
    Harness h(8, 16, 4);
    for (uint64_t t = 1; t <= 5; t++) REQUIRE(h.submit(t));
    CHECK(h.ring.sq_pending().value() == 5);
    CHECK(h.enter() == 5);
    CHECK(h.hdr()->sq_head == 5);
    CHECK(h.ring.cq_ready() == 5);
    for (uint64_t t = 1; t <= 5; t++) {
        abi::Cqe c;
        REQUIRE(h.reap(&c));
        CHECK(c.user_tag == t);
        CHECK(c.status == 0);
        CHECK(c.flags == 0);
    }
    abi::Cqe c;
    CHECK(!h.reap(&c));
    CHECK(h.ring.counters().sq_consumed == 5);
    CHECK(h.ring.counters().cq_posted == 5);
    CHECK(h.hdr()->cq_posted_total == 5);
}

TEST_CASE("indices wrap around 2^32 without loss", "[ring]") {
    const uint32_t first = 0xffff'fff0u;
    Harness h(4, 8, 2, first);
    CHECK(h.hdr()->sq_head == first);
    CHECK(h.hdr()->sq_tail == first);
    uint64_t tag = 0;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 3; i++) REQUIRE(h.submit(++tag));
        REQUIRE(h.ring.sq_pending().value() == 3);
        REQUIRE(h.enter() == 3);
        for (uint64_t i = 0; i < 3; i++) {
            abi::Cqe c;
            REQUIRE(h.reap(&c));
            CHECK(c.user_tag == tag - 2 + i);
        }
    }
    CHECK(h.hdr()->sq_head == first + 120u);  // wrapped
    CHECK(h.hdr()->sq_head < first);
    CHECK(h.hdr()->cq_tail == first + 120u);
    CHECK(h.ring.counters().sq_consumed == 120);
    CHECK(h.ring.counters().bad_sq_tail == 0);
    CHECK(h.ring.counters().bad_cq_head == 0);
}

TEST_CASE("full SQ and CQ straddling the wrap", "[ring]") {
    const uint32_t first = 0xffff'fffeu;
    Harness h(4, 4, 0, first);
    for (uint64_t t = 0; t < 4; t++) REQUIRE(h.submit(t));
    CHECK(!h.submit(99));  // SQ full: tail - head == entries across the wrap
    CHECK(h.ring.sq_pending().value() == 4);
    CHECK(h.enter() == 4);
    CHECK(h.ring.cq_ready() == 4);
    for (uint64_t t = 0; t < 4; t++) {
        abi::Cqe c;
        REQUIRE(h.reap(&c));
        CHECK(c.user_tag == t);
    }
}

TEST_CASE("hostile sq_tail is refused, not clamped, and recoverable", "[ring][hostile]") {
    Harness h(8, 8, 2);
    REQUIRE(h.submit(1));
    abi::Sqe batch[8];
    for (uint32_t bad : {9u, 0x8000'0000u, 0xffff'ffffu, 1000u}) {
        h.hdr()->sq_tail = bad;
        auto r = h.ring.consume(batch, 8);
        CHECK(r.error() == Error::bad_ring);
        CHECK((h.hdr()->flags & abi::kRingFlagCorrupt) != 0);
        CHECK(h.ring.in_flight() == 0);
        CHECK(h.hdr()->sq_head == 0);
    }
    CHECK(h.ring.counters().bad_sq_tail == 4);
    CHECK(to_status(Error::bad_ring) == abi::Status::bad_ring);
    // Exactly `entries` ahead is legal.
    h.hdr()->sq_tail = 8;
    auto r = h.ring.consume(batch, 8);
    REQUIRE(r.ok());
    CHECK(r.value() == 8);
    CHECK((h.hdr()->flags & abi::kRingFlagCorrupt) == 0);
    for (uint32_t i = 0; i < 8; i++) h.post(batch[i].user_tag);
}

TEST_CASE("user scribbles on kernel-owned fields are ignored", "[ring][hostile]") {
    Harness h(8, 8, 2);
    for (uint64_t t = 0; t < 3; t++) REQUIRE(h.submit(t));
    // The user rewrites every kernel-written field and the geometry.
    h.hdr()->sq_head = 12345;
    h.hdr()->cq_tail = 777;
    h.hdr()->sq_mask = 0xffff'ffffu;
    h.hdr()->cq_mask = 0xffff'ffffu;
    h.hdr()->sq_entries = 0x1000'0000u;
    h.hdr()->flags = 0xffff'ffffu;
    CHECK(h.enter() == 3);
    CHECK(h.hdr()->sq_head == 3);  // rewritten from the private copy
    CHECK(h.hdr()->cq_tail == 3);
    CHECK(h.ring.cq_ready() == 3);
}

TEST_CASE("SQE fields are copied once into kernel memory", "[ring]") {
    Harness h(4, 4, 0);
    abi::Sqe& e = h.sqes()[0];
    e.user_tag = 0x1122334455667788ull;
    e.interface_id = 0xabcdef0123456789ull;
    e.cap = abi::make_handle(3, 9);
    e.method = 7;
    e.flags = abi::kSqeFlagMoveCaps;
    e.caps_in_count = 2;
    e.caps_out_max = 5;
    e.params_addr = 0x400000;
    e.params_len = 128;
    e.result_len_max = 256;
    e.result_addr = 0x500000;
    e.caps_addr = 0x600000;
    h.hdr()->sq_tail = 1;
    abi::Sqe out{};
    REQUIRE(h.ring.consume(&out, 1).value() == 1);
    std::memset(&e, 0, sizeof e);  // the user changes it after the fact
    CHECK(out.user_tag == 0x1122334455667788ull);
    CHECK(out.interface_id == 0xabcdef0123456789ull);
    CHECK(out.cap == abi::make_handle(3, 9));
    CHECK(out.method == 7);
    CHECK(out.flags == abi::kSqeFlagMoveCaps);
    CHECK(out.caps_in_count == 2);
    CHECK(out.caps_out_max == 5);
    CHECK(out.params_addr == 0x400000);
    CHECK(out.params_len == 128);
    CHECK(out.result_len_max == 256);
    CHECK(out.result_addr == 0x500000);
    CHECK(out.caps_addr == 0x600000);
    h.post(out.user_tag);
}

TEST_CASE("full CQ parks completions and flushes them in order", "[ring][overflow]") {
    Harness h(8, 4, 4);
    abi::Sqe batch[8];
    for (uint64_t t = 0; t < 8; t++) REQUIRE(h.submit(t));
    // 4 CQ places + 4 overflow places: all 8 can be consumed.
    auto r = h.ring.consume(batch, 8);
    REQUIRE(r.value() == 8);
    // Complete out of order (async completions): 5, 0, 7, 1, 2, 3, 4, 6.
    const uint64_t order[8] = {5, 0, 7, 1, 2, 3, 4, 6};
    for (uint64_t t : order) h.post(t);
    CHECK(h.ring.parked() == 4);
    CHECK((h.hdr()->flags & abi::kRingFlagCqOverflow) != 0);
    CHECK(h.hdr()->cq_parked == 4);
    CHECK(h.hdr()->cq_overflow_total == 4);
    // The user reaps 2; flush moves the 2 oldest parked ones.
    std::vector<uint64_t> seen;
    abi::Cqe c;
    for (int i = 0; i < 2; i++) {
        REQUIRE(h.reap(&c));
        seen.push_back(c.user_tag);
        CHECK((c.flags & abi::kCqeFlagOverflowed) == 0);
    }
    CHECK(h.ring.flush_overflow() == 2);
    CHECK(h.ring.parked() == 2);
    while (h.reap(&c)) seen.push_back(c.user_tag);
    CHECK(h.ring.flush_overflow() == 2);
    CHECK(h.ring.parked() == 0);
    CHECK((h.hdr()->flags & abi::kRingFlagCqOverflow) == 0);
    while (h.reap(&c)) {
        seen.push_back(c.user_tag);
        CHECK((c.flags & abi::kCqeFlagOverflowed) != 0);
    }
    // Exactly the posting order, nothing lost, nothing duplicated.
    CHECK(seen == std::vector<uint64_t>(order, order + 8));
    CHECK(h.ring.counters().cq_posted == 8);
}

TEST_CASE("a new completion queues behind parked ones", "[ring][overflow]") {
    Harness h(8, 2, 4);
    for (uint64_t t = 0; t < 4; t++) REQUIRE(h.submit(t));
    abi::Sqe batch[8];
    REQUIRE(h.ring.consume(batch, 8).value() == 4);
    h.post(0);
    h.post(1);
    h.post(2);  // parked
    abi::Cqe c;
    REQUIRE(h.reap(&c));  // one CQ place free now, but 2 is still parked
    h.post(3);            // must not overtake 2
    std::vector<uint64_t> seen = {c.user_tag};
    for (int round = 0; round < 4; round++) {
        h.ring.flush_overflow();
        while (h.reap(&c)) seen.push_back(c.user_tag);
    }
    CHECK(seen == std::vector<uint64_t>{0, 1, 2, 3});
}

TEST_CASE("back-pressure: consume stops when no completion place is left", "[ring][overflow]") {
    Harness h(16, 4, 2);  // 6 completion places in total
    for (uint64_t t = 0; t < 10; t++) REQUIRE(h.submit(t));
    CHECK(h.enter() == 6);
    CHECK(h.ring.parked() == 2);
    CHECK((h.hdr()->flags & abi::kRingFlagBackpressure) != 0);
    CHECK(h.ring.sq_pending().value() == 4);  // left in the SQ, not dropped
    CHECK(h.ring.counters().backpressure >= 1);
    // Nothing more can be consumed until the user reaps.
    CHECK(h.enter() == 0);
    // User reaps everything; each enter makes progress and nothing is lost.
    std::vector<uint64_t> seen;
    abi::Cqe c;
    for (int round = 0; round < 10 && seen.size() < 10; round++) {
        while (h.reap(&c)) seen.push_back(c.user_tag);
        h.enter();
    }
    while (h.reap(&c)) seen.push_back(c.user_tag);
    REQUIRE(seen.size() == 10);
    for (uint64_t t = 0; t < 10; t++) CHECK(seen[t] == t);
    CHECK((h.hdr()->flags & abi::kRingFlagBackpressure) == 0);
    CHECK(h.ring.in_flight() == 0);
}

TEST_CASE("in-flight reservations cover async completions with a never-reading user", "[ring][overflow]") {
    Harness h(16, 4, 4);
    // Consume 8 (all places), complete none yet: further consumes get nothing.
    for (uint64_t t = 0; t < 12; t++) REQUIRE(h.submit(t));
    abi::Sqe batch[16];
    REQUIRE(h.ring.consume(batch, 16).value() == 8);
    CHECK(h.ring.in_flight() == 8);
    CHECK(h.ring.consume(batch + 8, 8).value() == 0);
    // Every reservation can be honoured although the user never reads.
    for (uint32_t i = 0; i < 8; i++) h.post(batch[i].user_tag);
    CHECK(h.ring.parked() == 4);
    CHECK(h.ring.cq_ready() == 4);
    CHECK(h.ring.counters().cq_posted + h.ring.parked() == 8);
}

TEST_CASE("hostile cq_head cannot create or destroy completion space", "[ring][hostile]") {
    Harness h(16, 4, 2);
    for (uint64_t t = 0; t < 4; t++) REQUIRE(h.submit(t));
    REQUIRE(h.enter() == 4);  // CQ full, nothing reaped
    // The user claims it read entries that were never posted.
    h.hdr()->cq_head = 100;
    CHECK(h.ring.cq_ready() == 4);
    CHECK(h.ring.counters().bad_cq_head == 1);
    // ... or moves the head backwards after reaping.
    h.hdr()->cq_head = 0;
    abi::Cqe c;
    REQUIRE(h.reap(&c));
    REQUIRE(h.reap(&c));
    h.hdr()->cq_head = 100;
    CHECK(h.ring.cq_ready() == 4);  // head 100 ignored, last valid head was 0
    h.hdr()->cq_head = 2;
    CHECK(h.ring.cq_ready() == 2);
    h.hdr()->cq_head = 0;  // backwards
    CHECK(h.ring.cq_ready() == 2);
    // Only 2 CQ + 2 overflow places: consumption is bounded by them.
    for (uint64_t t = 4; t < 12; t++) REQUIRE(h.submit(t));
    CHECK(h.enter() == 4);
    CHECK(h.ring.parked() == 2);
    CHECK(h.ring.in_flight() == 0);
}

TEST_CASE("a zero-quota overflow list still never drops", "[ring][overflow]") {
    Harness h(8, 2, 0);
    for (uint64_t t = 0; t < 5; t++) REQUIRE(h.submit(t));
    CHECK(h.enter() == 2);
    CHECK(h.ring.parked() == 0);
    abi::Cqe c;
    std::vector<uint64_t> seen;
    for (int i = 0; i < 5; i++) {
        while (h.reap(&c)) seen.push_back(c.user_tag);
        h.enter();
    }
    CHECK(seen == std::vector<uint64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("random interleavings conserve completions", "[ring][random]") {
    Harness h(8, 4, 3);
    uint64_t seed = 12345;
    auto rnd = [&]() {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return seed >> 33;
    };
    uint64_t next_tag = 0, next_expected = 0;
    std::vector<uint64_t> in_flight;
    abi::Sqe batch[8];
    for (int step = 0; step < 50000; step++) {
        switch (rnd() % 4) {
            case 0:
                if (h.submit(next_tag)) next_tag++;
                break;
            case 1: {
                auto r = h.ring.consume(batch, static_cast<uint32_t>(1 + rnd() % 8));
                REQUIRE(r.ok());
                for (uint32_t i = 0; i < r.value(); i++) in_flight.push_back(batch[i].user_tag);
                break;
            }
            case 2:
                if (!in_flight.empty()) {
                    h.post(in_flight.front());  // complete in order
                    in_flight.erase(in_flight.begin());
                }
                break;
            case 3: {
                h.ring.flush_overflow();
                abi::Cqe c;
                while (rnd() % 2 && h.reap(&c)) {
                    REQUIRE(c.user_tag == next_expected);
                    next_expected++;
                }
                break;
            }
        }
        REQUIRE(h.ring.in_flight() == in_flight.size());
        REQUIRE(h.ring.parked() <= 3);
    }
    CHECK(next_expected > 1000);
}

TEST_CASE("user and kernel on different threads exchange 200k entries", "[ring][threads]") {
    // The user side runs on its own thread against the shared memory only, as
    // on a different CPU; the kernel side consumes and posts. Every completion
    // must arrive exactly once and in order.
    Harness h(16, 8, 4);
    constexpr uint64_t kCount = 200000;
    std::atomic<bool> user_done{false};
    std::thread user([&] {
        uint64_t next_submit = 0, next_reap = 0;
        while (next_reap < kCount) {
            while (next_submit < kCount && next_submit - next_reap < 64 && h.submit(next_submit)) next_submit++;
            abi::Cqe c;
            while (h.reap(&c)) {
                if (c.user_tag != next_reap) std::abort();
                next_reap++;
            }
        }
        user_done.store(true);
    });
    abi::Sqe batch[8];
    while (!user_done.load()) {
        h.ring.flush_overflow();
        auto r = h.ring.consume(batch, 8);
        REQUIRE(r.ok());
        for (uint32_t i = 0; i < r.value(); i++) h.post(batch[i].user_tag);
    }
    user.join();
    CHECK(h.ring.counters().sq_consumed == kCount);
    CHECK(h.ring.counters().cq_posted == kCount);
    CHECK(h.ring.counters().bad_sq_tail == 0);
    CHECK(h.ring.counters().bad_cq_head == 0);
}

TEST_CASE("every kernel Error maps to one ABI Status", "[ring][abi]") {
    CHECK(to_status(Error::none) == abi::Status::ok);
    CHECK(to_status(Error::invalid_slot) == abi::Status::invalid_slot);
    CHECK(to_status(Error::stale_slot) == abi::Status::stale_slot);
    CHECK(to_status(Error::no_rights) == abi::Status::rights);
    CHECK(to_status(Error::quota) == abi::Status::quota_exceeded);
    CHECK(to_status(Error::out_of_memory) == abi::Status::no_memory);
    CHECK(to_status(Error::malformed) == abi::Status::malformed_message);
    for (int e = 1; e <= static_cast<int>(Error::bad_ring); e++) {
        const abi::Status s = to_status(static_cast<Error>(e));
        INFO("error " << error_name(static_cast<Error>(e)));
        CHECK(abi::is_error(s));
        CHECK(std::strcmp(abi::status_name(s), "unknown_status") != 0);
    }
}
