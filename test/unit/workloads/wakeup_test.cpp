// wakeup_test.cpp — host tests of workload "wakeup": the sort, nearest-rank percentiles and the result line.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "wakeup.h"

TEST_CASE("wakeup: heap sort agrees with std::sort", "[wakeup]") {
    std::mt19937_64 rng(7);
    for (uint32_t n : {0u, 1u, 2u, 3u, 10u, 1000u, 4096u}) {
        std::vector<uint64_t> v(n);
        for (auto& x : v) x = rng() % 1000;  // many duplicates
        std::vector<uint64_t> want = v;
        std::sort(want.begin(), want.end());
        bench::wakeup_sort(v.data(), n);
        REQUIRE(v == want);
    }
}

TEST_CASE("wakeup: nearest-rank percentiles", "[wakeup]") {
    std::vector<uint64_t> v(1000);
    for (uint32_t i = 0; i < 1000; ++i) v[i] = i + 1;  // 1..1000
    REQUIRE(bench::wakeup_quantile(v.data(), 1000, 500'000) == 500);
    REQUIRE(bench::wakeup_quantile(v.data(), 1000, 990'000) == 990);
    REQUIRE(bench::wakeup_quantile(v.data(), 1000, 999'000) == 999);
    REQUIRE(bench::wakeup_quantile(v.data(), 1000, 1'000'000) == 1000);
    // Few samples: the 99.9th percentile of 10 is the largest (rank ceil(9.99) = 10).
    REQUIRE(bench::wakeup_quantile(v.data(), 10, 999'000) == 10);
    REQUIRE(bench::wakeup_quantile(v.data(), 10, 500'000) == 5);
    REQUIRE(bench::wakeup_quantile(v.data(), 1, 0) == 1);
    REQUIRE(bench::wakeup_quantile(v.data(), 0, 500'000) == 0);
}

TEST_CASE("wakeup: the result line sorts its samples and reports them", "[wakeup]") {
    uint64_t s[5] = {50, 10, 40, 20, 30};
    char buf[400];
    REQUIRE(bench::format_wakeup_line(buf, sizeof buf,
                                      bench::WakeupLine{"capos", "timer", 2, 2, 1000, 5000, s, 5, 3, true}) != 0);
    REQUIRE(std::string(buf) ==
            "[wakeup] os=capos kind=timer cpus=2 hogs=2 tsc_hz=1000 period_us=5000 samples=5 dropped=3 "
            "p50=30 p99=50 p999=50 max=50 verified=true");
    // No samples: not verified whatever the caller says, and zeros.
    REQUIRE(bench::format_wakeup_line(buf, sizeof buf,
                                      bench::WakeupLine{"linux", "message", 2, 2, 1000, 5000, s, 0, 0, true}) != 0);
    REQUIRE(std::string(buf).find("samples=0 dropped=0 p50=0 p99=0 p999=0 max=0 verified=false") != std::string::npos);
    REQUIRE(bench::format_wakeup_line(buf, 30, bench::WakeupLine{"capos", "timer", 2, 2, 1000, 5000, s, 5, 0, true}) ==
            0);
}
