// placement_test.cpp: host tests of the default placement and hook validation.
#include <catch2/catch_test_macros.hpp>

#include <vector>

#include "sched/placement.h"

using kern::CpuLoad;
using kern::CpuMask;
using kern::kNoCpu;
using kern::PlacementInput;

namespace {
struct Snapshot {
    std::vector<CpuLoad> cpus;
    PlacementInput in(unsigned last, CpuMask allowed = CpuMask::all(), unsigned waker = 0) const {
        PlacementInput p;
        p.cpus = cpus.data();
        p.ncpus = static_cast<unsigned>(cpus.size());
        p.last_cpu = last;
        p.allowed = allowed;
        p.waker_cpu = waker;
        return p;
    }
};
CpuLoad busy(uint64_t load) { return CpuLoad{load, false, true}; }
CpuLoad idle() { return CpuLoad{0, true, true}; }
CpuLoad offline() { return CpuLoad{0, true, false}; }
}  // namespace

TEST_CASE("default placement keeps an idle last CPU", "[placement]") {
    Snapshot s{{idle(), idle(), idle()}};
    REQUIRE(kern::default_placement(s.in(2)) == 2);
    // Even when another CPU reports a lower load figure.
    Snapshot t{{busy(0), busy(0), CpuLoad{5, true, true}}};
    REQUIRE(kern::default_placement(t.in(2)) == 2);
}

TEST_CASE("default placement picks the least-loaded CPU when the last is busy", "[placement]") {
    Snapshot s{{busy(3072), busy(1024), busy(2048), busy(4096)}};
    REQUIRE(kern::default_placement(s.in(0)) == 1);
    REQUIRE(kern::default_placement(s.in(kNoCpu)) == 1);
}

TEST_CASE("default placement breaks ties to the last CPU, then the lowest id", "[placement]") {
    Snapshot s{{busy(2048), busy(1024), busy(1024), busy(1024)}};
    REQUIRE(kern::default_placement(s.in(2)) == 2);
    REQUIRE(kern::default_placement(s.in(3)) == 3);
    REQUIRE(kern::default_placement(s.in(0)) == 1);       // last CPU busier: lowest id wins
    REQUIRE(kern::default_placement(s.in(kNoCpu)) == 1);  // never ran: lowest id
}

TEST_CASE("default placement honours the allowed mask and skips offline CPUs", "[placement]") {
    Snapshot s{{idle(), offline(), busy(2048), busy(1024)}};
    CpuMask m;
    m.set(1);
    m.set(2);
    m.set(3);
    REQUIRE(kern::default_placement(s.in(0, m)) == 3);  // idle CPU 0 not allowed
    CpuMask only2 = CpuMask::only(2);
    REQUIRE(kern::default_placement(s.in(3, only2)) == 2);
    // Last CPU idle but offline: not chosen.
    Snapshot t{{busy(1024), offline(), busy(2048)}};
    REQUIRE(kern::default_placement(t.in(1)) == 0);
    // Nothing allowed is online: fall back to the waker.
    REQUIRE(kern::default_placement(t.in(0, CpuMask::only(1), 2)) == 2);
    // Empty mask likewise.
    REQUIRE(kern::default_placement(t.in(0, CpuMask{}, 0)) == 0);
}

TEST_CASE("spreading: successive placements fill idle CPUs", "[placement]") {
    // The creator runs on CPU 0; each placed thread adds its weight to its CPU.
    Snapshot s{{busy(1024), idle(), idle(), idle()}};
    std::vector<unsigned> chosen;
    for (int i = 0; i < 4; ++i) {
        unsigned c = kern::default_placement(s.in(kNoCpu));
        chosen.push_back(c);
        s.cpus[c].load += 1024;
        s.cpus[c].idle = false;
    }
    REQUIRE(chosen == std::vector<unsigned>{1, 2, 3, 0});
}

TEST_CASE("placement hooks are validated and fall back to the default", "[placement]") {
    Snapshot s{{busy(1024), idle(), offline()}};
    bool fb = true;
    auto pick2 = [](const PlacementInput&, void*) -> unsigned { return 2; };  // offline
    auto pick9 = [](const PlacementInput&, void*) -> unsigned { return 9; };  // out of range
    auto pick0 = [](const PlacementInput&, void*) -> unsigned { return 0; };  // valid
    auto ctxhook = [](const PlacementInput&, void* ctx) -> unsigned { return *static_cast<unsigned*>(ctx); };
    REQUIRE(kern::place_thread(s.in(kNoCpu), pick0, nullptr, &fb) == 0);
    REQUIRE_FALSE(fb);
    REQUIRE(kern::place_thread(s.in(kNoCpu), pick2, nullptr, &fb) == 1);
    REQUIRE(fb);
    REQUIRE(kern::place_thread(s.in(kNoCpu), pick9, nullptr, &fb) == 1);
    REQUIRE(fb);
    REQUIRE(kern::place_thread(s.in(kNoCpu), nullptr, nullptr, &fb) == 1);
    REQUIRE_FALSE(fb);
    // A valid CPU outside the allowed mask is rejected too.
    REQUIRE(kern::place_thread(s.in(kNoCpu, CpuMask::only(1)), pick0, nullptr, &fb) == 1);
    REQUIRE(fb);
    unsigned want = 1;
    REQUIRE(kern::place_thread(s.in(0), ctxhook, &want, &fb) == 1);
    REQUIRE_FALSE(fb);
    REQUIRE(kern::default_placement_hook(s.in(1), nullptr) == 1);
}

TEST_CASE("cpu mask basics", "[placement]") {
    CpuMask m;
    REQUIRE(m.empty());
    m.set(0);
    m.set(63);
    m.set(64);  // ignored
    REQUIRE(m.count() == 2);
    REQUIRE(m.has(63));
    REQUIRE_FALSE(m.has(64));
    m.clear(0);
    REQUIRE(m.count() == 1);
    REQUIRE(CpuMask::all().count() == 64);
    REQUIRE(CpuMask::only(70).empty());
}

TEST_CASE("cpu mask for_each visits each member once, lowest first", "[placement]") {
    std::vector<unsigned> seen;
    CpuMask{}.for_each([&](unsigned c) { seen.push_back(c); });
    REQUIRE(seen.empty());

    CpuMask m;
    m.set(5);
    m.set(0);
    m.set(63);
    m.set(17);
    m.for_each([&](unsigned c) { seen.push_back(c); });
    REQUIRE(seen == std::vector<unsigned>{0, 5, 17, 63});

    // The walk is over a copy: changing the mask from f does not change it.
    seen.clear();
    m.for_each([&](unsigned c) {
        seen.push_back(c);
        m.clear(c);
        m.set(40);
    });
    REQUIRE(seen == std::vector<unsigned>{0, 5, 17, 63});

    unsigned n = 0;
    CpuMask::all().for_each([&](unsigned c) {
        REQUIRE(c == n);
        ++n;
    });
    REQUIRE(n == kern::kMaxCpus);
}

TEST_CASE("default placement considers only allowed CPUs, whatever their id", "[placement]") {
    // Allowed bits past ncpus are not CPUs and must never be chosen.
    Snapshot s;
    s.cpus = {{5, false, true}, {9, false, true}, {1, false, true}};
    CpuMask m;
    m.set(1);
    m.set(50);
    REQUIRE(kern::default_placement(s.in(kNoCpu, m, 0)) == 1);
    m.set(2);
    REQUIRE(kern::default_placement(s.in(kNoCpu, m, 0)) == 2);
}
