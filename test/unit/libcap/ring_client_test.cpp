// ring_client_test.cpp - libcap's ring client against the real KernelRing: indices, batches, tags, back-pressure, overflow.
#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "libcap/ring.h"
#include "sim_kernel.h"

namespace abi = capos::abi;
using cap::Ring;
using cap::Status;

namespace {

cap::CallArgs nop() {
    cap::CallArgs a;
    a.method = cap::iface::Method{abi::kInterfaceKernelRing, abi::kMethodNop};
    return a;
}

cap::CallArgs deferred(uint64_t value) {
    cap::CallArgs a;
    a.cap = value;  // the simulated kernel returns it as Cqe::value
    a.method = cap::iface::Method{sim::kDefer, 0};
    return a;
}

}  // namespace

TEST_CASE("attach checks the kernel-written geometry", "[libcap][ring]") {
    sim::Kernel k(8, 16, 4);
    Ring r;
    r.set_enter(&sim::Kernel::enter_thunk, &k);

    SECTION("a good ring attaches and reports its sizes") {
        REQUIRE(r.attach(k.mem, k.size).ok());
        CHECK(r.sq_entries() == 8);
        CHECK(r.cq_entries() == 16);
        CHECK(r.sq_space() == 8);
        CHECK(r.cq_ready() == 0);
    }
    SECTION("bad magic") {
        k.hdr()->magic ^= 1;
        CHECK(r.attach(k.mem, k.size).status() == Status::bad_ring);
    }
    SECTION("bad version") {
        k.hdr()->version = 99;
        CHECK(r.attach(k.mem, k.size).status() == Status::bad_ring);
    }
    SECTION("entries not a power of two") {
        k.hdr()->sq_entries = 6;
        CHECK(r.attach(k.mem, k.size).status() == Status::bad_ring);
    }
    SECTION("mask disagrees with entries") {
        k.hdr()->cq_mask = 7;
        CHECK(r.attach(k.mem, k.size).status() == Status::bad_ring);
    }
    SECTION("CQ offset not where ring.h puts it") {
        k.hdr()->cq_offset += 64;
        CHECK(r.attach(k.mem, k.size).status() == Status::bad_ring);
    }
    SECTION("ring larger than the mapping") { CHECK(r.attach(k.mem, k.size - 4096).status() == Status::bad_ring); }
    SECTION("inconsistent indices") {
        k.hdr()->sq_tail = k.hdr()->sq_head + 9;
        CHECK(r.attach(k.mem, k.size).status() == Status::bad_ring);
    }
    SECTION("misaligned or null base") {
        CHECK(r.attach(k.mem + 64, k.size).status() == Status::invalid_argument);
        CHECK(r.attach(nullptr, k.size).status() == Status::invalid_argument);
    }
}

TEST_CASE("NOP call round trip, across index wraparound", "[libcap][ring]") {
    for (uint32_t first : {0u, 0xfffffff0u}) {
        sim::Kernel k(4, 8, 0, first);
        Ring r;
        k.bind(r);
        for (int i = 0; i < 100; ++i) {
            auto c = r.call(nop());
            REQUIRE(c.ok());
            CHECK(c.value().status == 0);
        }
        CHECK(r.stats().submitted == 100);
        CHECK(r.stats().reaped == 100);
        CHECK(r.outstanding() == 0);
        CHECK(k.seen.size() == 100);
        // Indices moved by exactly 100 and wrapped when starting near 2^32.
        CHECK(k.hdr()->sq_tail == first + 100);
        CHECK(k.hdr()->cq_head == first + 100);
        CHECK(k.would_hang == 0);
    }
}

TEST_CASE("nop(): lean when nothing is tracked, a tracked call otherwise", "[libcap][ring]") {
    sim::Kernel k(4, 8, 0, 0xfffffff0u);
    Ring r;
    k.bind(r);
    std::vector<uint64_t> foreign;
    r.set_untracked_handler(
        [](void* ctx, const abi::Cqe& c) { static_cast<std::vector<uint64_t>*>(ctx)->push_back(c.user_tag); },
        &foreign);
    for (int i = 0; i < 50; ++i) REQUIRE(r.nop().ok());
    CHECK(k.seen.size() == 50);
    CHECK(k.seen.back().user_tag == Ring::kNopTag);
    CHECK(k.enters == 50);  // one cap_enter per NOP
    CHECK(r.outstanding() == 0);
    CHECK(foreign.empty());
    // A raw completion in the CQ alongside the NOP's goes to the untracked handler.
    abi::Sqe raw = cap::make_sqe(nop());
    raw.user_tag = 42;
    REQUIRE(r.submit(&raw, 1).ok());
    REQUIRE(r.nop().ok());
    REQUIRE(foreign.size() == 1);
    CHECK(foreign[0] == 42);
    // With a tracked operation outstanding, nop() is a tracked call and leaves it alone.
    abi::Sqe d = cap::make_sqe(nop());
    d.interface_id = sim::kDefer;
    d.cap = 5;
    auto tag = r.start(d);
    REQUIRE(tag.ok());
    REQUIRE(r.nop().ok());
    CHECK((k.seen.back().user_tag & Ring::kTrackedTagBit) != 0);
    CHECK(k.seen.back().user_tag != Ring::kNopTag);
    CHECK(r.outstanding() == 1);
    REQUIRE(k.release());
    auto c = r.wait(tag.value());
    REQUIRE(c.ok());
    CHECK(c.value().value == 5);
    CHECK(k.would_hang == 0);
}

TEST_CASE("the Sqe carries every CallArgs field", "[libcap][ring]") {
    sim::Kernel k(4, 8, 0);
    Ring r;
    k.bind(r);
    char params[24] = "parameters";
    char result[32] = {};
    abi::CapHandle caps[3] = {abi::make_handle(4, 2), 0, 0};
    cap::CallArgs a;
    a.cap = abi::make_handle(7, 3);
    a.method = cap::iface::Method{sim::kEcho, 9};
    a.params = params;
    a.params_len = sizeof params;
    a.result = result;
    a.result_max = sizeof result;
    a.caps = caps;
    a.caps_in = 1;
    a.caps_out_max = 2;
    a.flags = abi::kSqeFlagMoveCaps;
    auto c = r.call(a);
    REQUIRE(c.ok());
    REQUIRE(k.seen.size() == 1);
    const abi::Sqe& s = k.seen[0];
    CHECK(s.cap == a.cap);
    CHECK(s.interface_id == sim::kEcho);
    CHECK(s.method == 9);
    CHECK(s.flags == abi::kSqeFlagMoveCaps);
    CHECK(s.caps_in_count == 1);
    CHECK(s.caps_out_max == 2);
    CHECK(s.params_addr == reinterpret_cast<uint64_t>(params));
    CHECK(s.params_len == sizeof params);
    CHECK(s.result_addr == reinterpret_cast<uint64_t>(result));
    CHECK(s.result_len_max == sizeof result);
    CHECK(s.caps_addr == reinterpret_cast<uint64_t>(caps));
    CHECK((s.user_tag & Ring::kTrackedTagBit) != 0);
    CHECK(c.value().result_len == sizeof params);
    CHECK(std::strcmp(result, "parameters") == 0);
}

TEST_CASE("an error completion comes back as its Status", "[libcap][ring]") {
    sim::Kernel k(4, 8, 0);
    Ring r;
    k.bind(r);
    cap::CallArgs a;
    a.method = cap::iface::Method{sim::kFail, 2};  // status -2 = stale_slot
    CHECK(r.call(a).status() == Status::stale_slot);
    a.method = cap::iface::Method{0x999, 0};  // unknown to the kernel
    CHECK(r.call(a).status() == Status::bad_method);
    CHECK(r.outstanding() == 0);
}

TEST_CASE("a batch is published with one tail store and consumed by one enter", "[libcap][ring]") {
    sim::Kernel k(16, 16, 0);
    Ring r;
    k.bind(r);
    abi::Sqe sqes[8];
    for (auto& s : sqes) s = cap::make_sqe(nop());
    uint64_t tags[8];
    const uint32_t tail0 = k.hdr()->sq_tail;
    REQUIRE(r.start_batch(sqes, 8, tags).ok());
    CHECK(k.hdr()->sq_tail == tail0 + 8);
    CHECK(k.enters == 0);
    CHECK(r.outstanding() == 8);
    std::set<uint64_t> distinct(tags, tags + 8);
    CHECK(distinct.size() == 8);
    // Waiting on the last one enters once; the others are filed meanwhile.
    auto c = r.wait(tags[7]);
    REQUIRE(c.ok());
    CHECK(c.value().user_tag == tags[7]);
    CHECK(k.enters == 1);
    abi::Cqe out;
    for (int i = 0; i < 7; ++i) {
        CHECK(r.poll(tags[i], out));
        CHECK(out.user_tag == tags[i]);
    }
    CHECK(r.outstanding() == 0);
    // A claimed tag is no longer valid.
    CHECK_FALSE(r.poll(tags[0], out));
    CHECK(r.wait(tags[0]).status() == Status::invalid_argument);
}

TEST_CASE("completions in any order reach their own waiter", "[libcap][ring]") {
    sim::Kernel k(8, 8, 0);
    Ring r;
    k.bind(r);
    uint64_t t[3];
    for (int i = 0; i < 3; ++i) {
        auto tag = r.start(cap::make_sqe(deferred(100 + i)));
        REQUIRE(tag.ok());
        t[i] = tag.value();
    }
    REQUIRE(r.enter(0, 0) >= 0);  // kernel consumes, completes nothing
    CHECK(k.deferred.size() == 3);
    // Kernel completes 2, then 0, then 1.
    k.release(2);
    k.release(0);
    k.release(0);
    auto c1 = r.wait(t[1]);
    REQUIRE(c1.ok());
    CHECK(c1.value().value == 101);
    abi::Cqe out;
    REQUIRE(r.poll(t[0], out));
    CHECK(out.value == 100);
    REQUIRE(r.poll(t[2], out));
    CHECK(out.value == 102);
}

TEST_CASE("wait times out and can be resumed; abandon discards", "[libcap][ring]") {
    sim::Kernel k(8, 8, 0);
    Ring r;
    k.bind(r);
    auto tag = r.start(cap::make_sqe(deferred(7)));
    REQUIRE(tag.ok());
    CHECK(r.wait(tag.value(), 1000).status() == Status::timeout);
    CHECK(r.outstanding() == 1);
    k.release();
    auto c = r.wait(tag.value(), 1000);
    REQUIRE(c.ok());
    CHECK(c.value().value == 7);

    auto t2 = r.start(cap::make_sqe(deferred(8)));
    REQUIRE(t2.ok());
    REQUIRE(r.enter(0, 0) >= 0);
    r.abandon(t2.value());
    CHECK(r.outstanding() == 1);  // still owed a completion
    k.release();
    r.reap();
    CHECK(r.outstanding() == 0);
    CHECK(r.stats().untracked == 0);
}

TEST_CASE("completions libcap did not tag go to the untracked handler", "[libcap][ring]") {
    sim::Kernel k(8, 8, 0);
    Ring r;
    k.bind(r);
    std::vector<uint64_t> got;
    r.set_untracked_handler(
        [](void* ctx, const abi::Cqe& c) { static_cast<std::vector<uint64_t>*>(ctx)->push_back(c.user_tag); }, &got);
    abi::Sqe raw = cap::make_sqe(nop());
    raw.user_tag = 42;
    REQUIRE(r.submit(&raw, 1).ok());
    // A tracked call afterwards sees the raw completion first and hands it over.
    REQUIRE(r.call(nop()).ok());
    REQUIRE(got.size() == 1);
    CHECK(got[0] == 42);
    CHECK(r.stats().untracked == 1);
    // A forged tracked tag (right bit, unknown generation) is untracked too.
    abi::Sqe forged = cap::make_sqe(nop());
    forged.user_tag = Ring::kTrackedTagBit | (uint64_t{0x7777} << 32) | 3;
    REQUIRE(r.submit(&forged, 1).ok());
    REQUIRE(r.call(nop()).ok());
    CHECK(got.size() == 2);
}

TEST_CASE("the tracked table bounds outstanding operations", "[libcap][ring]") {
    sim::Kernel k(128, 128, 0);
    Ring r;
    k.bind(r);
    std::vector<uint64_t> tags;
    for (uint32_t i = 0; i < Ring::kMaxTracked; ++i) {
        auto t = r.start(cap::make_sqe(deferred(i)));
        REQUIRE(t.ok());
        tags.push_back(t.value());
    }
    CHECK(r.start(cap::make_sqe(nop())).status() == Status::busy);
    REQUIRE(r.enter(0, 0) >= 0);
    k.release();
    auto c = r.wait(tags[0]);
    REQUIRE(c.ok());
    CHECK(r.start(cap::make_sqe(nop())).ok());
}

TEST_CASE("a full SQ and no completion credit: back-pressure, nothing lost", "[libcap][ring]") {
    // 4 SQ entries, 4 CQ entries, no overflow list: at most 4 calls in
    // flight in the kernel. Submitting 40 deferred calls must enter the
    // kernel, get Status::overflow, wait for completions (the simulated other
    // CPU releases them) and finally complete every one exactly once.
    sim::Kernel k(4, 4, 0);
    k.auto_release = true;
    Ring r;
    k.bind(r);
    std::vector<uint64_t> tags;
    for (uint64_t i = 0; i < 40; ++i) {
        auto t = r.start(cap::make_sqe(deferred(1000 + i)));
        REQUIRE(t.ok());
        tags.push_back(t.value());
        // Claim finished ones as we go so the tracked table does not fill.
        abi::Cqe out;
        for (size_t j = 0; j + 8 < tags.size(); ++j)
            if (tags[j] != 0 && r.poll(tags[j], out)) {
                CHECK(out.value == 1000 + j);
                tags[j] = 0;
            }
    }
    for (size_t j = 0; j < tags.size(); ++j) {
        if (tags[j] == 0) continue;
        auto c = r.wait(tags[j]);
        REQUIRE(c.ok());
        CHECK(c.value().value == 1000 + j);
    }
    CHECK(r.outstanding() == 0);
    CHECK(r.stats().sq_full > 0);
    CHECK(k.kring.counters().backpressure > 0);
    CHECK(k.would_hang == 0);
    CHECK(k.seen.size() == 40);
}

TEST_CASE("CQ overflow: parked completions arrive in order with their flag", "[libcap][ring]") {
    sim::Kernel k(16, 2, 8);
    Ring r;
    k.bind(r);
    abi::Sqe sqes[8];
    for (auto& s : sqes) s = cap::make_sqe(nop());
    uint64_t tags[8];
    REQUIRE(r.start_batch(sqes, 8, tags).ok());
    // One enter consumes all 8: 2 go into the CQ, 6 are parked.
    REQUIRE(k.enter(0, 0) >= 0);
    CHECK(k.kring.parked() == 6);
    CHECK((r.kernel_flags() & abi::kRingFlagCqOverflow) != 0);
    auto c = r.wait(tags[7]);
    REQUIRE(c.ok());
    CHECK((c.value().flags & abi::kCqeFlagOverflowed) != 0);
    abi::Cqe out;
    for (int i = 0; i < 7; ++i) REQUIRE(r.poll(tags[i], out));
    CHECK(r.stats().overflowed == 6);
    CHECK(k.kring.parked() == 0);
    CHECK((r.kernel_flags() & abi::kRingFlagCqOverflow) == 0);
}

TEST_CASE("a corrupted sq_tail is reported as bad_ring", "[libcap][ring]") {
    sim::Kernel k(4, 4, 0);
    Ring r;
    k.bind(r);
    // A published submission, then a wild write in the process scribbles the
    // user-written tail far ahead before the kernel reads it.
    auto tag = r.start(cap::make_sqe(nop()));
    REQUIRE(tag.ok());
    k.hdr()->sq_tail += 1000;
    CHECK(r.wait(tag.value()).status() == Status::bad_ring);
    CHECK((r.kernel_flags() & abi::kRingFlagCorrupt) != 0);
    // The next publish rewrites the tail from libcap's private copy, so the
    // ring recovers and the pending call completes.
    REQUIRE(r.start(cap::make_sqe(nop())).ok());
    auto c = r.wait(tag.value());
    CHECK(c.ok());
}

TEST_CASE("concurrent kernel thread: release/acquire ordering, every tag once", "[libcap][ring]") {
    // A real second thread plays the kernel: it consumes and posts while the
    // user thread submits and reaps, so index publication and entry contents
    // are exercised with true concurrency.
    sim::Kernel k(32, 64, 16);
    Ring r;
    std::atomic<bool> stop{false};
    std::atomic<uint32_t> kick{0};
    struct Ctx {
        sim::Kernel* k;
        std::atomic<uint32_t>* kick;
    } ctx{&k, &kick};
    r.set_enter(
        [](void* p, uint32_t min_complete, uint64_t) -> int64_t {
            auto* c = static_cast<Ctx*>(p);
            c->kick->fetch_add(1, std::memory_order_release);
            // "Sleep" until enough completions are visible in the shared CQ.
            auto* h = c->k->hdr();
            for (int spin = 0; spin < 100000000; ++spin) {
                uint32_t ready = __atomic_load_n(&h->cq_tail, __ATOMIC_ACQUIRE) - h->cq_head;
                if (ready >= min_complete) return ready;
                std::this_thread::yield();
            }
            return static_cast<int64_t>(abi::Status::timeout);
        },
        &ctx);
    REQUIRE(r.attach(k.mem, k.size).ok());
    std::thread kernel([&] {
        abi::Sqe buf[32];
        while (!stop.load(std::memory_order_acquire)) {
            k.kring.flush_overflow();
            auto n = k.kring.consume(buf, 32);
            if (!n.ok()) break;
            for (uint32_t i = 0; i < n.value(); ++i) {
                abi::Cqe c{};
                c.user_tag = buf[i].user_tag;
                c.value = buf[i].cap * 3;  // proves the entry's contents arrived intact
                k.kring.post(c);
            }
            if (n.value() == 0) std::this_thread::yield();
        }
    });
    constexpr uint64_t kCalls = 20000;
    uint64_t bad = 0;
    for (uint64_t i = 1; i <= kCalls; i += 4) {
        abi::Sqe sqes[4];
        uint64_t tags[4];
        for (uint64_t j = 0; j < 4; ++j) {
            cap::CallArgs a = nop();
            a.cap = i + j;
            sqes[j] = cap::make_sqe(a);
        }
        REQUIRE(r.start_batch(sqes, 4, tags).ok());
        for (uint64_t j = 0; j < 4; ++j) {
            auto c = r.wait(tags[j]);
            if (!c.ok() || c.value().value != (i + j) * 3) bad++;
        }
    }
    stop.store(true, std::memory_order_release);
    kernel.join();
    CHECK(bad == 0);
    CHECK(r.stats().reaped == kCalls);
    CHECK(r.stats().untracked == 0);
    CHECK(r.outstanding() == 0);
}
