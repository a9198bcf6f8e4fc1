// args_test.cpp - host tests of the benchmark programs' `key=value` argument parser.
#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <string>

#include "args.h"

using benchcap::Args;

TEST_CASE("args: words separated by spaces and commas") {
    Args a;
    a.add("case=all,hi=300000 blocks=8192\tcpus=2");
    CHECK(a.size() == 4);
    CHECK(std::strcmp(a.get("case"), "all") == 0);
    CHECK(a.u64("hi", 0) == 300000);
    CHECK(a.u64("blocks", 0) == 8192);
    CHECK(a.u64("cpus", 0) == 2);
    CHECK(a.get("workers") == nullptr);
    CHECK(a.u64("workers", 7) == 7);
    CHECK_FALSE(a.has("hi="));
}

TEST_CASE("args: later words override earlier ones (defaults, then the module command line)") {
    Args a;
    a.add("case=process,workers=4");
    a.add("workers=2 cpus=2");
    CHECK(a.size() == 3);
    CHECK(a.u64("workers", 0) == 2);
    CHECK(std::strcmp(a.get("case"), "process") == 0);
}

TEST_CASE("args: malformed numbers fall back") {
    Args a;
    a.add("a=12x b= c=-3 d=18446744073709551615 e=18446744073709551616 bare");
    CHECK(a.u64("a", 9) == 9);
    CHECK(a.u64("b", 9) == 9);
    CHECK(a.u64("c", 9) == 9);
    CHECK(a.u64("d", 9) == 18446744073709551615ull);
    CHECK(a.u64("e", 9) == 9);  // overflow
    REQUIRE(a.has("bare"));
    CHECK(std::strcmp(a.get("bare"), "") == 0);
    CHECK(a.u64("bare", 5) == 5);
}

TEST_CASE("args: prefixes of keys do not match") {
    Args a;
    a.add("workers=3");
    CHECK(a.get("worker") == nullptr);
    CHECK(a.get("workers2") == nullptr);
}

TEST_CASE("args: empty and null input") {
    Args a;
    a.add(nullptr);
    a.add("");
    a.add(" ,, ");
    CHECK(a.size() == 0);
    CHECK(a.get("x") == nullptr);
}

TEST_CASE("args: bounded storage drops what does not fit") {
    Args a;
    std::string many;
    for (int i = 0; i < 40; ++i) many += "k" + std::to_string(i) + "=" + std::to_string(i) + " ";
    a.add(many.c_str());
    CHECK(a.size() == Args::kMaxWords);
    CHECK(a.u64("k0", 99) == 0);
    CHECK(a.u64("k23", 99) == 23);
    CHECK(a.get("k24") == nullptr);
    // Text beyond the buffer is dropped, never overrun.
    Args b;
    const std::string huge = "x=" + std::string(Args::kMaxText * 2, '7');
    b.add(huge.c_str());
    b.add("y=1");
    CHECK(b.get("x") == nullptr);
    CHECK(b.u64("y", 0) == 1);
}
