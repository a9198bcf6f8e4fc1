// trace_io_test.cpp: several trace dumps in one log are told apart.
#include <catch2/catch_test_macros.hpp>
#include <string>

#include "sim.h"
#include "trace_io.h"
#include "../../servers/placement/fair-share/fair_share.h"

namespace {
// A simulator run's records as the kernel prints one dump of them.
std::string dump_of_a_run(uint32_t threads) {
    placement::FairShare fs;
    replay::SimOptions o;
    o.ncpus = 2;
    replay::Sim sim(o, &fs);
    for (uint32_t i = 0; i < threads; ++i) {
        replay::SimThreadSpec s;
        s.pid = i + 1;
        s.work_ticks = 50;
        sim.add_thread(s);
    }
    REQUIRE(sim.run(5000));
    std::string text;
    std::string recs = replay::format_records(sim.trace());
    size_t pos = 0;
    while (pos < recs.size()) {
        size_t e = recs.find('\n', pos);
        text += "[strace] " + recs.substr(pos, e - pos) + "\n";
        pos = e + 1;
    }
    return text + "[strace] cpu 0 records=1 lost=0\n[strace] tsc_hz=2600000000\n";
}
}  // namespace

TEST_CASE("split_dumps: one text per traceDump, in log order", "[placement][trace]") {
    const std::string a = dump_of_a_run(2), b = dump_of_a_run(3);
    const std::string log = "[capos] boot ok\n" + a + "[utest] x PASS\n" + b + "[utest] done\n";
    auto dumps = replay::split_dumps(log);
    REQUIRE(dumps.size() == 2);  // the tail after the last dump holds no record: no third dump
    CHECK(replay::parse_trace_text(dumps[0]).size() == replay::parse_trace_text(a).size());
    CHECK(replay::parse_trace_text(dumps[1]).size() == replay::parse_trace_text(b).size());
    // Merged, the two runs' records interleave by TSC: that is what checking
    // the whole log used to do.
    CHECK(replay::parse_trace_text(log).size() ==
          replay::parse_trace_text(a).size() + replay::parse_trace_text(b).size());
}

TEST_CASE("split_dumps: a trace without end lines is one dump; an unfinished last dump counts", "[placement][trace]") {
    const std::string a = dump_of_a_run(2);
    const std::string plain = replay::format_records(replay::parse_trace_text(a));
    auto one = replay::split_dumps(plain);
    REQUIRE(one.size() == 1);
    CHECK(replay::parse_trace_text(one[0]).size() == replay::parse_trace_text(a).size());
    const std::string cut = a + a.substr(0, a.find("[strace] cpu 0 records"));  // second dump without its end line
    CHECK(replay::split_dumps(cut).size() == 2);
}

TEST_CASE("tsc_per_us_of: a dump's own clock rate, kept with it by split_dumps", "[placement][trace]") {
    const std::string a = dump_of_a_run(2);
    auto dumps = replay::split_dumps("[capos] boot ok\n" + a);
    REQUIRE(dumps.size() == 1);
    CHECK(replay::tsc_per_us_of(dumps[0]) == 2600);                                          // 2600000000 Hz
    CHECK(replay::tsc_per_us_of("[strace] tsc_hz=2599600001\n") == 2600);                    // rounded
    CHECK(replay::tsc_per_us_of(replay::format_records(replay::parse_trace_text(a))) == 0);  // a simulator trace
}
