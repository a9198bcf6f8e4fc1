// cpu_time_test.cpp: host tests of the per-thread CPU-time account dispatch charges at each switch.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "sched/cpu_time.h"

using kern::CpuTime;

TEST_CASE("cpu time adds the slices between switch-in and switch-out", "[cpu_time]") {
    CpuTime t;
    REQUIRE(t.read(1000) == 0);
    REQUIRE_FALSE(t.running());
    t.switch_in(1000);
    REQUIRE(t.running());
    REQUIRE(t.read(1250) == 250);  // the open slice counts
    t.switch_out(1300);
    REQUIRE_FALSE(t.running());
    REQUIRE(t.read(5000) == 300);  // off CPU: no growth however late the read
    t.switch_in(6000);
    t.switch_out(6040);
    REQUIRE(t.read(9999) == 340);
}

TEST_CASE("cpu time: a switch-out without a switch-in adds nothing", "[cpu_time]") {
    // An adopted boot context leaves the CPU without ever being switched in.
    CpuTime t;
    t.switch_out(123456);
    REQUIRE(t.read(200000) == 0);
    t.switch_in(200000);
    t.switch_out(200010);
    REQUIRE(t.read(300000) == 10);
}

TEST_CASE("cpu time: a reader whose clock trails the writer's never sees a negative slice", "[cpu_time]") {
    CpuTime t;
    t.switch_in(1000);
    t.switch_out(1100);
    t.switch_in(2000);
    REQUIRE(t.read(1990) == 100);  // a reader's TSC slightly behind: only the closed slices
    t.switch_out(1995);            // and the writer's own TSC stepping back
    REQUIRE(t.read(3000) == 100);
}

TEST_CASE("cpu time: concurrent readers never see a torn update", "[cpu_time]") {
    // One writer (the owning CPU) switches the thread in at 1000*(k+1) for
    // 1 + k%5 cycles, k = 0, 1, ...; readers on other threads read with a
    // clock N far ahead. Every consistent state gives either T_k (off CPU
    // after k slices) or T_k + N - in_{k+1} (slice k+1 open); a read that
    // mixed a new total with an old switch-in time (or the reverse) gives
    // neither.
    constexpr uint64_t kSlices = 100000;
    constexpr uint64_t kN = uint64_t{1} << 62;
    std::vector<uint64_t> done(kSlices + 1), open(kSlices);  // T_k; in_{k+1} - T_k
    for (uint64_t k = 0; k < kSlices; ++k) {
        done[k + 1] = done[k] + 1 + k % 5;
        open[k] = 1000 * (k + 1) - done[k];
    }
    CpuTime t;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> bad{0}, reads{0};
    auto reader = [&] {
        while (!stop.load(std::memory_order_acquire)) {
            const uint64_t v = t.read(kN);
            const bool ok = v < kN / 2 ? std::binary_search(done.begin(), done.end(), v)
                                       : std::binary_search(open.begin(), open.end(), kN - v);
            if (!ok) bad.fetch_add(1);
            reads.fetch_add(1);
        }
    };
    std::thread r1(reader), r2(reader);
    while (reads.load() == 0) std::this_thread::yield();  // the readers run before the writer starts
    for (uint64_t k = 0; k < kSlices; ++k) {
        t.switch_in(1000 * (k + 1));
        t.switch_out(1000 * (k + 1) + 1 + k % 5);
    }
    stop.store(true, std::memory_order_release);
    r1.join();
    r2.join();
    REQUIRE(bad.load() == 0);
    REQUIRE(reads.load() > 0);
    REQUIRE(t.read(kN) == done[kSlices]);
}
