// capnp_wire_test.cpp - the kernel's minimal Cap'n Proto reader/builder against the official library.
#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <vector>

#include "lib/capnp_wire.h"

namespace wire = kern::wire;

namespace {

struct Aligned {
  alignas(8) uint8_t buf[4096];
  uint32_t len = 0;
};

Aligned flat(capnp::MessageBuilder& b) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(b);
  auto bytes = words.asBytes();
  Aligned a;
  REQUIRE(bytes.size() <= sizeof a.buf);
  std::memcpy(a.buf, bytes.begin(), bytes.size());
  a.len = static_cast<uint32_t>(bytes.size());
  return a;
}

const uint8_t kBlob[5] = {1, 2, 3, 4, 5};

}  // namespace

TEST_CASE("wire builder matches the official encoding byte for byte", "[capnp_wire]") {
  capnp::MallocMessageBuilder ref;
  auto s = ref.getRoot<capnp::AnyPointer>().initAsAnyStruct(2, 2);
  auto d = s.getDataSection();
  const uint64_t w0 = 0x1122334455667788ull;
  std::memcpy(d.begin(), &w0, 8);
  d[8] = 0x34;
  d[9] = 0x12;    // UInt16 #4 = 0x1234
  d[15] |= 0x80;  // bit 127
  s.getPointerSection()[0].setAs<capnp::Data>(kj::arrayPtr(kBlob, 5));
  s.getPointerSection()[1].setAs<capnp::Text>("hello");
  const Aligned expect = flat(ref);

  Aligned a;
  wire::Builder b(a.buf, sizeof a.buf);
  auto r = b.root(2, 2);
  wire::Builder::set_u64(r, 0, w0);
  wire::Builder::set_u16(r, 4, 0x1234);
  wire::Builder::set_bit(r, 127, true);
  b.set_data(r, 0, kBlob, 5);
  b.set_text(r, 1, "hello", 5);
  const uint32_t n = b.finish();
  REQUIRE(n == expect.len);
  CHECK(std::memcmp(a.buf, expect.buf, n) == 0);
}

TEST_CASE("wire builder nested struct and struct list match the official encoding", "[capnp_wire]") {
  capnp::MallocMessageBuilder ref;
  auto s = ref.getRoot<capnp::AnyPointer>().initAsAnyStruct(1, 2);
  const uint64_t seven = 7;
  std::memcpy(s.getDataSection().begin(), &seven, 8);
  auto child = s.getPointerSection()[0].initAsAnyStruct(1, 0);
  const uint64_t nine = 9;
  std::memcpy(child.getDataSection().begin(), &nine, 8);
  auto list = s.getPointerSection()[1].initAsListOfAnyStruct(1, 1, 2);
  for (uint32_t i = 0; i < 2; ++i) {
    const uint64_t v = 100 + i;
    std::memcpy(list[i].getDataSection().begin(), &v, 8);
    list[i].getPointerSection()[0].setAs<capnp::Text>(i == 0 ? "a" : "bc");
  }
  const Aligned expect = flat(ref);

  Aligned a;
  wire::Builder b(a.buf, sizeof a.buf);
  auto r = b.root(1, 2);
  wire::Builder::set_u64(r, 0, 7);
  auto c = b.child(r, 0, 1, 0);
  wire::Builder::set_u64(c, 0, 9);
  wire::Builder::Struct e;
  b.struct_list(r, 1, 2, 1, 1, &e);
  for (uint32_t i = 0; i < 2; ++i) {
    wire::Builder::Struct el{e.data + i * 2, e.data + i * 2 + 1, 1, 1};
    wire::Builder::set_u64(el, 0, 100 + i);
    b.set_text(el, 0, i == 0 ? "a" : "bc", i == 0 ? 1 : 2);
  }
  const uint32_t n = b.finish();
  REQUIRE(n == expect.len);
  CHECK(std::memcmp(a.buf, expect.buf, n) == 0);
}

TEST_CASE("wire reader decodes official messages", "[capnp_wire]") {
  capnp::MallocMessageBuilder ref;
  auto s = ref.getRoot<capnp::AnyPointer>().initAsAnyStruct(2, 4);
  const uint64_t w[2] = {0xdeadbeefcafef00dull, 0x0000000500000003ull};
  std::memcpy(s.getDataSection().begin(), w, 16);
  s.getPointerSection()[0].setAs<capnp::Text>("name");
  auto args = s.getPointerSection()[1].initAs<capnp::List<capnp::Text>>(2);
  args.set(0, "x");
  args.set(1, "yz");
  auto list = s.getPointerSection()[2].initAsListOfAnyStruct(1, 0, 3);
  for (uint32_t i = 0; i < 3; ++i) {
    const uint64_t v = 40 + i;
    std::memcpy(list[i].getDataSection().begin(), &v, 8);
  }
  // pointer 3 stays null.
  Aligned m = flat(ref);

  wire::Reader r;
  REQUIRE(r.init(m.buf, m.len).ok());
  CHECK(wire::Reader::u64(r.root(), 0) == w[0]);
  CHECK(wire::Reader::u32(r.root(), 2) == 3);
  CHECK(wire::Reader::u32(r.root(), 3) == 5);
  CHECK(wire::Reader::u64(r.root(), 9) == 0);  // past the data section: default
  auto name = r.text(r.root(), 0);
  REQUIRE(name.ok());
  CHECK(std::string(reinterpret_cast<const char*>(name.value().data), name.value().size) == "name");
  auto al = r.pointer_list(r.root(), 1);
  REQUIRE(al.ok());
  REQUIRE(al.value().count == 2);
  auto a1 = r.list_text(al.value(), 1);
  REQUIRE(a1.ok());
  CHECK(std::string(reinterpret_cast<const char*>(a1.value().data), a1.value().size) == "yz");
  auto sl = r.struct_list(r.root(), 2);
  REQUIRE(sl.ok());
  REQUIRE(sl.value().count == 3);
  CHECK(wire::Reader::u64(wire::Reader::list_struct(sl.value(), 2), 0) == 42);
  auto empty = r.data(r.root(), 3);
  REQUIRE(empty.ok());
  CHECK(empty.value().size == 0);
  CHECK(!r.cap(r.root(), 3).ok());  // null is not a capability
}

TEST_CASE("wire capability pointers round-trip", "[capnp_wire]") {
  Aligned a;
  wire::Builder b(a.buf, sizeof a.buf);
  auto r = b.root(0, 1);
  b.set_cap(r, 0, 5);
  const uint32_t n = b.finish();
  wire::Reader rd;
  REQUIRE(rd.init(a.buf, n).ok());
  auto c = rd.cap(rd.root(), 0);
  REQUIRE(c.ok());
  CHECK(c.value() == 5);
}

TEST_CASE("wire reader refuses hostile framing and pointers", "[capnp_wire]") {
  wire::Reader r;
  alignas(8) uint64_t msg[8] = {};
  // Two segments.
  msg[0] = (uint64_t{3} << 32) | 1;
  CHECK(!r.init(msg, 32).ok());
  // Segment size disagrees with the length.
  msg[0] = uint64_t{5} << 32;
  CHECK(!r.init(msg, 32).ok());
  // Root struct pointer past the segment end.
  msg[0] = uint64_t{3} << 32;
  msg[1] = (uint64_t{1} << 2) | (uint64_t{4} << 32);  // offset 1, 4 data words
  CHECK(!r.init(msg, 32).ok());
  // Negative offset before the segment.
  msg[1] = (static_cast<uint64_t>(static_cast<uint32_t>(-5 << 2))) | (uint64_t{1} << 32);
  CHECK(!r.init(msg, 32).ok());
  // Misaligned buffer and short length.
  CHECK(!r.init(reinterpret_cast<uint8_t*>(msg) + 1, 24).ok());
  CHECK(!r.init(msg, 8).ok());
  // A valid root whose Data pointer runs off the end.
  msg[0] = uint64_t{3} << 32;
  msg[1] = uint64_t{1} << 48;                                     // 0 data words, 1 pointer
  msg[2] = 1 | (uint64_t{2} << 32) | (uint64_t{100} << 35);       // byte list of 100
  REQUIRE(r.init(msg, 32).ok());
  CHECK(!r.data(r.root(), 0).ok());
  // Text without its NUL.
  msg[2] = 1 | (uint64_t{2} << 32) | (uint64_t{3} << 35);
  msg[3] = 0x636261;  // "abc" then zero bytes... terminator inside the list is required at size-1
  CHECK(!r.text(r.root(), 0).ok());
}

TEST_CASE("wire builder fails cleanly when the buffer is too small", "[capnp_wire]") {
  alignas(8) uint8_t small[40];
  wire::Builder b(small, sizeof small);
  auto r = b.root(1, 1);
  b.set_data(r, 0, kBlob, 5);
  CHECK(b.ok());
  b.set_data(r, 0, small, 32);
  CHECK(!b.ok());
  CHECK(b.finish() == 0);
}
