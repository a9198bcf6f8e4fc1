// timeline_test.cpp: the text per-CPU timeline (harness/replay/timeline.h) and the simulator's summary line.
#include <catch2/catch_test_macros.hpp>
#include <string>
#include <vector>

#include "../../servers/placement/fair-share/fair_share.h"
#include "sim.h"
#include "timeline.h"

namespace {
kern::TraceRecord sw(uint32_t cpu, uint64_t tsc, uint64_t tid) {
    kern::TraceRecord r;
    r.kind = kern::TraceKind::switch_in;
    r.cpu = cpu;
    r.tsc = tsc;
    r.thread_id = tid;
    return r;
}

// The row of `cpu` between the bars.
std::string row(const std::string& t, uint32_t cpu) {
    const std::string head = "cpu  " + std::to_string(cpu) + " |";
    const size_t at = t.find(head);
    REQUIRE(at != std::string::npos);
    const size_t from = at + head.size();
    return t.substr(from, t.find('|', from) - from);
}
}  // namespace

TEST_CASE("timeline: each column shows who held the CPU longest; idle is '.'", "[timeline]") {
    // CPU 0: thread 7 for the first half, idle for the second; CPU 1: thread 9
    // throughout, thread 7 for the last quarter.
    std::vector<kern::TraceRecord> recs = {sw(0, 1000, 7), sw(1, 1000, 9), sw(0, 1500, 0),
                                           sw(1, 1750, 7), sw(0, 2000, 0), sw(1, 2000, 7)};
    kern::TraceRecord ev;
    ev.kind = kern::TraceKind::event;
    ev.thread_id = 9;
    ev.a = 4;  // process 4
    recs.push_back(ev);
    replay::TimelineOptions o;
    o.cols = 8;
    const std::string t = replay::timeline(recs, o);
    INFO(t);
    CHECK(row(t, 0) == "aaaa....");
    CHECK(row(t, 1) == "bbbbbbaa");
    CHECK(t.find("timeline: 2 cpus, 2 threads, 1000 tsc, 8 columns of 125 tsc") == 0);
    CHECK(t.find("legend: . idle, a thread 7, b thread 9 (process 4)") != std::string::npos);
}

TEST_CASE("timeline: a CPU before its first switch-in is blank; microseconds when given", "[timeline]") {
    std::vector<kern::TraceRecord> recs = {sw(0, 0, 3), sw(1, 500, 5), sw(0, 1000, 3)};
    replay::TimelineOptions o;
    o.cols = 4;
    o.tsc_per_us = 10;
    const std::string t = replay::timeline(recs, o);
    INFO(t);
    CHECK(row(t, 0) == "aaaa");
    CHECK(row(t, 1) == "  bb");
    CHECK(t.find("(100.0 us), 4 columns of 25.0 us") != std::string::npos);
}

TEST_CASE("timeline: no switch-in records is said, not drawn", "[timeline]") {
    CHECK(replay::timeline({}, replay::TimelineOptions{}) == "no switch-in records\n");
}

TEST_CASE("sim summary: makespan, per-CPU busy share, per-thread share with weight", "[sim-summary]") {
    placement::FairShare fs;
    replay::SimOptions o;
    o.ncpus = 2;
    replay::Sim sim(o, &fs);
    replay::SimThreadSpec a;
    a.pid = 1;
    a.work_ticks = 100;
    replay::SimThreadSpec b = a;
    b.pid = 2;
    b.work_ticks = 50;
    b.burst_ticks = 5;  // runs 5 ticks, blocks 5
    b.block_ticks = 5;
    const uint64_t ta = sim.add_thread(a);
    const uint64_t tb = sim.add_thread(b);
    REQUIRE(sim.run(5000));
    const std::string s = sim.summary();
    INFO(s);
    CHECK(s.find("sim: ticks=" + std::to_string(sim.ticks()) + " (") == 0);
    CHECK(s.find("finished=2/2 cpu_busy=0:") != std::string::npos);
    // All CPU ticks given: 150; a got 100 of them, b 50.
    CHECK(s.find(std::to_string(ta) + ":66.7%/w1024") != std::string::npos);
    CHECK(s.find(std::to_string(tb) + ":33.3%/w1024") != std::string::npos);
    // b blocks half the time, so the run lasts at least a's 100 ticks.
    CHECK(sim.ticks() >= 100);
}
