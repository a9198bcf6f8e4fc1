// Schema binding tests: hostile messages are rejected with the right error and never read out of bounds.
//
// Each case is an exact-size heap buffer (so AddressSanitizer sees any read
// past it). After checking the expected error, every case is also walked
// by the generated readers of several root types, which must stay in bounds.
#include <catch2/catch_test_macros.hpp>

#include <capnp/dynamic.h>
#include <capnp/serialize.h>
#include <capnp/schema.capnp.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "capos/schema/manifest.capnp.h"
#include "../../fuzz/fuzz_common.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/test.capnp.h"

namespace {

using cap::capnp::Error;
using cap::capnp::Limits;
namespace w = cap::capnp::wire;
using Seg = std::vector<uint64_t>;

uint64_t structp(int64_t off, uint16_t dw, uint16_t pc) { return w::make_near(w::kStruct, off, w::struct_hi(dw, pc)); }
uint64_t listp(int64_t off, uint32_t size, uint32_t count) { return w::make_near(w::kList, off, size | (count << 3)); }
uint64_t farp(bool dbl, uint32_t pad, uint32_t seg) { return w::make_far(dbl, pad, seg); }
uint64_t capp(uint32_t index) { return 3u | (static_cast<uint64_t>(index) << 32); }

std::vector<uint8_t> frame(const std::vector<Seg>& segs) {
    std::vector<uint8_t> out;
    auto put32 = [&](uint32_t v) {
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    put32(static_cast<uint32_t>(segs.size() - 1));
    for (const auto& s : segs) put32(static_cast<uint32_t>(s.size()));
    while (out.size() % 8 != 0) out.push_back(0);
    for (const auto& s : segs)
        for (uint64_t x : s)
            for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
    return out;
}

std::vector<uint8_t> raw_bytes(std::initializer_list<uint32_t> u32s) {
    std::vector<uint8_t> out;
    for (uint32_t v : u32s)
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return out;
}

// An AllTypes root whose pointer `slot` holds `ptr` (offset relative to the
// first extra word, which follows the struct), then `extra` words.
std::vector<uint8_t> alltypes_with(uint16_t slot, uint64_t kind_and_hi, int64_t target, const Seg& extra) {
    using cap::schema::AllTypes;
    const uint16_t dw = AllTypes::kDataWords;
    const uint16_t pc = AllTypes::kPointerCount;
    Seg s{structp(0, dw, pc)};
    s.resize(1 + dw + pc, 0);
    int64_t p = 1 + dw + slot;
    int64_t e = 1 + dw + pc;
    int64_t off = e + target - p - 1;
    s[static_cast<size_t>(p)] = (kind_and_hi & ~0xffffffffull) | static_cast<uint32_t>(off * 4) | (kind_and_hi & 3u);
    s.insert(s.end(), extra.begin(), extra.end());
    return frame({s});
}

// Builds a chain of `n` Node structs linked through `next`.
std::vector<uint8_t> node_chain(uint32_t n) {
    std::vector<capnp::word> buf(8 + 4 * n);
    cap::capnp::MessageBuilder b(buf.data(), buf.size() * 8);
    auto node = b.init_root<cap::schema::Node>();
    for (uint32_t i = 1; i < n; ++i) {
        node.set_value(i);
        node = node.init_next();
    }
    std::vector<uint8_t> out(b.flat_size());
    size_t written;
    REQUIRE(b.write_flat(out.data(), out.size(), &written) == Error::Ok);
    return out;
}

using schema_fuzz::Touch;

// Walks `bytes` as several root types with the readers alone (no validate).
void touch_all(const std::vector<uint8_t>& bytes, cap::capnp::CapTable caps) {
    std::unique_ptr<uint8_t[]> exact(new uint8_t[bytes.size() == 0 ? 1 : bytes.size()]);
    if (!bytes.empty()) std::memcpy(exact.get(), bytes.data(), bytes.size());
    Limits lim;
    lim.traversal_words = 1u << 16;  // keeps walks of looping messages short
    Touch t;
    t.max_list = 4096;
    auto walk = [&]<typename T>() {
        cap::capnp::FlatMessageReader<16> r(lim);
        if (r.init_flat(exact.get(), bytes.size()) != Error::Ok) return;
        r.set_cap_table(caps);
        visit(r.root<T>(), t);
    };
    walk.operator()<cap::schema::AllTypes>();
    walk.operator()<cap::schema::Node>();
    walk.operator()<cap::schema::Unions>();
    walk.operator()<cap::schema::Defaults>();
    walk.operator()<cap::schema::BootManifest>();
    walk.operator()<cap::schema::PlacementSnapshot>();
    (void)t.sum;
}

struct Case {
    std::string name;
    std::vector<uint8_t> bytes;
    Error expected;
    uint32_t caps = 0;
    Limits limits{};
    // Reader-level cases: validation passes (the walk is schema-less); the
    // typed read must return the default and record `expected`.
    std::function<bool(cap::capnp::MessageReader&)> typed_read{};
};

std::vector<Case> hostile_cases() {
    using cap::schema::AllTypes;
    std::vector<Case> c;
    const uint32_t kB = 2;  // element size codes
    const uint32_t kBit = 1, kW = 5, kP = 6, kC = 7, kVoid = 0;

    // --- framing (segment table) ---
    c.push_back({"empty buffer", {}, Error::Truncated});
    c.push_back({"four-byte buffer", raw_bytes({0}), Error::Truncated});
    c.push_back({"segment table longer than buffer", raw_bytes({2, 1}), Error::Truncated});
    c.push_back({"segment larger than buffer",
                 [] {
                     auto b = raw_bytes({0, 10});
                     b.resize(8 + 16, 0);
                     return b;
                 }(),
                 Error::Truncated});
    c.push_back({"second segment truncated",
                 [] {
                     auto b = frame({{structp(0, 0, 0)}, {0, 0, 0, 0, 0}});
                     for (int i = 0; i < 8; ++i) b.pop_back();
                     return b;
                 }(),
                 Error::Truncated});
    c.push_back({"segment count overflows", raw_bytes({0xffffffffu, 1, 0, 0}), Error::BadSegmentTable});
    c.push_back({"too many segments",
                 [] {
                     std::vector<Seg> s(600, Seg{0});
                     return frame(s);
                 }(),
                 Error::TooManySegments});
    c.push_back({"empty first segment", frame({Seg{}}), Error::Truncated});
    c.push_back({"sizes sum past buffer (u32 wrap)",
                 [] {
                     auto b = raw_bytes({1, 0xffffffffu, 0xffffffffu, 0});
                     b.resize(24, 0);
                     return b;
                 }(),
                 Error::Truncated});

    // --- struct and list bounds ---
    c.push_back({"root struct past segment end", frame({{structp(5, 1, 0)}}), Error::PointerOutOfBounds});
    c.push_back({"root struct before segment start", frame({{structp(-3, 1, 0), 0}}), Error::PointerOutOfBounds});
    c.push_back({"struct data section overruns", frame({{structp(0, 4, 0), 0}}), Error::PointerOutOfBounds});
    c.push_back({"struct pointer section overruns", frame({{structp(0, 1, 3), 0, 0}}), Error::PointerOutOfBounds});
    c.push_back({"offset at 30-bit minimum", frame({{structp(-(1 << 29), 1, 0)}}), Error::PointerOutOfBounds});
    c.push_back({"byte list overruns", frame({{structp(0, 0, 1), listp(0, kB, 100)}}), Error::PointerOutOfBounds});
    c.push_back(
        {"huge word list", frame({{structp(0, 0, 1), listp(0, kW, (1u << 29) - 1)}}), Error::PointerOutOfBounds});
    c.push_back({"composite list words past end", frame({{structp(0, 0, 1), listp(0, kC, 100), structp(1, 1, 0)}}),
                 Error::PointerOutOfBounds});
    c.push_back({"composite tag claims more than its words",
                 frame({{structp(0, 0, 1), listp(0, kC, 2), structp(5, 1, 0), 0, 0}}), Error::BadListTag});
    c.push_back({"composite tag is not a struct tag",
                 frame({{structp(0, 0, 1), listp(0, kC, 2), listp(1, 5, 1), 0, 0}}), Error::BadListTag});
    c.push_back({"pointer inside composite element out of bounds",
                 frame({{structp(0, 0, 1), listp(0, kC, 1), structp(1, 0, 1), structp(40, 1, 0)}}),
                 Error::PointerOutOfBounds});
    c.push_back({"pointer list element out of bounds", frame({{structp(0, 0, 1), listp(0, kP, 2), 0, listp(9, kB, 3)}}),
                 Error::PointerOutOfBounds});

    // --- far pointers ---
    c.push_back({"far pointer to missing segment", frame({{farp(false, 0, 7)}}), Error::BadFarPointer});
    c.push_back({"far landing pad past segment end", frame({{farp(false, 5, 1)}, {0}}), Error::BadFarPointer});
    c.push_back({"far pointer chain", frame({{farp(false, 0, 1)}, {farp(false, 0, 0)}}), Error::BadFarPointer});
    c.push_back({"double-far pad not a far pointer", frame({{farp(true, 0, 1)}, {structp(0, 1, 0), structp(0, 1, 0)}}),
                 Error::BadFarPointer});
    c.push_back({"double-far pad is itself double",
                 frame({{farp(true, 0, 1)}, {farp(true, 0, 2), structp(0, 1, 0)}, {0}}), Error::BadFarPointer});
    c.push_back({"double-far tag is a capability", frame({{farp(true, 0, 1)}, {farp(false, 0, 2), capp(0)}, {0}}),
                 Error::BadFarPointer, 1});
    c.push_back({"double-far content segment missing",
                 frame({{farp(true, 0, 1)}, {farp(false, 0, 9), structp(0, 1, 0)}}), Error::BadFarPointer});
    c.push_back({"double-far content out of bounds",
                 frame({{farp(true, 0, 1)}, {farp(false, 3, 2), structp(0, 2, 0)}, {0}}), Error::PointerOutOfBounds});
    c.push_back(
        {"double-far pad crosses segment end", frame({{farp(true, 0, 1)}, {farp(false, 0, 0)}}), Error::BadFarPointer});

    // --- other pointers ---
    c.push_back({"unknown other-pointer kind", frame({{structp(0, 0, 1), 3u | (1u << 2)}}), Error::UnknownPointerKind});
    c.push_back({"capability index out of range", frame({{structp(0, 0, 1), capp(5)}}), Error::CapIndexOutOfRange, 2});
    c.push_back({"capability with empty table", frame({{structp(0, 0, 1), capp(0)}}), Error::CapIndexOutOfRange, 0});

    // --- loops and nesting ---
    c.push_back({"struct pointing at itself", frame({{structp(0, 0, 1), structp(-1, 0, 1)}}), Error::NestingTooDeep});
    c.push_back({"loop through far pointers across segments",
                 frame({{farp(false, 0, 1)}, {structp(0, 0, 1), farp(false, 0, 1)}}), Error::NestingTooDeep});
    c.push_back({"list containing itself", frame({{listp(0, kP, 1), listp(-1, kP, 1)}}), Error::NestingTooDeep});
    c.push_back({"two structs pointing at each other", frame({{structp(0, 0, 1), structp(0, 0, 1), structp(-2, 0, 1)}}),
                 Error::NestingTooDeep});
    c.push_back({"65 nested structs (limit 64)", node_chain(65), Error::NestingTooDeep});
    c.push_back({"70 nested lists",
                 [] {
                     Seg s;
                     for (int i = 0; i < 70; ++i) s.push_back(listp(0, kP, 1));
                     s.push_back(0);
                     return frame({s});
                 }(),
                 Error::NestingTooDeep});
    {
        Limits l;
        l.nesting = 3;
        c.push_back({"custom nesting limit 3", node_chain(5), Error::NestingTooDeep, 0, l});
    }

    // --- amplification ---
    c.push_back({"void list of 2^29-1 elements", frame({{structp(0, 0, 1), listp(0, kVoid, (1u << 29) - 1)}}),
                 Error::TraversalLimit});
    c.push_back({"zero-size struct list of 2^30-1 elements",
                 frame({{structp(0, 0, 1), listp(0, kC, 0), w::make_near(w::kStruct, (1 << 30) - 1, 0)}}),
                 Error::TraversalLimit});
    c.push_back({"1000 pointers to one 10000-word struct",
                 [] {
                     Seg s{listp(0, kP, 1000)};
                     for (int i = 0; i < 1000; ++i) s.push_back(structp(999 - i, 10000, 0));
                     s.resize(s.size() + 10000, 0);
                     return frame({s});
                 }(),
                 Error::TraversalLimit});
    {
        Limits l;
        l.traversal_words = 8;
        c.push_back({"custom traversal limit 8 words", node_chain(5), Error::TraversalLimit, 0, l});
    }

    // --- typed reads of well-formed pointers of the wrong shape ---
    auto typed = [&](std::string name, std::vector<uint8_t> bytes, Error e,
                     std::function<bool(cap::capnp::MessageReader&)> f) {
        Case k{std::move(name), std::move(bytes), e};
        k.typed_read = std::move(f);
        c.push_back(std::move(k));
    };
    auto at = [](cap::capnp::MessageReader& r) { return r.root<AllTypes>(); };
    typed("text without NUL", alltypes_with(0, listp(0, kB, 3), 0, {0x636261}), Error::TextNotTerminated,
          [&](auto& r) { return at(r).text_field().size() == 0; });
    typed("empty byte list as text", alltypes_with(0, listp(0, kB, 0), 0, {}), Error::TextNotTerminated,
          [&](auto& r) { return at(r).text_field().size() == 0; });
    typed("text pointing at a word list", alltypes_with(0, listp(0, kW, 1), 0, {0}), Error::NotABlob,
          [&](auto& r) { return at(r).text_field().size() == 0; });
    typed("data pointing at a struct", alltypes_with(1, structp(0, 1, 0), 0, {0}), Error::WrongPointerType,
          [&](auto& r) { return at(r).data_field().size() == 0; });
    typed("struct field holding a list", alltypes_with(2, listp(0, kW, 1), 0, {7}), Error::WrongPointerType,
          [&](auto& r) { return at(r).struct_field().id() == 0; });
    typed("list field holding a struct", alltypes_with(5, structp(0, 1, 0), 0, {7}), Error::WrongPointerType,
          [&](auto& r) { return at(r).int64_list().size() == 0; });
    typed("List(Int64) over a byte list", alltypes_with(5, listp(0, kB, 8), 0, {~0ull}), Error::IncompatibleList,
          [&](auto& r) { return at(r).int64_list().size() == 0; });
    typed("List(Inner) over a bit list", alltypes_with(9, listp(0, kBit, 64), 0, {~0ull}), Error::IncompatibleList,
          [&](auto& r) { return at(r).struct_list().size() == 0; });
    typed("List(Int64) over pointer-only structs", alltypes_with(5, listp(0, kC, 1), 0, {structp(1, 0, 1), 0}),
          Error::IncompatibleList, [&](auto& r) { return at(r).int64_list().size() == 0; });
    typed("List(Text) over a word list", alltypes_with(7, listp(0, kW, 1), 0, {0}), Error::IncompatibleList,
          [&](auto& r) { return at(r).text_list().size() == 0; });
    typed("capability field holding a struct", alltypes_with(14, structp(0, 1, 0), 0, {0}), Error::WrongPointerType,
          [&](auto& r) { return !at(r).cap().valid; });
    return c;
}

}  // namespace

TEST_CASE("hostile messages are rejected with the right error", "[schema][hostile]") {
    auto cases = hostile_cases();
    uint32_t slots[8] = {11, 12, 13, 14, 15, 16, 17, 18};
    size_t passed = 0;
    for (const auto& k : cases) {
        INFO("case: " << k.name);
        std::unique_ptr<uint8_t[]> exact(new uint8_t[k.bytes.size() == 0 ? 1 : k.bytes.size()]);
        if (!k.bytes.empty()) std::memcpy(exact.get(), k.bytes.data(), k.bytes.size());
        cap::capnp::FlatMessageReader<512> r(k.limits);
        Error e = r.init_flat(exact.get(), k.bytes.size());
        r.set_cap_table(cap::capnp::CapTable{slots, k.caps});
        if (e == Error::Ok) e = r.validate();
        if (k.typed_read) {
            CHECK(e == Error::Ok);
            CHECK(k.typed_read(r));  // the default came back
            e = r.error();
        }
        CHECK(std::string(cap::capnp::error_name(e)) == cap::capnp::error_name(k.expected));
        if (e == k.expected) ++passed;
        touch_all(k.bytes, cap::capnp::CapTable{slots, k.caps});
    }
    std::printf("[schema] hostile-message cases: %zu, rejected as expected: %zu\n", cases.size(), passed);
    CHECK(passed == cases.size());
    CHECK(cases.size() >= 50);
}

TEST_CASE("nesting limit matches the official library at the boundary", "[schema][hostile]") {
    for (uint32_t n : {63u, 64u, 65u}) {
        auto bytes = node_chain(n);
        cap::capnp::FlatMessageReader<> r;
        REQUIRE(r.init_flat(bytes.data(), bytes.size()) == Error::Ok);
        bool ours_ok = r.validate() == Error::Ok;
        // The official reader, walking `next` to the end.
        std::vector<capnp::word> words(bytes.size() / 8);
        std::memcpy(words.data(), bytes.data(), bytes.size());
        bool official_ok = true;
        try {
            capnp::FlatArrayMessageReader m2(kj::arrayPtr(words.data(), words.size()));
            auto any = m2.getRoot<capnp::AnyPointer>();
            // Walk pointer 0 of each struct (Node.next is pointer 0).
            auto s = any.getAs<capnp::AnyStruct>();
            for (uint32_t i = 1; i < n; ++i) s = s.getPointerSection()[0].getAs<capnp::AnyStruct>();
        } catch (const kj::Exception&) {
            official_ok = false;
        }
        INFO("chain length " << n);
        CHECK(ours_ok == official_ok);
        CHECK(ours_ok == (n <= 64));
    }
}

TEST_CASE("every single-bit flip of a valid message stays in bounds", "[schema][hostile]") {
    std::vector<capnp::word> buf(4096);
    cap::capnp::MessageBuilder b(buf.data(), buf.size() * 8);
    auto a = b.init_root<cap::schema::AllTypes>();
    a.set_text_field("hello world");
    a.init_struct_list(3)[1].set_name("x");
    a.init_list_list(2).init(1, 3).set(2, 9u);
    a.init_text_list(2).set(1, "t");
    a.init_struct_field().init_values(4).set(3, -1);
    std::vector<uint8_t> bytes(b.flat_size());
    size_t n;
    REQUIRE(b.write_flat(bytes.data(), bytes.size(), &n) == Error::Ok);
    size_t rejected = 0;
    for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
        auto m = bytes;
        m[bit / 8] = static_cast<uint8_t>(m[bit / 8] ^ (1u << (bit % 8)));
        cap::capnp::FlatMessageReader<> r;
        if (r.init_flat(m.data(), m.size()) != Error::Ok || r.validate() != Error::Ok) ++rejected;
        touch_all(m, cap::capnp::CapTable{});
    }
    std::printf("[schema] bit flips: %zu, rejected by validation: %zu\n", bytes.size() * 8, rejected);
    CHECK(rejected > 0);
}

namespace {

// The official reader's answer for a root list read as List(T): accepted
// (with its size) or refused.
template <typename T>
std::pair<bool, uint32_t> official_list(const std::vector<uint8_t>& bytes) {
    std::vector<capnp::word> words(bytes.size() / 8);
    std::memcpy(words.data(), bytes.data(), bytes.size());
    try {
        capnp::FlatArrayMessageReader m(kj::arrayPtr(words.data(), words.size()));
        return {true, m.getRoot<capnp::AnyPointer>().getAs<capnp::List<T>>().size()};
    } catch (const kj::Exception&) {
        return {false, 0};
    }
}

}  // namespace

TEST_CASE("a list is read as another element size exactly when the official library reads it", "[schema][hostile]") {
    using cap::capnp::ElementSize;
    // A root list of 3 elements of each stored size (composite: 3 one-word
    // structs with one pointer each), then every expected size read from it.
    struct Stored {
        const char* name;
        std::vector<uint8_t> bytes;
    };
    auto flat = [](uint32_t size, uint32_t words) {
        Seg s{listp(0, size, 3)};
        s.resize(1 + words, 0);
        return frame({s});
    };
    Seg comp{listp(0, 7, 6), structp(3, 1, 1)};  // tag: 3 elements of 1 data word + 1 pointer
    comp.resize(2 + 6, 0);
    const std::vector<Stored> stored = {
        {"void", flat(0, 0)},       {"bit", flat(1, 1)},  {"byte", flat(2, 1)},    {"two bytes", flat(3, 1)},
        {"four bytes", flat(4, 2)}, {"word", flat(5, 3)}, {"pointer", flat(6, 3)}, {"composite", frame({comp})},
    };
    uint32_t compared = 0;
    for (const Stored& st : stored) {
        struct Expect {
            const char* name;
            ElementSize size;
            std::pair<bool, uint32_t> official;
        };
        const Expect reads[] = {
            {"List(Void)", ElementSize::Void, official_list<capnp::Void>(st.bytes)},
            {"List(Bool)", ElementSize::Bit, official_list<bool>(st.bytes)},
            {"List(UInt8)", ElementSize::Byte, official_list<uint8_t>(st.bytes)},
            {"List(UInt16)", ElementSize::TwoBytes, official_list<uint16_t>(st.bytes)},
            {"List(UInt32)", ElementSize::FourBytes, official_list<uint32_t>(st.bytes)},
            {"List(UInt64)", ElementSize::EightBytes, official_list<uint64_t>(st.bytes)},
            {"List(Text)", ElementSize::Pointer, official_list<capnp::Text>(st.bytes)},
            {"List(struct)", ElementSize::InlineComposite, official_list<capnp::schema::Brand>(st.bytes)},
        };
        for (const Expect& e : reads) {
            cap::capnp::FlatMessageReader<> r;
            REQUIRE(r.init_flat(st.bytes.data(), st.bytes.size()) == Error::Ok);
            const auto l = r.root_pointer().get_list(e.size);
            const bool ours = r.error() == Error::Ok;
            INFO(st.name << " list read as " << e.name << ": ours " << (ours ? "accepts" : "refuses") << " ("
                         << cap::capnp::error_name(r.error()) << "), official "
                         << (e.official.first ? "accepts" : "refuses"));
            CHECK(ours == e.official.first);
            if (ours && e.official.first) CHECK(l.size() == e.official.second);
            if (!ours) CHECK(r.error() == Error::IncompatibleList);
            ++compared;
        }
    }
    std::printf("[schema] list element-size reads compared with the official library: %u\n", compared);
    CHECK(compared == 64);
}
