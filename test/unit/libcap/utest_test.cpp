// utest_test.cpp - the in-guest test framework's registry, runner output lines and filter parsing.
#include <catch2/catch_test_macros.hpp>

#include <string>

#include "libcap/print.h"
#include "libcap/test.h"

namespace {

std::string g_out;
void capture(void*, const char* s, size_t n) { g_out.append(s, n); }

int g_after_require = 0;

}  // namespace

// These register into the framework's global registry at static-init time,
// exactly as they would in a guest program.
CAP_TEST(passes) {
    CAP_CHECK(1 + 1 == 2);
    CAP_CHECK(true);
}

CAP_TEST(fails_twice) {
    CAP_CHECK(2 + 2 == 5);
    CAP_CHECK(false);  // the first failure is the one reported
}

CAP_TEST(require_stops) {
    CAP_REQUIRE(false);
    g_after_require++;
}

TEST_CASE("runner prints one parseable line per case and a summary", "[libcap][utest]") {
    g_out.clear();
    cap::set_output(&capture, nullptr);
    const auto s = cap::test::run_all("demo");
    cap::set_output(nullptr, nullptr);
    CHECK(s.passed == 1);
    CHECK(s.failed == 2);
    CHECK(g_after_require == 0);
    const std::string file = __FILE__;
    const std::string expect =
        "[utest] demo.passes PASS\n"
        "[utest] demo.fails_twice FAIL: " +
        file +
        ":26 2 + 2 == 5\n"
        "[utest] demo.require_stops FAIL: " +
        file +
        ":31 false\n"
        "[utest] demo 1 passed, 2 failed\n";
    CHECK(g_out == expect);
}

TEST_CASE("a filter runs one case", "[libcap][utest]") {
    g_out.clear();
    cap::set_output(&capture, nullptr);
    const auto s = cap::test::run_all("demo", "passes");
    cap::set_output(nullptr, nullptr);
    CHECK(s.passed == 1);
    CHECK(s.failed == 0);
    CHECK(g_out == "[utest] demo.passes PASS\n[utest] demo 1 passed, 0 failed\n");
}

TEST_CASE("utest= is found only as a word of the command line", "[libcap][utest]") {
    char buf[16];
    CHECK(std::string(cap::test::filter_from_args("utest=ring_nop", buf, sizeof buf)) == "ring_nop");
    CHECK(std::string(cap::test::filter_from_args("init quiet utest=heap x", buf, sizeof buf)) == "heap");
    CHECK(std::string(cap::test::filter_from_args("notutest=heap", buf, sizeof buf)).empty());
    CHECK(std::string(cap::test::filter_from_args("", buf, sizeof buf)).empty());
    CHECK(std::string(cap::test::filter_from_args(nullptr, buf, sizeof buf)).empty());
    CHECK(std::string(cap::test::filter_from_args("utest=waytoolongname_here", buf, sizeof buf)).empty());
}

TEST_CASE("ucase= wins over utest= and names one case", "[libcap][utest]") {
    char buf[16];
    CHECK(std::string(cap::test::filter_from_args("cpus=2 ucase=heap", buf, sizeof buf)) == "heap");
    CHECK(std::string(cap::test::filter_from_args("utest=ring ucase=heap", buf, sizeof buf)) == "heap");
    CHECK(std::string(cap::test::filter_from_args("cpus=2 xucase=heap", buf, sizeof buf)).empty());
    // Too long: cut, so it names no case (and the run says so), never "run all".
    CHECK(std::string(cap::test::filter_from_args("ucase=waytoolongname_here", buf, sizeof buf)) == "waytoolongname_");
}

TEST_CASE("a filter that names no case fails with the reason", "[libcap][utest]") {
    g_out.clear();
    cap::set_output(&capture, nullptr);
    const auto s = cap::test::run_all("demo", "pases");
    cap::set_output(nullptr, nullptr);
    CHECK(s.passed == 0);
    CHECK(s.failed == 1);
    CHECK(g_out == "[utest] demo: no case named 'pases'\n[utest] demo 0 passed, 1 failed\n");
}
