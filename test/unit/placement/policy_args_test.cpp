// policy_args_test.cpp: the shared key=value parser, policy specs and Policy::configure.
#include <catch2/catch_test_macros.hpp>
#include <algorithm>
#include <string>

#include "policies.h"
#include "sim.h"
#include "../../servers/placement/common/policy_args.h"
#include "../../servers/placement/fair-share/fair_share.h"
#include "../../servers/placement/round-robin/round_robin.h"

using placement::ArgError;
using placement::KeyValues;

namespace {
std::string val(const placement::KeyValue& kv) { return std::string(kv.value, kv.value_len); }
}  // namespace

TEST_CASE("parse_key_values splits at the separator, keeps values with '=' and ':'", "[placement][args]") {
    const char* text = "deadline_us=1000  crash_at=after_events:3,mid_decision:2 quiet=1 flag";
    KeyValues kv;
    ArgError err;
    REQUIRE(placement::parse_key_values(text, std::string(text).size(), ' ', kv, err));
    REQUIRE(kv.n == 4);
    CHECK(kv.kv[0].key_is("deadline_us"));
    CHECK(val(kv.kv[0]) == "1000");
    CHECK(val(*kv.find("crash_at")) == "after_events:3,mid_decision:2");
    CHECK(kv.find("quiet")->value_is("1"));
    CHECK_FALSE(kv.find("flag")->has_value());
    CHECK(kv.find("dead") == nullptr);  // no prefix matches
}

TEST_CASE("parse_key_values refuses what it cannot mean, with the reason", "[placement][args]") {
    KeyValues kv;
    {
        ArgError err;
        CHECK_FALSE(placement::parse_key_values("a=1,=2", 6, ',', kv, err));
        CHECK(std::string(err.text) == "'=2' has no key");
        CHECK(kv.n == 0);
    }
    {
        ArgError err;
        CHECK_FALSE(placement::parse_key_values("a=1,a=2", 7, ',', kv, err));
        CHECK(std::string(err.text) == "key 'a' given twice");
    }
    {
        std::string many;
        for (int i = 0; i < 17; ++i) many += "k" + std::to_string(i) + "=1,";
        ArgError err;
        CHECK_FALSE(placement::parse_key_values(many.c_str(), many.size(), ',', kv, err));
        CHECK(std::string(err.text) == "more than 16 arguments");
    }
}

TEST_CASE("value_u64: decimal within bounds only", "[placement][args]") {
    KeyValues kv;
    ArgError e0;
    const std::string text = "a=7,b=0x7,c=,d,e=201,f=99999999999999999999";
    REQUIRE(placement::parse_key_values(text.c_str(), text.size(), ',', kv, e0));
    uint64_t v = 0;
    ArgError ok;
    CHECK(placement::value_u64(kv.kv[0], 1, 200, v, ok));
    CHECK(v == 7);
    for (uint32_t i = 1; i < kv.n; ++i) {
        ArgError err;
        v = 42;
        CHECK_FALSE(placement::value_u64(kv.kv[i], 1, 200, v, err));
        CHECK(v == 42);  // untouched
        CHECK(std::string(err.text).find("expected a whole number from 1 to 200") != std::string::npos);
    }
}

TEST_CASE("split_spec: name and arguments", "[placement][args]") {
    auto p = placement::split_spec("fair-share:slice_ms=2,x=1");
    CHECK(std::string(p.name, p.name_len) == "fair-share");
    CHECK(std::string(p.args, p.args_len) == "slice_ms=2,x=1");
    auto q = placement::split_spec("pinning");
    CHECK(std::string(q.name, q.name_len) == "pinning");
    CHECK(q.args == nullptr);
}

TEST_CASE("make_policy(spec) configures the policy or says why not", "[placement][args]") {
    std::string why;
    auto fs = replay::make_policy("fair-share:slice_ms=12", &why);
    REQUIRE(fs);
    CHECK(static_cast<placement::FairShare&>(fs->get()).base_slice_ns() == 12'000'000);
    CHECK(static_cast<placement::FairShare&>(replay::make_policy("fair-share")->get()).base_slice_ns() ==
          placement::FairShare::kBaseSliceNs);

    CHECK_FALSE(replay::make_policy("fair-share:slise_ms=2", &why));
    CHECK(why == "fair-share: arguments refused: unknown key 'slise_ms' (fair-share takes slice_ms=1..200)");
    CHECK_FALSE(replay::make_policy("fair-share:slice_ms=0", &why));
    CHECK(why == "fair-share: arguments refused: slice_ms=0: expected a whole number from 1 to 200");
    CHECK_FALSE(replay::make_policy("fair-share:slice_ms=abc", &why));
    CHECK(why.find("slice_ms=abc: expected a whole number") != std::string::npos);
    CHECK_FALSE(replay::make_policy("pinning:x=1", &why));
    CHECK(why == "pinning: arguments refused: pinning takes no arguments (got 'x=1')");
    CHECK_FALSE(replay::make_policy("fair-shar", &why));
    CHECK(why.find("unknown policy 'fair-shar'") == 0);
    CHECK(replay::make_policy("round-robin:", &why));  // an empty list is no argument
}

TEST_CASE("configure is all or nothing", "[placement][args]") {
    placement::FairShare fs;
    KeyValues kv;
    ArgError err;
    REQUIRE(placement::parse_key_values("slice_ms=16,bogus=1", 19, ',', kv, err));
    CHECK_FALSE(fs.configure(kv, err));
    CHECK(fs.base_slice_ns() == placement::FairShare::kBaseSliceNs);
}

TEST_CASE("fair-share slice_ms sets the slices it hands out", "[placement][args]") {
    for (uint64_t ms : {4u, 16u}) {
        auto p = replay::make_policy("fair-share:slice_ms=" + std::to_string(ms));
        REQUIRE(p);
        replay::SimOptions o;
        o.ncpus = 1;
        replay::Sim sim(o, &p->get());
        replay::SimThreadSpec a;
        a.pid = 1;
        a.work_ticks = 50;
        sim.add_thread(a);
        replay::SimThreadSpec b = a;
        b.pid = 2;
        b.weight = 3 * a.weight;
        sim.add_thread(b);
        sim.step(20);
        placement::PolicyState st;
        p->get().export_state(st);
        CHECK(st.default_slice_ns == ms * 1'000'000);
        // The lighter thread's slice is the base, the heavier one's three times it.
        uint64_t lo = ~0ull, hi = 0;
        for (uint32_t i = 0; i < st.nthreads; ++i) {
            if (!st.threads[i].runnable) continue;
            lo = std::min(lo, st.threads[i].slice_ns);
            hi = std::max(hi, st.threads[i].slice_ns);
        }
        CHECK(lo == ms * 1'000'000);
        CHECK(hi == 3 * ms * 1'000'000);
    }
}

TEST_CASE("round-robin slice_ms is the slice of every assignment", "[placement][args]") {
    for (const char* spec : {"round-robin", "round-robin:slice_ms=12"}) {
        auto p = replay::make_policy(spec);
        REQUIRE(p);
        replay::SimOptions o;
        o.ncpus = 2;
        replay::Sim sim(o, &p->get());
        for (uint64_t i = 0; i < 3; ++i) {
            replay::SimThreadSpec t;
            t.pid = i + 1;
            t.work_ticks = 40;
            t.burst_ticks = 3;
            t.block_ticks = 1;
            sim.add_thread(t);
        }
        REQUIRE(sim.run(5000));
        const uint64_t want = std::string(spec).find(':') == std::string::npos ? 0 : 12'000'000;
        uint32_t assigns = 0;
        for (const auto& r : sim.trace()) {
            if (r.kind != kern::TraceKind::decision || r.sub != static_cast<uint8_t>(placement::DecisionKind::assign))
                continue;
            ++assigns;
            CHECK(r.a == want);
        }
        CHECK(assigns > 3);
    }
    std::string why;
    CHECK_FALSE(replay::make_policy("round-robin:slice_ms=1001", &why));
    CHECK(why == "round-robin: arguments refused: slice_ms=1001: expected a whole number from 1 to 1000");
}
