// tasks_test.cpp — host tests of workloads "imbalance" and "consolidation": task costs, metrics, result lines.
#include <catch2/catch_test_macros.hpp>
#include <string>

#include "consolidation.h"
#include "imbalance.h"

TEST_CASE("imbalance: task costs are 1..10 units, seeded, and reach both ends", "[workloads]") {
    uint32_t lo = 99, hi = 0;
    for (uint32_t k = 0; k < 48; ++k) {
        const uint32_t u = bench::imbalance_task_units(bench::kImbalanceDefaultSeed, k);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    CHECK(lo == 1);
    CHECK(hi == 10);
    // The default shape's per-thread totals (also checked by harness/tests/test_policy_tasks.py).
    const uint64_t want[6] = {50, 46, 60, 46, 54, 37};
    for (uint32_t i = 0; i < 6; ++i)
        CHECK(bench::imbalance_thread_units(bench::kImbalanceDefaultSeed, i, 8) == want[i]);
    CHECK(bench::imbalance_task_units(17, 0) + bench::imbalance_task_units(17, 1) +
              bench::imbalance_task_units(17, 2) !=
          0);
}

TEST_CASE("imbalance: makespan, ideal and efficiency", "[workloads]") {
    bench::ImbalanceMetrics m{};
    // Three threads of 100, 100 and 200 cycles on 2 CPUs: ideal 200 (the longest thread; 400/2).
    const uint64_t cpu[3] = {100, 100, 200};
    const uint64_t fin[3] = {150, 210, 250};
    REQUIRE(bench::imbalance_metrics(cpu, fin, 3, 2, m));
    CHECK(m.makespan == 250);
    CHECK(m.ideal == 200);
    CHECK(m.efficiency_ppm == 800000);
    // On one CPU the sum is the bound.
    REQUIRE(bench::imbalance_metrics(cpu, fin, 3, 1, m));
    CHECK(m.ideal == 400);
    CHECK(m.efficiency_ppm == 1600000);  // a makespan below the ideal shows (CPU time over-charged)
    const uint64_t zero[3] = {0, 0, 0};
    CHECK_FALSE(bench::imbalance_metrics(cpu, zero, 3, 2, m));
    CHECK_FALSE(bench::imbalance_metrics(cpu, fin, 3, 0, m));
}

TEST_CASE("imbalance: the result line", "[workloads]") {
    const uint64_t cpu[2] = {100, 300};
    const uint64_t fin[2] = {120, 400};
    const uint64_t busy[2] = {500000, 1000000};
    char buf[512];
    bench::ImbalanceLine l{"capos", 2, 2, 3, 16, 128, 1000, cpu, fin, busy, true};
    REQUIRE(bench::format_imbalance_line(buf, sizeof buf, l) != 0);
    const std::string u = std::to_string(bench::imbalance_thread_units(16, 0, 3)) + "," +
                          std::to_string(bench::imbalance_thread_units(16, 1, 3));
    CHECK(std::string(buf) ==
          "[imbalance] os=capos cpus=2 threads=2 tasks=3 seed=16 unit_blocks=128 tsc_hz=1000 units=" + u +
              " cpu=100,300 finish=120,400 makespan=400 ideal=300 efficiency_ppm=750000 "
              "busy_ppm=500000,1000000 verified=true");
    l.verified = false;
    REQUIRE(bench::format_imbalance_line(buf, sizeof buf, l) != 0);
    CHECK(std::string(buf).find("makespan=0 ideal=0 efficiency_ppm=0") != std::string::npos);
    CHECK(std::string(buf).find("verified=false") != std::string::npos);
    CHECK(bench::format_imbalance_line(buf, 40, l) == 0);  // does not fit: nothing to print
}

TEST_CASE("consolidation: used CPUs, fractions and the result line", "[workloads]") {
    const uint64_t busy[3] = {600000, 100000, 100001};
    CHECK(bench::consolidation_cpus_used(busy, 3) == 2);  // exactly 10 % is not used
    CHECK(bench::consolidation_ppm(1, 4) == 250000);
    CHECK(bench::consolidation_ppm(5, 4) == 1000000);
    CHECK(bench::consolidation_ppm(1, 0) == 0);
    const uint64_t periods[2] = {10, 10}, missed[2] = {0, 3};
    const uint64_t b2[2] = {700000, 20000};
    char buf[512];
    REQUIRE(bench::format_consolidation_line(
                buf, sizeof buf,
                bench::ConsolidationLine{"linux", 2, 2, 20000, 200000, 999, 7, periods, missed, b2, true}) != 0);
    CHECK(std::string(buf) ==
          "[consolidation] os=linux cpus=2 threads=2 period_us=20000 est_duty_ppm=200000 window=999 work_blocks=7 "
          "periods=10,10 missed=0,3 busy_ppm=700000,20000 idle_ppm=300000,980000 cpus_used=1 load_ppm=720000 "
          "verified=true");
    REQUIRE(bench::format_consolidation_line(
                buf, sizeof buf,
                bench::ConsolidationLine{"linux", 2, 2, 20000, 200000, 999, 7, periods, missed, b2, false}) != 0);
    CHECK(std::string(buf).find("cpus_used=0 load_ppm=0 verified=false") != std::string::npos);
}
