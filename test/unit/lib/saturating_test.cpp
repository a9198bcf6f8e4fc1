// saturating_test.cpp - saturating_add: exact below the maximum, pinned at it above.
#include <catch2/catch_test_macros.hpp>

#include <stdint.h>

#include "lib/saturating.h"

using kern::saturating_add;

TEST_CASE("saturating_add is exact when the sum fits", "[saturating]") {
    CHECK(saturating_add(0, 0) == 0);
    CHECK(saturating_add(1'000, 250) == 1'250);
    CHECK(saturating_add(UINT64_MAX - 5, 5) == UINT64_MAX);
    CHECK(saturating_add(0, UINT64_MAX) == UINT64_MAX);
}

TEST_CASE("saturating_add pins at UINT64_MAX instead of wrapping", "[saturating]") {
    CHECK(saturating_add(UINT64_MAX - 5, 6) == UINT64_MAX);
    CHECK(saturating_add(UINT64_MAX, 1) == UINT64_MAX);
    CHECK(saturating_add(UINT64_MAX, UINT64_MAX) == UINT64_MAX);
    // A user's "wait forever" timeout from a late clock stays in the future.
    const uint64_t now = 0x8000'0000'0000'0000ull;
    CHECK(saturating_add(now, 0x9000'0000'0000'0000ull) > now);
}

TEST_CASE("saturating_add is usable in constant expressions", "[saturating]") {
    static_assert(saturating_add(2, 3) == 5);
    static_assert(saturating_add(UINT64_MAX, 2) == UINT64_MAX);
}
