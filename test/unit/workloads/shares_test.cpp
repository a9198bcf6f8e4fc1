// shares_test.cpp — host tests of workload "shares": fair shares by water-filling, the metrics, the result line.
#include <catch2/catch_test_macros.hpp>

#include <cstdint>
#include <cstring>
#include <string>

#include "shares.h"

namespace {
constexpr uint32_t kW[6] = {1024, 1024, 335, 335, 110, 110};
}

TEST_CASE("shares: expected shares are proportional to the weights when no thread needs a whole CPU", "[shares]") {
    uint64_t e[6] = {};
    const uint64_t window = 1'000'000'000;
    REQUIRE(bench::shares_expected(kW, 6, 2 * window, window, e));
    // 2 CPUs x 1e9 cycles split 1024:1024:335:335:110:110 (sum 2938).
    REQUIRE(e[0] == e[1]);
    REQUIRE(e[0] > 697'000'000);
    REQUIRE(e[0] < 697'100'000);  // 2e9 * 1024 / 2938 = 697,072,838
    REQUIRE(e[2] > 228'000'000);
    REQUIRE(e[2] < 228'100'000);  // 228,046,290
    REQUIRE(e[4] > 74'880'000);
    REQUIRE(e[4] < 74'890'000);  // 74,880,871
    uint64_t sum = 0;
    for (uint64_t v : e) sum += v;
    REQUIRE(sum <= 2 * window);
    REQUIRE(sum > 2 * window - 10);
}

TEST_CASE("shares: a thread never gets more than one CPU; the rest is shared again", "[shares]") {
    // 3 threads on 2 CPUs, weights 10000:1:1: proportionally the first would
    // get 1.9998 CPUs, but it can use only one; the other two split the
    // second CPU evenly.
    const uint32_t w[3] = {10000, 1, 1};
    uint64_t e[3] = {};
    REQUIRE(bench::shares_expected(w, 3, 2000, 1000, e));
    REQUIRE(e[0] == 1000);
    REQUIRE(e[1] == 500);
    REQUIRE(e[2] == 500);
    // Fewer threads than CPUs: each gets the window, and no more.
    const uint32_t w2[2] = {1, 5};
    REQUIRE(bench::shares_expected(w2, 2, 4000, 1000, e));
    REQUIRE(e[0] == 1000);
    REQUIRE(e[1] == 1000);
}

TEST_CASE("shares: bad input is refused", "[shares]") {
    uint64_t e[bench::kSharesMaxThreads] = {};
    const uint32_t zero[2] = {5, 0};
    REQUIRE_FALSE(bench::shares_expected(zero, 2, 100, 100, e));
    REQUIRE_FALSE(bench::shares_expected(kW, 0, 100, 100, e));
    REQUIRE_FALSE(bench::shares_expected(kW, bench::kSharesMaxThreads + 1, 100, 100, e));
    REQUIRE_FALSE(bench::shares_expected(kW, 6, 0, 100, e));
    bench::SharesMetrics m{};
    const uint64_t c[6] = {1, 1, 1, 1, 1, 1};
    REQUIRE_FALSE(bench::shares_metrics(kW, c, 6, 0, 100, m));
}

TEST_CASE("shares: metrics of an exact, a skewed and an evenly short run", "[shares]") {
    const uint64_t window = 2'938'000;
    bench::SharesMetrics m{};
    uint64_t exact[6];
    REQUIRE(bench::shares_expected(kW, 6, 2 * window, window, exact));
    REQUIRE(bench::shares_metrics(kW, exact, 6, 2, window, m));
    REQUIRE(m.max_abs_err_ppm == 0);
    REQUIRE(m.jain_ppm == 1'000'000);
    REQUIRE(m.used_ppm == 1'000'000);

    // Everyone 10 % short (overhead elsewhere): every error -10 %, Jain 1.
    uint64_t short_[6];
    for (int i = 0; i < 6; ++i) short_[i] = exact[i] * 9 / 10;
    REQUIRE(bench::shares_metrics(kW, short_, 6, 2, window, m));
    for (int i = 0; i < 6; ++i) REQUIRE(m.err_ppm[i] == -100'000);
    REQUIRE(m.max_abs_err_ppm == 100'000);
    REQUIRE(m.jain_ppm == 1'000'000);
    REQUIRE(m.used_ppm == 900'000);

    // Weights ignored (every thread a third of a CPU): the light threads get
    // 4.5x their share, the heavy ones half.
    uint64_t equal[6];
    for (auto& v : equal) v = 2 * window / 6;
    REQUIRE(bench::shares_metrics(kW, equal, 6, 2, window, m));
    REQUIRE(m.err_ppm[0] < -500'000);
    REQUIRE(m.err_ppm[4] > 3'000'000);
    REQUIRE(m.max_abs_err_ppm == static_cast<uint64_t>(m.err_ppm[4]));
    // x = (1/3) / (2 w / 2938): Jain (sum x)^2 / (6 sum x^2) = 0.61388.
    REQUIRE(m.jain_ppm > 613'500);
    REQUIRE(m.jain_ppm < 614'300);
}

TEST_CASE("shares: weight lists parse strictly", "[shares]") {
    uint32_t out[4] = {};
    REQUIRE(bench::shares_parse_weights("1024:335:110", out, 4) == 3);
    REQUIRE(out[0] == 1024);
    REQUIRE(out[2] == 110);
    REQUIRE(bench::shares_parse_weights("10000", out, 4) == 1);
    REQUIRE(bench::shares_parse_weights("10001", out, 4) == 0);
    REQUIRE(bench::shares_parse_weights("0:5", out, 4) == 0);
    REQUIRE(bench::shares_parse_weights("5:", out, 4) == 0);
    REQUIRE(bench::shares_parse_weights("5::6", out, 4) == 0);
    REQUIRE(bench::shares_parse_weights("1:2:3:4:5", out, 4) == 0);
    REQUIRE(bench::shares_parse_weights("", out, 4) == 0);
    REQUIRE(bench::shares_parse_weights(nullptr, out, 4) == 0);
    REQUIRE(bench::shares_parse_weights("a", out, 4) == 0);
}

TEST_CASE("shares: nice values reproduce the weights", "[shares]") {
    REQUIRE(bench::shares_nice_of(1024) == 0);
    REQUIRE(bench::shares_nice_of(335) == 5);
    REQUIRE(bench::shares_nice_of(110) == 10);
    REQUIRE(bench::shares_nice_of(100) == -100);
}

TEST_CASE("shares: the result line", "[shares]") {
    const uint32_t w[2] = {1024, 110};
    const uint64_t c[2] = {900, 50};
    char buf[512];
    const size_t n =
        bench::format_shares_line(buf, sizeof buf, bench::SharesLine{"capos", "threads", 1, 2, 1000, w, c, true, 25});
    REQUIRE(n == std::strlen(buf));
    // 1 CPU x 1000 cycles: expected 1000*1024/1134 = 902 and 97.
    REQUIRE(
        std::string(buf) ==
        "[shares] os=capos variant=threads cpus=1 threads=2 window=1000 weights=1024,110 cycles=900,50 "
        "expected=902,97 err_ppm=-2217,-484536 max_err_ppm=484536 jain_ppm=907779 used_ppm=950000 late_ppm=25000 verified=true");
    // Not verified: the metrics are zeros and verified=false.
    REQUIRE(bench::format_shares_line(buf, sizeof buf,
                                      bench::SharesLine{"linux", "procs", 1, 2, 1000, w, c, false, 0}) != 0);
    REQUIRE(std::string(buf).find(
                "expected=0,0 err_ppm=0,0 max_err_ppm=0 jain_ppm=0 used_ppm=0 late_ppm=0 verified=false") !=
            std::string::npos);
    REQUIRE(bench::format_shares_line(buf, 40, bench::SharesLine{"capos", "threads", 1, 2, 1000, w, c, true, 25}) == 0);
}
