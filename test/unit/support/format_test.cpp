// format_test.cpp: the kernel's printf-style formatter against expected strings.
#include <catch2/catch_test_macros.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "capos/fmt/format.h"

using capos::fmt::snformat;

namespace {
// Each test passes a literal format through f(); clang's -Wformat-security
// sees only the parameter.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-security"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
template <class... A>
std::string f(const char* fmt, A... a) {
    char buf[256];
    snformat(buf, sizeof buf, fmt, a...);
    return buf;
}
#pragma GCC diagnostic pop
}  // namespace

TEST_CASE("integers", "[format]") {
    CHECK(f("%d", 0) == "0");
    CHECK(f("%d", -42) == "-42");
    CHECK(f("%i", 2147483647) == "2147483647");
    CHECK(f("%d", INT32_MIN) == "-2147483648");
    CHECK(f("%lld", static_cast<long long>(INT64_MIN)) == "-9223372036854775808");
    CHECK(f("%llu", static_cast<unsigned long long>(UINT64_MAX)) == "18446744073709551615");
    CHECK(f("%u", 4000000000u) == "4000000000");
    CHECK(f("%x", 0xdeadbeefu) == "deadbeef");
    CHECK(f("%X", 0xdeadbeefu) == "DEADBEEF");
    CHECK(f("%o", 8u) == "10");
    CHECK(f("%b", 5u) == "101");
    CHECK(f("%zu", static_cast<size_t>(123)) == "123");
    CHECK(f("%hhu", 300) == "44");
    CHECK(f("%hd", 70000) == "4464");
}

TEST_CASE("flags, width and precision", "[format]") {
    CHECK(f("%5d|", 42) == "   42|");
    CHECK(f("%-5d|", 42) == "42   |");
    CHECK(f("%05d", -42) == "-0042");
    CHECK(f("%+d", 5) == "+5");
    CHECK(f("% d", 5) == " 5");
    CHECK(f("%#x", 255u) == "0xff");
    CHECK(f("%#018llx", 0xffffffff80000000ull) == "0xffffffff80000000");
    CHECK(f("%#010x", 0x1234u) == "0x00001234");
    CHECK(f("%.3d", 7) == "007");
    CHECK(f("%*d", 4, 7) == "   7");
    CHECK(f("%-*d|", 4, 7) == "7   |");
    CHECK(f("%.0d", 0).empty());
}

TEST_CASE("strings, chars and pointers", "[format]") {
    CHECK(f("%s", "abc") == "abc");
    CHECK(f("%5s|", "ab") == "   ab|");
    CHECK(f("%-5s|", "ab") == "ab   |");
    CHECK(f("%.2s", "abcdef") == "ab");
    CHECK(f("%.*s", 3, "abcdef") == "abc");
    CHECK(f("%s", static_cast<const char*>(nullptr)) == "(null)");
    CHECK(f("%c%c", 'o', 'k') == "ok");
    CHECK(f("100%%") == "100%");
    CHECK(f("%p", reinterpret_cast<void*>(0x1000)) == "0x1000");
}

TEST_CASE("matches the C library on common conversions", "[format]") {
    const char* fmts[] = {"%d", "%5d", "%-8x|", "%08X", "%+.4d", "%#o"};
    for (const char* fmt : fmts) {
        for (int v : {0, 1, -1, 255, -4096, 123456789}) {
            char mine[64], libc[64];
            snformat(mine, sizeof mine, fmt, v);
            std::snprintf(libc, sizeof libc, fmt, v);
            INFO(fmt << " " << v);
            CHECK(std::string(mine) == std::string(libc));
        }
    }
}

TEST_CASE("truncation keeps the NUL and reports the full length", "[format]") {
    char buf[6];
    size_t n = snformat(buf, sizeof buf, "%s-%d", "hello", 12345);
    CHECK(n == 11);
    CHECK(std::string(buf) == "hello");
    char one[1];
    CHECK(snformat(one, 1, "abc") == 3);
    CHECK(one[0] == '\0');
}

TEST_CASE("unknown conversion is visible and consumes nothing", "[format]") {
    CHECK(f("%q %d", 7) == "%?q 7");
    CHECK(f("trailing %") == "trailing %");
}
