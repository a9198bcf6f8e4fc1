// result_test.cpp - Result<T>, Result<void> and TRY propagation.
#include <catch2/catch_test_macros.hpp>

#include <string>

#include "lib/result.h"

using kern::Error;
using kern::Result;

namespace {

Result<int> parse_digit(char c) {
    if (c < '0' || c > '9') return Error::invalid_argument;
    return c - '0';
}

Result<int> sum_two(const char* s) {
    const int a = TRY(parse_digit(s[0]));
    const int b = TRY(parse_digit(s[1]));
    return a + b;
}

Result<void> check_even(int v) {
    if (v % 2 != 0) return Error::out_of_range;
    return kern::ok();
}

Result<int> half_of_sum(const char* s) {
    const int v = TRY(sum_two(s));
    TRY(check_even(v));
    return v / 2;
}

// A type with a live-object count, to prove Result constructs and destroys
// its value exactly once.
struct Counted {
    static inline int live = 0;
    int v;
    explicit Counted(int x) : v(x) { ++live; }
    Counted(const Counted& o) : v(o.v) { ++live; }
    Counted(Counted&& o) noexcept : v(o.v) { ++live; }
    Counted& operator=(const Counted&) = default;
    ~Counted() { --live; }
};

Result<Counted> make_counted(bool fail) {
    if (fail) return Error::out_of_memory;
    return Counted(7);
}

}  // namespace

TEST_CASE("result: values and errors", "[result]") {
    auto r = parse_digit('4');
    REQUIRE(r.ok());
    CHECK(r.value() == 4);
    CHECK(r.error() == Error::none);
    auto e = parse_digit('x');
    CHECK_FALSE(e.ok());
    CHECK(e.error() == Error::invalid_argument);
    CHECK(e.value_or(-1) == -1);
}

TEST_CASE("result: TRY propagates the first error", "[result]") {
    CHECK(sum_two("34").value() == 7);
    CHECK(sum_two("3x").error() == Error::invalid_argument);
    CHECK(half_of_sum("35").value() == 4);
    CHECK(half_of_sum("34").error() == Error::out_of_range);
    CHECK(half_of_sum("x4").error() == Error::invalid_argument);
}

TEST_CASE("result: non-trivial values are destroyed exactly once", "[result]") {
    {
        auto a = make_counted(false);
        REQUIRE(a.ok());
        CHECK(a.value().v == 7);
        auto b = a;
        CHECK(Counted::live == 2);
        auto c = make_counted(true);
        c = b;
        CHECK(c.ok());
        CHECK(Counted::live == 3);
        c = make_counted(true);
        CHECK_FALSE(c.ok());
        CHECK(Counted::live == 2);
    }
    CHECK(Counted::live == 0);
}

TEST_CASE("result: every error has a distinct name", "[result]") {
    CHECK(std::string(kern::error_name(Error::none)) == "none");
    CHECK(std::string(kern::error_name(Error::double_free)) == "double_free");
    CHECK(std::string(kern::error_name(static_cast<Error>(999))) == "unknown_error");
    for (uint16_t a = 0; a <= static_cast<uint16_t>(Error::capacity); ++a) {
        for (uint16_t b = 0; b < a; ++b) {
            CHECK(std::string(kern::error_name(static_cast<Error>(a))) !=
                  std::string(kern::error_name(static_cast<Error>(b))));
        }
    }
}
