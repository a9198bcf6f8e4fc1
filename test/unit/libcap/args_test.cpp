// args_test.cpp - libcap's string helpers and `key=value` module arguments (libcap/args.h).
#include <catch2/catch_test_macros.hpp>

#include <string>

#include "libcap/args.h"

TEST_CASE("len_of and str_eq", "[libcap][args]") {
    CHECK(cap::len_of(nullptr) == 0);
    CHECK(cap::len_of("") == 0);
    CHECK(cap::len_of("spawner") == 7);
    CHECK(cap::str_eq("init", "init"));
    CHECK_FALSE(cap::str_eq("init", "ini"));
    CHECK_FALSE(cap::str_eq("ini", "init"));
    CHECK(cap::str_eq(nullptr, nullptr));
    CHECK_FALSE(cap::str_eq("x", nullptr));
    CHECK_FALSE(cap::str_eq(nullptr, ""));
    // Counted first operand (a name from a message, not NUL-terminated).
    const char name[] = {'c', 'o', 'n', 's', 'o', 'l', 'e', '!'};
    CHECK(cap::str_eq(name, 7, "console"));
    CHECK_FALSE(cap::str_eq(name, 7, "consol"));
    CHECK_FALSE(cap::str_eq(name, 7, "consoles"));
    CHECK_FALSE(cap::str_eq(name, 8, "console"));
    CHECK(cap::str_eq(name, 0, ""));
}

TEST_CASE("arg_u64 reads key=value words", "[libcap][args]") {
    const char* args = "workers=4  range=1000 big=18446744073709551615 bad=x12 mixed=12ab empty=";
    CHECK(cap::arg_u64(args, "workers", 9) == 4);
    CHECK(cap::arg_u64(args, "range", 9) == 1000);
    CHECK(cap::arg_u64(args, "big", 0) == 18446744073709551615ull);
    CHECK(cap::arg_u64(args, "bad", 9) == 9);     // not starting with a digit
    CHECK(cap::arg_u64(args, "mixed", 9) == 12);  // stops at the first non-digit
    CHECK(cap::arg_u64(args, "empty", 9) == 9);
    CHECK(cap::arg_u64(args, "absent", 7) == 7);
    CHECK(cap::arg_u64(args, "work", 7) == 7);    // a prefix of a key is not the key
    CHECK(cap::arg_u64(args, "orkers", 7) == 7);  // nor is a suffix
    CHECK(cap::arg_u64(nullptr, "workers", 5) == 5);
    CHECK(cap::arg_u64("", "workers", 5) == 5);
    // The first word with the key wins.
    CHECK(cap::arg_u64("n=1 n=2", "n", 0) == 1);
    // A bare word with the key has no value: the word `key=...` after it counts.
    CHECK(cap::arg_u64("n n=2", "n", 0) == 2);
    // Only spaces separate: a tab is part of the word.
    CHECK(cap::arg_u64("a=1\tn=2", "n", 0) == 0);
    CHECK(cap::arg_u64("a=1\tn=2", "a", 0) == 1);
}

TEST_CASE("arg_str copies a value up to the next space, truncating", "[libcap][args]") {
    const char* args = "mode=fast name=worker-1 flag";
    char out[16];
    REQUIRE(cap::arg_str(args, "name", out, sizeof out));
    CHECK(std::string(out) == "worker-1");
    REQUIRE(cap::arg_str(args, "mode", out, sizeof out));
    CHECK(std::string(out) == "fast");
    char small[4];
    REQUIRE(cap::arg_str(args, "name", small, sizeof small));
    CHECK(std::string(small) == "wor");
    CHECK_FALSE(cap::arg_str(args, "flag", out, sizeof out));  // a bare word has no value
    CHECK_FALSE(cap::arg_str(args, "absent", out, sizeof out));
    CHECK_FALSE(cap::arg_str(args, "name", out, 0));
    REQUIRE(cap::arg_str("k= next=1", "k", out, sizeof out));
    CHECK(std::string(out).empty());
    REQUIRE(cap::arg_str("k=a=b", "k", out, sizeof out));  // split at the first '='
    CHECK(std::string(out) == "a=b");
}
