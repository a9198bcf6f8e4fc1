// cmdline_test.cpp: kernel command line tokenizer and option checks.
#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

#include "boot/cmdline.h"

using namespace kern;

namespace {
const CmdlineOption kOpts[] = {{"test", true, ""}, {"quiet", false, ""}};
std::vector<std::pair<std::string, std::string>> tokens(const std::string& s) {
    std::vector<std::pair<std::string, std::string>> out;
    cmdline_for_each(s.data(), s.size(), [&](const CmdlineToken& t) {
        out.emplace_back(std::string(t.key, t.key_len), t.value ? std::string(t.value, t.value_len) : "<none>");
    });
    return out;
}
CmdlineIssue check(const std::string& s) {
    CmdlineIssue issue = CmdlineIssue::ok;
    cmdline_for_each(s.data(), s.size(), [&](const CmdlineToken& t) { issue = cmdline_check(t, kOpts, 2); });
    return issue;
}
}  // namespace

TEST_CASE("tokenizes keys and values", "[cmdline]") {
    auto t = tokens("  test=boot   quiet\tx=a=b ");
    REQUIRE(t.size() == 3);
    CHECK(t[0] == std::make_pair(std::string("test"), std::string("boot")));
    CHECK(t[1] == std::make_pair(std::string("quiet"), std::string("<none>")));
    CHECK(t[2] == std::make_pair(std::string("x"), std::string("a=b")));
    CHECK(tokens("").empty());
    CHECK(tokens("   ").empty());
}

TEST_CASE("stops at an embedded NUL", "[cmdline]") {
    std::string s("quiet\0test=x", 12);
    CHECK(tokens(s).size() == 1);
}

TEST_CASE("checks options", "[cmdline]") {
    CHECK(check("test=pagefault") == CmdlineIssue::ok);
    CHECK(check("quiet") == CmdlineIssue::ok);
    CHECK(check("bogus") == CmdlineIssue::unknown_option);
    CHECK(check("tes=x") == CmdlineIssue::unknown_option);
    CHECK(check("testing=x") == CmdlineIssue::unknown_option);
    CHECK(check("test") == CmdlineIssue::missing_value);
    CHECK(check("test=") == CmdlineIssue::missing_value);
    CHECK(check("quiet=1") == CmdlineIssue::unexpected_value);
}

TEST_CASE("copies values with truncation report", "[cmdline]") {
    std::string s = "test=abcdef";
    bool ok = true;
    char small[4];
    cmdline_for_each(s.data(), s.size(),
                     [&](const CmdlineToken& t) { ok = cmdline_copy_value(t, small, sizeof small); });
    CHECK_FALSE(ok);
    CHECK(std::string(small) == "abc");
    char big[16];
    cmdline_for_each(s.data(), s.size(), [&](const CmdlineToken& t) { ok = cmdline_copy_value(t, big, sizeof big); });
    CHECK(ok);
    CHECK(std::string(big) == "abcdef");
}

TEST_CASE("compares a value exactly", "[cmdline]") {
    auto is = [](const std::string& s, const char* v) {
        bool r = false;
        cmdline_for_each(s.data(), s.size(), [&](const CmdlineToken& t) { r = cmdline_value_is(t, v); });
        return r;
    };
    CHECK(is("tick=periodic", "periodic"));
    CHECK_FALSE(is("tick=periodical", "periodic"));
    CHECK_FALSE(is("tick=period", "periodic"));
    CHECK_FALSE(is("tick", "periodic"));
    CHECK_FALSE(is("tick=", "periodic"));
    CHECK(is("tick=", ""));
}
