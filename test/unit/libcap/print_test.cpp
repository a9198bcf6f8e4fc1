// print_test.cpp - formatted printing: one write per call, splitting of long output, snprint.
#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

#include "libcap/print.h"

namespace {

struct Capture {
    std::vector<std::string> writes;
    static void sink(void* ctx, const char* s, size_t n) { static_cast<Capture*>(ctx)->writes.emplace_back(s, n); }
};

}  // namespace

TEST_CASE("print formats with the kernel formatter and writes once per call", "[libcap][print]") {
    Capture c;
    cap::set_output(&Capture::sink, &c);
    CHECK(cap::print("[init] hello %s %d 0x%08x %zu\n", "user", -5, 0xbeefu, size_t{7}) ==
          std::string("[init] hello user -5 0x0000beef 7\n").size());
    REQUIRE(c.writes.size() == 1);
    CHECK(c.writes[0] == "[init] hello user -5 0x0000beef 7\n");
    // Several lines in one call still go out as one write (atomic per call).
    cap::print("a\nb\nc\n");
    REQUIRE(c.writes.size() == 2);
    CHECK(c.writes[1] == "a\nb\nc\n");
    // Nothing produced, nothing written.
    cap::print("%s", "");
    CHECK(c.writes.size() == 2);
    cap::set_output(nullptr, nullptr);
    cap::print("dropped\n");
    CHECK(c.writes.size() == 2);
}

TEST_CASE("output longer than the buffer is split at buffer boundaries, nothing lost", "[libcap][print]") {
    Capture c;
    cap::set_output(&Capture::sink, &c);
    std::string big(cap::kPrintBuffer * 2 + 100, 'q');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    CHECK(cap::print("%s", big.c_str()) == big.size());
    REQUIRE(c.writes.size() == 3);
    CHECK(c.writes[0].size() == cap::kPrintBuffer);
    CHECK(c.writes[1].size() == cap::kPrintBuffer);
    CHECK(c.writes[0] + c.writes[1] + c.writes[2] == big);
    c.writes.clear();
    cap::write(big.data(), 10);
    REQUIRE(c.writes.size() == 1);
    CHECK(c.writes[0] == big.substr(0, 10));
    cap::set_output(nullptr, nullptr);
}

TEST_CASE("snprint truncates and reports the full length", "[libcap][print]") {
    char buf[8];
    CHECK(cap::snprint(buf, sizeof buf, "%d-%d", 1234, 5678) == 9);
    CHECK(std::string(buf) == "1234-56");
}
