// sched_ring_test.cpp: the shared placement rings, the kernel end (sched/sched_ring.h) against the server end
// (servers/placement/common/ring_server.h): order, full, hostile indices, threads.
#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <thread>

#include "sched/sched_ring.h"
#include "../../../servers/placement/common/ring_server.h"

using namespace kern;
namespace ra = capos::abi;

namespace {
struct Pages {
    alignas(4096) unsigned char p[ra::kSchedRingPages][4096];
    Pages() { std::memset(p, 0xa5, sizeof p); }  // whatever the server left there
    RingView view() {
        RingView v;
        v.hdr = reinterpret_cast<ra::SchedRingHeader*>(p[0]);
        v.ev = reinterpret_cast<ra::SchedRingEvent*>(p[1]);
        v.dec = reinterpret_cast<ra::SchedRingDecision*>(p[2]);
        return v;
    }
    placement::RingPages server() {
        placement::RingPages v;
        v.hdr = reinterpret_cast<ra::SchedRingHeader*>(p[0]);
        v.ev = reinterpret_cast<ra::SchedRingEvent*>(p[1]);
        v.dec = reinterpret_cast<ra::SchedRingDecision*>(p[2]);
        return v;
    }
};
ra::SchedRingEvent ev(uint64_t seq) {
    ra::SchedRingEvent e{};
    e.seq = seq;
    e.kind = 2;
    return e;
}
}  // namespace

TEST_CASE("rings: events in order, full ring refuses, then drains", "[sched_ring]") {
    Pages pg;
    RingKernelSide k;
    placement::RingServer s;
    CHECK_FALSE(s.open(pg.server()));  // not initialized by the kernel yet
    k.open(pg.view(), 7);
    REQUIRE(s.open(pg.server()));
    CHECK_FALSE(s.closed());
    CHECK(pg.view().hdr->epoch == 7);
    for (uint64_t i = 1; i <= RingKernelSide::N; ++i) REQUIRE(k.push_event(ev(i)) == RingPush::ok);
    CHECK(k.push_event(ev(999)) == RingPush::full);
    CHECK(k.events_queued() == RingKernelSide::N);
    ra::SchedRingEvent out{};
    for (uint64_t i = 1; i <= RingKernelSide::N; ++i) {
        REQUIRE(s.pop_event(out));
        CHECK(out.seq == i);
    }
    CHECK_FALSE(s.pop_event(out));
    CHECK(k.push_event(ev(65)) == RingPush::ok);
    REQUIRE(s.pop_event(out));
    CHECK(out.seq == 65);
    k.close();
    CHECK(s.closed());
}

TEST_CASE("rings: decisions in order; a full decision ring refuses the server", "[sched_ring]") {
    Pages pg;
    RingKernelSide k;
    placement::RingServer s;
    k.open(pg.view(), 1);
    REQUIRE(s.open(pg.server()));
    ra::SchedRingDecision d{};
    for (uint64_t i = 1; i <= placement::RingServer::N; ++i) {
        d.answers_seq = i;
        REQUIRE(s.push_decision(d));
    }
    CHECK_FALSE(s.push_decision(d));
    CHECK(k.decisions_waiting());
    ra::SchedRingDecision out{};
    for (uint64_t i = 1; i <= placement::RingServer::N; ++i) {
        REQUIRE(k.pop_decision(out) == RingPop::ok);
        CHECK(out.answers_seq == i);
    }
    CHECK(k.pop_decision(out) == RingPop::empty);
    CHECK(s.decisions_unconsumed() == 0);
}

TEST_CASE("rings: a hostile decision tail breaks the ring, counted, nothing read", "[sched_ring]") {
    Pages pg;
    RingKernelSide k;
    k.open(pg.view(), 1);
    pg.view().hdr->dec_tail = 1'000'000;  // far ahead of anything published
    ra::SchedRingDecision out{};
    CHECK(k.pop_decision(out) == RingPop::broken);
    CHECK(k.broken());
    CHECK(k.refused() == 1);
    CHECK(pg.view().hdr->dec_refused == 1);
    CHECK(k.pop_decision(out) == RingPop::broken);  // stays dead, no second read
    CHECK(k.push_event(ev(1)) == RingPush::broken);
}

TEST_CASE("rings: a decision tail behind the kernel's head breaks the ring", "[sched_ring]") {
    Pages pg;
    RingKernelSide k;
    placement::RingServer s;
    k.open(pg.view(), 1);
    REQUIRE(s.open(pg.server()));
    ra::SchedRingDecision d{};
    REQUIRE(s.push_decision(d));
    REQUIRE(k.pop_decision(d) == RingPop::ok);
    pg.view().hdr->dec_tail = 0;
    CHECK(k.pop_decision(d) == RingPop::broken);
}

TEST_CASE("rings: a hostile event head never makes the kernel overwrite unread events", "[sched_ring]") {
    Pages pg;
    RingKernelSide k;
    k.open(pg.view(), 1);
    REQUIRE(k.push_event(ev(1)) == RingPush::ok);
    pg.view().hdr->ev_head = 5;  // "consumed" more than was published
    CHECK(k.push_event(ev(2)) == RingPush::broken);
    CHECK(k.events_queued() == 0);
    // The kernel's tail is its own: the page's word is only ever written.
    CHECK(k.events_pushed() == 1);
}

TEST_CASE("rings: kernel ignores what the server writes into ev_tail", "[sched_ring]") {
    Pages pg;
    RingKernelSide k;
    placement::RingServer s;
    k.open(pg.view(), 1);
    REQUIRE(s.open(pg.server()));
    pg.view().hdr->ev_tail = 40;  // server scribbles on the kernel's word
    REQUIRE(k.push_event(ev(1)) == RingPush::ok);
    CHECK(pg.view().hdr->ev_tail == 1);  // republished from the kernel's copy
    ra::SchedRingEvent out{};
    REQUIRE(s.pop_event(out));
    CHECK(out.seq == 1);
}

TEST_CASE("rings: one producer thread, one consumer thread, each way, no loss", "[sched_ring]") {
    Pages pg;
    RingKernelSide k;
    placement::RingServer s;
    k.open(pg.view(), 1);
    REQUIRE(s.open(pg.server()));
    constexpr uint64_t kCount = 200000;
    std::thread server([&] {
        uint64_t want = 1;
        ra::SchedRingEvent e{};
        while (want <= kCount) {
            if (!s.pop_event(e)) continue;
            if (e.seq != want) return;  // checked below: want stops short
            ra::SchedRingDecision d{};
            d.answers_seq = e.seq;
            while (!s.push_decision(d)) {}
            ++want;
        }
    });
    uint64_t next = 1, answered = 0;
    bool order = true, broken = false;
    while (answered < kCount) {
        if (next <= kCount && k.push_event(ev(next)) == RingPush::ok) ++next;
        ra::SchedRingDecision d{};
        RingPop p = k.pop_decision(d);
        if (p == RingPop::broken) {
            broken = true;
            break;
        }
        if (p == RingPop::ok) {
            order = order && d.answers_seq == answered + 1;
            ++answered;
        }
    }
    server.join();
    CHECK_FALSE(broken);
    CHECK(answered == kCount);
    CHECK(order);
    CHECK(k.refused() == 0);
}
