// fault_plan_test.cpp - the fault-injection decision logic (debug/fault_plan): nth and every-k rules, arming,
// counting per kind, concurrent counting on a shared plan, and the option value parser.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <thread>
#include <vector>

#include "debug/fault_plan.h"

using kern::Error;
using kern::fault::Kind;
using kern::fault::Plan;
using kern::fault::Rule;

namespace {

// The positions (1-based) among `n` allocations of kind k that the plan fails.
std::vector<uint64_t> failures(Plan& p, Kind k, uint64_t n) {
    std::vector<uint64_t> out;
    for (uint64_t i = 1; i <= n; ++i)
        if (p.next(k)) out.push_back(i);
    return out;
}

}  // namespace

TEST_CASE("fault plan: nth fails exactly that allocation, once") {
    Plan p;
    p.arm(Rule{3, 0}, Rule{});
    CHECK(failures(p, Kind::frame, 10) == std::vector<uint64_t>{3});
    CHECK(p.seen(Kind::frame) == 10);
    CHECK(p.injected() == 1);
}

TEST_CASE("fault plan: nth = 1 fails the first allocation") {
    Plan p;
    p.arm(Rule{}, Rule{1, 0});
    CHECK(failures(p, Kind::heap, 4) == std::vector<uint64_t>{1});
}

TEST_CASE("fault plan: every k-th fails k, 2k, 3k") {
    Plan p;
    p.arm(Rule{0, 4}, Rule{});
    CHECK(failures(p, Kind::frame, 13) == std::vector<uint64_t>{4, 8, 12});
    CHECK(p.injected() == 3);
}

TEST_CASE("fault plan: every 1 fails everything") {
    Plan p;
    p.arm(Rule{0, 1}, Rule{});
    CHECK(failures(p, Kind::frame, 5).size() == 5);
}

TEST_CASE("fault plan: nth and every together") {
    Plan p;
    p.arm(Rule{5, 3}, Rule{});
    CHECK(failures(p, Kind::frame, 10) == std::vector<uint64_t>{3, 5, 6, 9});
}

TEST_CASE("fault plan: kinds count separately; an inactive rule still counts") {
    Plan p;
    p.arm(Rule{2, 0}, Rule{});
    CHECK_FALSE(p.next(Kind::heap));
    CHECK_FALSE(p.next(Kind::frame));
    CHECK_FALSE(p.next(Kind::heap));
    CHECK(p.next(Kind::frame));  // the second frame allocation, though the fourth overall
    CHECK_FALSE(p.next(Kind::heap));
    CHECK(p.seen(Kind::frame) == 2);
    CHECK(p.seen(Kind::heap) == 3);
    CHECK(p.injected() == 1);
}

TEST_CASE("fault plan: nothing is counted or failed while not armed") {
    Plan p;
    CHECK_FALSE(p.next(Kind::frame));
    CHECK(p.seen(Kind::frame) == 0);
    p.arm(Rule{1, 0}, Rule{1, 0});
    p.disarm();
    CHECK_FALSE(p.next(Kind::frame));
    CHECK_FALSE(p.next(Kind::heap));
    CHECK(p.seen(Kind::frame) == 0);
    CHECK(p.injected() == 0);
}

TEST_CASE("fault plan: disarm keeps the counts; arm resets them") {
    Plan p;
    p.arm(Rule{2, 0}, Rule{});
    (void)failures(p, Kind::frame, 3);
    p.disarm();
    CHECK(p.seen(Kind::frame) == 3);
    CHECK(p.injected() == 1);
    p.arm(Rule{2, 0}, Rule{});
    CHECK(p.seen(Kind::frame) == 0);
    CHECK(p.injected() == 0);
    CHECK(failures(p, Kind::frame, 3) == std::vector<uint64_t>{2});  // counting restarted from 1
}

TEST_CASE("fault plan: shared by threads, every-k fails exactly total/k") {
    Plan p;
    p.arm(Rule{0, 7}, Rule{});
    constexpr int kThreads = 4;
    constexpr uint64_t kEach = 70000;
    std::vector<std::thread> ts;
    std::vector<uint64_t> failed(kThreads, 0);
    for (int t = 0; t < kThreads; ++t)
        ts.emplace_back([&, t] {
            for (uint64_t i = 0; i < kEach; ++i)
                if (p.next(Kind::frame)) ++failed[t];
        });
    for (auto& t : ts) t.join();
    uint64_t sum = 0;
    for (uint64_t f : failed) sum += f;
    CHECK(p.seen(Kind::frame) == kThreads * kEach);
    CHECK(sum == kThreads * kEach / 7);
    CHECK(p.injected() == sum);
}

TEST_CASE("fault option values: positive decimal counts") {
    auto parse = [](const char* s) { return kern::fault::parse_count(s, std::strlen(s)); };
    REQUIRE(parse("1").ok());
    CHECK(parse("1").value() == 1);
    CHECK(parse("007").value() == 7);
    CHECK(parse("9223372036854775808").value() == (uint64_t{1} << 63));
    CHECK(parse("0").error() == Error::invalid_argument);
    CHECK(parse("").error() == Error::invalid_argument);
    CHECK(parse("-3").error() == Error::invalid_argument);
    CHECK(parse("12x").error() == Error::invalid_argument);
    CHECK(parse(" 5").error() == Error::invalid_argument);
    CHECK(parse("0x10").error() == Error::invalid_argument);
    CHECK(parse("9223372036854775809").error() == Error::overflow);
    CHECK(parse("99999999999999999999999").error() == Error::overflow);
    CHECK(kern::fault::parse_count(nullptr, 0).error() == Error::invalid_argument);
    CHECK(kern::fault::parse_count("123", 2).value() == 12);  // only len bytes are read
}
