// pack_test.cpp: the tutorial's exercise policy (servers/placement/pack/pack.h): its argument, where it
// puts threads, replay, hot swap.
#include <catch2/catch_test_macros.hpp>
#include <string>

#include "policies.h"
#include "replay.h"
#include "sim.h"
#include "trace_io.h"
#include "../../servers/placement/fair-share/fair_share.h"
#include "../../servers/placement/pack/pack.h"

using namespace replay;

namespace {
placement::Event runnable(uint64_t seq, uint64_t tid) {
    placement::Event e;
    e.seq = seq;
    e.thread_id = tid;
    e.process_id = 1;
    e.weight = placement::kDefaultWeight;
    e.kind = placement::EventKind::thread_runnable;
    return e;
}

// The CPU pack assigns to `tid` on its thread_runnable event.
uint32_t place(placement::Pack& p, uint64_t seq, uint64_t tid) {
    placement::Decisions out;
    p.on_event(runnable(seq, tid), out);
    REQUIRE(out.n == 1);
    CHECK(out.d[0].answers_seq == seq);
    return out.d[0].cpu;
}
}  // namespace

TEST_CASE("pack: k is its one argument, checked whole", "[placement][pack]") {
    std::string err;
    CHECK(make_policy("pack:k=3", &err) != nullptr);
    CHECK(make_policy("pack:k=0", &err) == nullptr);
    CHECK(err.find("k=0") != std::string::npos);
    CHECK(make_policy("pack:slice_ms=4", &err) == nullptr);
    CHECK(err.find("unknown key 'slice_ms' (pack takes k=1..256)") != std::string::npos);
    // A refusal changes nothing: k stays 1 after a refused k=0.
    placement::Pack p;
    placement::KeyValues kv;
    placement::ArgError aerr;
    REQUIRE(placement::parse_key_values("k=1", 3, ',', kv, aerr));
    REQUIRE(p.configure(kv, aerr));
    placement::KeyValues bad;
    REQUIRE(placement::parse_key_values("k=0", 3, ',', bad, aerr));
    CHECK_FALSE(p.configure(bad, aerr));
    p.start(4);
    CHECK(place(p, 1, 100) == 0);
    CHECK(place(p, 2, 101) == 1);  // k=1: CPU 0 is full with one
}

TEST_CASE("pack: fills the lowest CPU up to k, then the next; a blocked thread frees its place", "[placement][pack]") {
    auto box = make_policy("pack:k=2");
    REQUIRE(box);
    placement::Policy& p = box->get();
    p.start(3);
    auto put = [&p](uint64_t seq, uint64_t tid) {
        placement::Decisions out;
        p.on_event(runnable(seq, tid), out);
        REQUIRE(out.n == 1);
        return out.d[0].cpu;
    };
    CHECK(put(1, 10) == 0);
    CHECK(put(2, 11) == 0);
    CHECK(put(3, 12) == 1);
    CHECK(put(4, 11) == 0);  // a thread that wakes again is not counted against itself
    placement::Event blk;
    blk.seq = 5;
    blk.thread_id = 10;
    blk.kind = placement::EventKind::thread_blocked;
    placement::Decisions none;
    p.on_event(blk, none);
    CHECK(none.n == 0);
    CHECK(put(6, 13) == 0);  // 10 blocked: CPU 0 has room again
    CHECK(put(7, 14) == 1);
    CHECK(put(8, 15) == 2);
    CHECK(put(9, 16) == 2);
    CHECK(put(10, 17) == 0);  // every CPU holds 2: the least loaded, lowest first
}

TEST_CASE("pack: replay reproduces its decisions, with its argument", "[placement][pack]") {
    auto p = make_policy("pack:k=2");
    SimOptions o;
    o.ncpus = 3;
    Sim sim(o, &p->get());
    for (uint64_t i = 0; i < 5; ++i) {
        SimThreadSpec s;
        s.pid = i + 1;
        s.work_ticks = 150;
        s.burst_ticks = 2 + i % 3;
        s.block_ticks = 1 + i % 2;
        sim.add_thread(s);
    }
    REQUIRE(sim.run(50000));
    auto recs = parse_trace_text(format_records(sim.trace()));
    auto same = make_policy("pack:k=2");
    ReplayResult r = replay_trace(recs, same->get(), 3);
    INFO(r.text());
    CHECK(r.recorded > 20);
    CHECK(r.identical());
    auto other = make_policy("pack:k=1");  // the same policy with another argument decides otherwise
    CHECK_FALSE(replay_trace(recs, other->get(), 3).identical());
}

TEST_CASE("hot swap fair-share -> pack: every live thread handed over, no demotion", "[placement][pack]") {
    placement::FairShare a;
    placement::Pack b;
    SimOptions o;
    o.ncpus = 2;
    Sim sim(o, &a);
    for (uint64_t i = 0; i < 4; ++i) {
        SimThreadSpec s;
        s.pid = i + 1;
        s.work_ticks = 300;
        s.burst_ticks = 3;
        s.block_ticks = 2;
        sim.add_thread(s);
    }
    sim.step(60);
    REQUIRE_FALSE(sim.live_threads().empty());
    REQUIRE(sim.swap(&b));
    REQUIRE(sim.run(20000));
    CHECK_FALSE(sim.demoted());
}
