// sched_events_test.cpp: event ring, pending deadlines, validation, demotion, trace format.
#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "sched/sched_events.h"

using namespace kern;

TEST_CASE("event ring assigns increasing seqs and drops when full", "[sched_events]") {
    EventRing<4> r;
    SchedEvent e;
    e.kind = SchedEventKind::thread_runnable;
    for (uint64_t i = 1; i <= 4; ++i) CHECK(r.post(e) == i);
    CHECK(r.post(e) == 0);
    CHECK(r.dropped() == 1);
    SchedEvent out;
    REQUIRE(r.pop(out));
    CHECK(out.seq == 1);
    CHECK(r.post(e) == 5);  // the dropped event took no number
    for (uint64_t want = 2; want <= 5; ++want) {
        REQUIRE(r.pop(out));
        CHECK(out.seq == want);
    }
    CHECK_FALSE(r.pop(out));
}

TEST_CASE("event ring: concurrent producers, one consumer, no loss or duplicate", "[sched_events]") {
    static EventRing<1024> r;
    constexpr int kPer = 20000;
    std::vector<std::thread> ps;
    for (int p = 0; p < 4; ++p)
        ps.emplace_back([p] {
            for (int i = 0; i < kPer; ++i) {
                SchedEvent e;
                e.thread_id = static_cast<uint64_t>(p) * 1000000 + static_cast<uint64_t>(i);
                while (r.post(e) == 0) std::this_thread::yield();
            }
        });
    std::set<uint64_t> seen;
    uint64_t last = 0;
    SchedEvent out;
    while (seen.size() < 4u * kPer) {
        if (!r.pop(out)) continue;
        REQUIRE(out.seq == last + 1);
        last = out.seq;
        REQUIRE(seen.insert(out.thread_id).second);
    }
    for (auto& t : ps) t.join();
    CHECK(seen.size() == 4u * kPer);
}

TEST_CASE("event ring: the pending entry exists before a consumer can see the event", "[sched_events]") {
    // The kernel enters a runnable event's deadline from before_publish; a
    // consumer that pops the event and answers at once must find it pending.
    EventRing<8> r;
    PendingTable<16> pending;
    SchedEvent e;
    e.kind = SchedEventKind::thread_runnable;
    SchedEvent out;
    bool visible_during = true;
    uint64_t seen_seq = 0;
    uint64_t seq = r.post(e, [&](uint64_t s) {
        seen_seq = s;
        visible_during = r.pop(out);  // not yet published
        PendingEntry p;
        p.seq = s;
        p.thread_id = 7;
        p.deadline_ns = 1000;
        CHECK_FALSE(pending.add(p, nullptr));
    });
    CHECK(seq == 1);
    CHECK(seen_seq == 1);
    CHECK_FALSE(visible_during);
    REQUIRE(r.pop(out));
    CHECK(out.seq == 1);
    PendingEntry got;
    CHECK(pending.resolve(out.seq, 10, &got) == Resolve::claimed);
    CHECK(got.thread_id == 7);
    // A full ring calls nothing and numbers nothing.
    EventRing<2> full;
    CHECK(full.post(e) == 1);
    CHECK(full.post(e) == 2);
    bool called = false;
    CHECK(full.post(e, [&](uint64_t) { called = true; }) == 0);
    CHECK_FALSE(called);
}

TEST_CASE("pending table: in time, late, stale, sweep per CPU", "[sched_events]") {
    PendingTable<8> p;
    PendingEntry e{1, 42, 1000, 0, 0};
    CHECK_FALSE(p.add(e, nullptr));
    PendingEntry got;
    CHECK(p.resolve(1, 500, &got) == Resolve::claimed);
    CHECK(got.thread_id == 42);
    CHECK(p.resolve(1, 500, &got) == Resolve::stale);  // answered twice
    CHECK(p.resolve(77, 0, &got) == Resolve::stale);   // never pending

    CHECK_FALSE(p.add(PendingEntry{2, 7, 1000, 0, 1}, nullptr));
    CHECK(p.resolve(2, 1001, &got) == Resolve::late);
    CHECK(p.count() == 0);

    p.add(PendingEntry{3, 1, 100, 0, 0}, nullptr);
    p.add(PendingEntry{4, 2, 100, 0, 1}, nullptr);
    p.add(PendingEntry{5, 3, 900, 0, 1}, nullptr);
    std::vector<uint64_t> swept;
    CHECK(p.sweep(1, 500, [&](const PendingEntry& x) { swept.push_back(x.seq); }) == 1);
    CHECK(swept == std::vector<uint64_t>{4});        // CPU 0's entry and the unexpired one stay
    CHECK(p.resolve(4, 0, &got) == Resolve::stale);  // swept = no longer pending
    CHECK(p.resolve(3, 50, &got) == Resolve::claimed);
    PendingEntry ev;
    CHECK(p.add(PendingEntry{13, 9, 0, 0, 0}, &ev));  // 13 % 8 == 5: evicts seq 5
    CHECK(ev.seq == 5);
}

TEST_CASE("decision validation", "[sched_events]") {
    DecisionLimits lim{2, 0b11, 10};
    const char* why = nullptr;
    SchedDecision d;
    d.kind = SchedDecisionKind::assign;
    d.thread_id = 5;
    d.answers_seq = 3;
    d.cpu = 1;
    CHECK(check_decision(d, lim, &why) == DecisionCheck::ok);
    d.cpu = 2;
    CHECK(check_decision(d, lim, &why) == DecisionCheck::invalid);
    d.cpu = 0;
    d.answers_seq = 11;  // from the future
    CHECK(check_decision(d, lim, &why) == DecisionCheck::invalid);
    CHECK(std::strstr(why, "never posted") != nullptr);
    d.answers_seq = 0;
    d.cpu_mask = 0b100;  // only offline CPUs
    CHECK(check_decision(d, lim, &why) == DecisionCheck::invalid);
    d.cpu_mask = 0b110;
    CHECK(check_decision(d, lim, &why) == DecisionCheck::ok);
    SchedDecision w;
    w.kind = SchedDecisionKind::process_weight;
    w.process_id = 3;
    w.value = 0;
    CHECK(check_decision(w, lim, &why) == DecisionCheck::invalid);
    w.value = 300;
    CHECK(check_decision(w, lim, &why) == DecisionCheck::ok);
    SchedDecision g;
    g.kind = static_cast<SchedDecisionKind>(77);
    CHECK(check_decision(g, lim, &why) == DecisionCheck::invalid);
}

TEST_CASE("server health: consecutive misses demote, applied decisions reset the streak", "[sched_events]") {
    ServerHealth h(3);
    CHECK_FALSE(h.on_miss());
    CHECK_FALSE(h.on_miss());
    h.on_applied();
    CHECK_FALSE(h.on_miss());
    CHECK_FALSE(h.on_miss());
    CHECK(h.on_miss());
    CHECK(h.demoted());
    CHECK(h.reason() == SchedReason::deadline_misses);
    CHECK_FALSE(h.on_invalid(SchedReason::invalid_decision));  // already demoted: only one demoter
    h.reset(3);
    CHECK_FALSE(h.demoted());
    CHECK(h.on_invalid(SchedReason::invalid_decision));
    CHECK(h.reason() == SchedReason::invalid_decision);
}

TEST_CASE("trace records round-trip through text", "[sched_events]") {
    TraceRecord r;
    r.tsc = 123456789012ull;
    r.seq = 77;
    r.thread_id = 9;
    r.a = 3;
    r.b = 1024;
    r.cpu = 2;
    r.c = 1;
    r.kind = TraceKind::decision;
    r.sub = 1;
    char buf[200];
    size_t n = format_trace(r, buf, sizeof buf);
    REQUIRE(n > 0);
    TraceRecord back;
    REQUIRE(parse_trace(buf, &back));
    CHECK(back.tsc == r.tsc);
    CHECK(back.seq == 77);
    CHECK(back.thread_id == 9);
    CHECK(back.a == 3);
    CHECK(back.b == 1024);
    CHECK(back.cpu == 2);
    CHECK(back.c == 1);
    CHECK(back.kind == TraceKind::decision);
    CHECK(back.sub == 1);
    CHECK_FALSE(parse_trace("T 1 2 X 0 0 0 0 0 0", &back));
    CHECK_FALSE(parse_trace("T 1 2 E", &back));
    CHECK(slice_ns_to_ticks(8'000'000, 4'000'000) == 2);
    CHECK(slice_ns_to_ticks(1, 4'000'000) == 1);
}
