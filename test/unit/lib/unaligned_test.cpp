// unaligned_test.cpp - little-endian loads and stores at odd offsets of a byte buffer.
#include <catch2/catch_test_macros.hpp>

#include <stdint.h>

#include "lib/unaligned.h"

using namespace kern;

TEST_CASE("loads read little-endian values at any offset", "[unaligned]") {
    const uint8_t b[] = {0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xee};
    // Offset 1: misaligned for every width.
    CHECK(load_le16(b + 1) == 0x0201);
    CHECK(load_le32(b + 1) == 0x04030201u);
    CHECK(load_le64(b + 1) == 0x0807060504030201ull);
    CHECK(load_le16(b + 8) == 0xee08);
    CHECK(load_le32(b) == 0x030201ffu);
}

TEST_CASE("stores write little-endian bytes and nothing else", "[unaligned]") {
    uint8_t b[12];
    for (auto& x : b) x = 0xaa;
    store_le16(b + 1, 0x1234);
    CHECK(b[0] == 0xaa);
    CHECK(b[1] == 0x34);
    CHECK(b[2] == 0x12);
    CHECK(b[3] == 0xaa);
    store_le32(b + 3, 0xdeadbeefu);
    CHECK(b[3] == 0xef);
    CHECK(b[6] == 0xde);
    CHECK(b[7] == 0xaa);
    store_le64(b + 3, 0x1122334455667788ull);
    CHECK(b[3] == 0x88);
    CHECK(b[10] == 0x11);
    CHECK(b[11] == 0xaa);
    CHECK(b[2] == 0x12);
}

TEST_CASE("a store then a load gives the value back", "[unaligned]") {
    uint8_t b[16] = {};
    for (unsigned off = 0; off < 8; ++off) {
        store_le64(b + off, 0x0123456789abcdefull + off);
        CHECK(load_le64(b + off) == 0x0123456789abcdefull + off);
        store_le32(b + off, 0x89abcdefu + off);
        CHECK(load_le32(b + off) == 0x89abcdefu + off);
        store_le16(b + off, static_cast<uint16_t>(0xbeef + off));
        CHECK(load_le16(b + off) == static_cast<uint16_t>(0xbeef + off));
    }
}
