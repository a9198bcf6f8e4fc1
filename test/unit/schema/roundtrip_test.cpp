// Schema binding tests: every struct type round-trips between the generated bindings and the official library.
#include <catch2/catch_test_macros.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "capos/schema/console.capnp.h"
#include "capos/schema/coordinator.capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "capos/schema/manifest.capnp.h"
#include "capos/schema/memory.capnp.h"
#include "capos/schema/park.capnp.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "capos/schema/test.capnp.h"
#include "capos/schema/thread.capnp.h"
#include "capos/schema/timer.capnp.h"
#include "oracle.h"

namespace {

using cap::capnp::Error;

const oracle::SchemaSet& schemas() {
    static oracle::SchemaSet set({"console.capnp", "timer.capnp", "park.capnp", "thread.capnp", "memory.capnp",
                                  "process.capnp", "endpoint.capnp", "spawner.capnp", "placement.capnp",
                                  "scheduler.capnp", "coordinator.capnp", "manifest.capnp", "test/test.capnp"},
                                 CAPOS_SCHEMA_DIR);
    return set;
}

// Calls f.template operator()<T>(name) for every struct type of every schema file.
template <typename F>
void for_each_struct(F& f) {
    cap::schema::for_each_struct_console_capnp(f);
    cap::schema::for_each_struct_timer_capnp(f);
    cap::schema::for_each_struct_park_capnp(f);
    cap::schema::for_each_struct_thread_capnp(f);
    cap::schema::for_each_struct_memory_capnp(f);
    cap::schema::for_each_struct_process_capnp(f);
    cap::schema::for_each_struct_endpoint_capnp(f);
    cap::schema::for_each_struct_spawner_capnp(f);
    cap::schema::for_each_struct_placement_capnp(f);
    cap::schema::for_each_struct_scheduler_capnp(f);
    cap::schema::for_each_struct_coordinator_capnp(f);
    cap::schema::for_each_struct_manifest_capnp(f);
    cap::schema::for_each_struct_test_capnp(f);
}

// Segment layouts for the generated builder: one big segment, or many small
// ones so that objects spill through far (and double-far) pointers.
struct Segments {
    explicit Segments(std::vector<uint32_t> sizes) {
        for (uint32_t s : sizes) {
            storage.emplace_back(new capnp::word[s == 0 ? 1 : s]);
            bufs.push_back(cap::capnp::SegmentBuffer{reinterpret_cast<uint8_t*>(storage.back().get()), s, 0});
        }
    }
    std::vector<std::unique_ptr<capnp::word[]>> storage;
    std::vector<cap::capnp::SegmentBuffer> bufs;
};

std::vector<uint32_t> small_segments() {
    std::vector<uint32_t> v{2};
    for (int i = 0; i < 400; ++i) v.push_back(static_cast<uint32_t>(3 + (i * 7) % 29));
    v.push_back(1u << 16);
    return v;
}

std::vector<capnp::word> flat(const cap::capnp::MessageBuilder& b) {
    std::vector<capnp::word> out(b.flat_size() / 8);
    size_t n = 0;
    REQUIRE(b.write_flat(out.data(), out.size() * 8, &n) == Error::Ok);
    REQUIRE(n == out.size() * 8);
    return out;
}

// Reads `words` with both libraries and compares every field of root type T.
template <typename T>
void compare(const std::vector<capnp::word>& words, bool use_oracle, const char* name, uint64_t& checked) {
    capnp::FlatArrayMessageReader official(kj::arrayPtr(words.data(), words.size()));
    auto dyn = official.getRoot<capnp::DynamicStruct>(schemas().get(T::kTypeId));
    cap::capnp::FlatMessageReader<512> ours;
    REQUIRE(ours.init_flat(words.data(), words.size() * 8) == Error::Ok);
    REQUIRE(ours.validate() == Error::Ok);
    oracle::Path path;
    std::vector<std::string> errors;
    oracle::Compare cmp(dyn, path, use_oracle, errors, checked);
    visit(ours.root<T>(), cmp);
    INFO(name);
    for (const auto& e : errors) UNSCOPED_INFO(e);
    CHECK(errors.empty());
    CHECK(ours.error() == Error::Ok);
}

struct Totals {
    uint64_t types = 0;
    uint64_t checked = 0;
    uint64_t far_messages = 0;
};

// A flat message as a vector, copied bytewise: capnp::word has no copy
// constructor for std::vector's range constructor to use (clang checks).
std::vector<capnp::word> words_of(const kj::Array<capnp::word>& arr) {
    std::vector<capnp::word> out(arr.size());
    std::memcpy(out.data(), arr.begin(), arr.size() * sizeof(capnp::word));
    return out;
}

bool has_far_pointer(const std::vector<capnp::word>& words) {
    // Any segment beyond the first means cross-segment (far) pointers exist.
    uint32_t count = 0;
    std::memcpy(&count, words.data(), 4);
    return count > 0;
}

}  // namespace

TEST_CASE("generated builders produce what the official library reads", "[schema][roundtrip]") {
    Totals t;
    auto run = [&]<typename T>(const char* name) {
        ++t.types;
        // Single segment: must also be byte-identical to the official builder.
        std::vector<capnp::word> buf(1 << 16);
        cap::capnp::MessageBuilder b(buf.data(), buf.size() * 8);
        oracle::GenFiller gf;
        fill(b.init_root<T>(), gf);
        REQUIRE(b.error() == Error::Ok);
        auto ours = flat(b);
        compare<T>(ours, true, name, t.checked);

        capnp::MallocMessageBuilder mb(1 << 16, capnp::AllocationStrategy::FIXED_SIZE);
        oracle::DynFiller df;
        df.fill(mb.initRoot<capnp::DynamicStruct>(schemas().get(T::kTypeId)), schemas().get(T::kTypeId));
        auto theirs = capnp::messageToFlatArray(mb);
        INFO(name);
        REQUIRE(theirs.size() == ours.size());
        CHECK(std::memcmp(theirs.begin(), ours.data(), ours.size() * 8) == 0);

        // Many small segments: far and double-far pointers.
        Segments segs(small_segments());
        cap::capnp::MessageBuilder mb2(segs.bufs.data(), static_cast<uint32_t>(segs.bufs.size()));
        oracle::GenFiller gf2;
        fill(mb2.init_root<T>(), gf2);
        REQUIRE(mb2.error() == Error::Ok);
        auto multi = flat(mb2);
        if (has_far_pointer(multi)) ++t.far_messages;
        compare<T>(multi, true, name, t.checked);
    };
    for_each_struct(run);
    std::printf("[schema] generated->official: %llu struct types, %llu values checked, %llu multi-segment messages\n",
                static_cast<unsigned long long>(t.types), static_cast<unsigned long long>(t.checked),
                static_cast<unsigned long long>(t.far_messages));
    CHECK(t.types >= 80);
    CHECK(t.far_messages >= 40);
}

TEST_CASE("generated readers read what the official library builds", "[schema][roundtrip]") {
    Totals t;
    auto run = [&]<typename T>(const char* name) {
        ++t.types;
        for (unsigned first : {1u << 16, 1u}) {
            // first == 1: every object lands in a new segment behind a far pointer.
            capnp::MallocMessageBuilder mb(first, capnp::AllocationStrategy::FIXED_SIZE);
            oracle::DynFiller df;
            df.fill(mb.initRoot<capnp::DynamicStruct>(schemas().get(T::kTypeId)), schemas().get(T::kTypeId));
            auto arr = capnp::messageToFlatArray(mb);
            std::vector<capnp::word> words = words_of(arr);
            if (has_far_pointer(words)) ++t.far_messages;
            compare<T>(words, true, name, t.checked);
        }
    };
    for_each_struct(run);
    std::printf("[schema] official->generated: %llu struct types, %llu values checked, %llu multi-segment messages\n",
                static_cast<unsigned long long>(t.types), static_cast<unsigned long long>(t.checked),
                static_cast<unsigned long long>(t.far_messages));
    CHECK(t.far_messages >= 80);  // all but the empty params/results structs
}

TEST_CASE("empty structs read as the schema defaults in both libraries", "[schema][defaults]") {
    uint64_t checked = 0;
    auto run = [&]<typename T>(const char* name) {
        std::vector<capnp::word> buf(64);
        cap::capnp::MessageBuilder b(buf.data(), buf.size() * 8);
        (void)b.init_root<T>();
        compare<T>(flat(b), false, name, checked);

        capnp::MallocMessageBuilder mb;
        mb.initRoot<capnp::DynamicStruct>(schemas().get(T::kTypeId));
        auto arr = capnp::messageToFlatArray(mb);
        compare<T>(words_of(arr), false, name, checked);
    };
    for_each_struct(run);
    CHECK(checked > 100);
}

TEST_CASE("defaults are XOR-ed on the wire", "[schema][defaults]") {
    using namespace cap::schema;
    std::vector<capnp::word> buf(512);
    cap::capnp::MessageBuilder b(buf.data(), buf.size() * 8);
    auto d = b.init_root<Defaults>();
    // Setting a field to its default stores zero bits; anything else differs.
    d.set_int32_field(-123456);
    d.set_uint8_field(0);
    d.set_float32_field(1.5f);
    d.set_bool_field(false);
    auto words = flat(b);
    capnp::FlatArrayMessageReader official(kj::arrayPtr(words.data(), words.size()));
    auto dyn = official.getRoot<capnp::DynamicStruct>(schemas().get(Defaults::kTypeId));
    CHECK(dyn.get("int32Field").as<int32_t>() == -123456);
    CHECK(dyn.get("uint8Field").as<uint8_t>() == 0);
    CHECK(dyn.get("boolField").as<bool>() == false);
    CHECK(dyn.get("uint16Field").as<uint16_t>() == 60000);
    // Raw data section: int32Field at offset 1 (4-byte units) holds 0.
    cap::capnp::FlatMessageReader<> r;
    REQUIRE(r.init_flat(words.data(), words.size() * 8) == Error::Ok);
    auto raw = r.root<Defaults>().raw();
    CHECK(raw.get<uint32_t>(1) == 0u);
    auto rd = r.root<Defaults>();
    CHECK(rd.int32_field() == -123456);
    CHECK(rd.uint8_field() == 0);
    CHECK(rd.uint64_field() == 12345678901234567890ull);
    CHECK(rd.float64_field() == -2.25e10);
    CHECK(rd.text_field().equals("hello"));
    CHECK(rd.data_field().size() == 3);
    CHECK(rd.struct_field().id() == 7);
    CHECK(rd.struct_field().name().equals("seven"));
    CHECK(rd.struct_field().values()[1] == -2);
    CHECK(rd.enum_field() == Color::Blue);
    CHECK(rd.int32_list().size() == 3);
    CHECK(rd.int32_list()[2] == 30);
    CHECK(rd.struct_list()[1].name().equals("two"));
    CHECK(rd.text_list()[1].equals("bc"));
    CHECK(r.error() == Error::Ok);
}

TEST_CASE("unions, groups and nested lists through the typed API", "[schema][unions]") {
    using namespace cap::schema;
    std::vector<capnp::word> buf(1024);
    cap::capnp::MessageBuilder b(buf.data(), buf.size() * 8);
    auto u = b.init_root<Unions>();
    auto inner = u.init_inner();
    inner.set_id(99);
    inner.set_name("in");
    u.set_extra(5);
    auto rect = u.shape().rect();
    rect.set_width(2.5);
    rect.set_height(4.0);
    u.position().set_x(-3);
    u.position().set_label("pos");
    auto words = flat(b);

    capnp::FlatArrayMessageReader official(kj::arrayPtr(words.data(), words.size()));
    auto dyn = official.getRoot<capnp::DynamicStruct>(schemas().get(Unions::kTypeId));
    KJ_IF_MAYBE (f, dyn.which()) {
        CHECK(std::string(f->getProto().getName()) == "inner");
    } else {
        FAIL("no union member");
    }
    auto shape = dyn.get("shape").as<capnp::DynamicStruct>();
    KJ_IF_MAYBE (f, shape.which()) {
        CHECK(std::string(f->getProto().getName()) == "rect");
    } else {
        FAIL("no shape member");
    }
    CHECK(shape.get("rect").as<capnp::DynamicStruct>().get("height").as<double>() == 4.0);

    cap::capnp::FlatMessageReader<> r;
    REQUIRE(r.init_flat(words.data(), words.size() * 8) == Error::Ok);
    auto ru = r.root<Unions>();
    CHECK(ru.which() == Unions_Which::Inner);
    CHECK(ru.is_inner());
    CHECK(ru.inner().name().equals("in"));
    CHECK(ru.shape().which() == Unions_Shape_Which::Rect);
    CHECK(ru.shape().rect().width() == 2.5);
    CHECK(ru.position().x() == -3);
    CHECK(ru.position().label().equals("pos"));

    // Nested lists three levels deep.
    std::vector<capnp::word> buf2(1024);
    cap::capnp::MessageBuilder b2(buf2.data(), buf2.size() * 8);
    auto a = b2.init_root<AllTypes>();
    auto lll = a.init_list_list_list(2);
    auto l1 = lll.init(1, 3);
    auto l2 = l1.init(2, 2);
    l2.set(1, "deep");
    auto ll = a.init_list_list(2);
    (void)ll.init(0, 0);
    ll.init(1, 4).set(3, 0xdeadbeefu);
    auto w2 = flat(b2);
    capnp::FlatArrayMessageReader off2(kj::arrayPtr(w2.data(), w2.size()));
    auto dyn2 = off2.getRoot<capnp::DynamicStruct>(schemas().get(AllTypes::kTypeId));
    auto dl = dyn2.get("listListList").as<capnp::DynamicList>();
    CHECK(std::string(dl[1].as<capnp::DynamicList>()[2].as<capnp::DynamicList>()[1].as<capnp::Text>().cStr()) ==
          "deep");
    CHECK(dyn2.get("listList").as<capnp::DynamicList>()[1].as<capnp::DynamicList>()[3].as<uint32_t>() == 0xdeadbeefu);
}

TEST_CASE("capability pointers index the message's capability table", "[schema][caps]") {
    using namespace cap::schema;
    std::vector<capnp::word> buf(256);
    uint32_t caps[4];
    cap::capnp::MessageBuilder b(buf.data(), buf.size() * 8);
    b.set_cap_table(caps, 4);
    auto a = b.init_root<AllTypes>();
    CHECK(a.set_cap(17));
    auto cl = a.init_cap_list(2);
    cl.set(0, 23u);
    cl.set(1, 29u);
    REQUIRE(b.cap_table().count == 3);
    CHECK(caps[0] == 17);
    CHECK(caps[2] == 29);
    auto words = flat(b);
    // The pointer word is the standard capability pointer: kind 3, index in the high half.
    capnp::FlatArrayMessageReader official(kj::arrayPtr(words.data(), words.size()));
    cap::capnp::FlatMessageReader<> r;
    REQUIRE(r.init_flat(words.data(), words.size() * 8) == Error::Ok);
    r.set_cap_table(b.cap_table());
    REQUIRE(r.validate() == Error::Ok);
    auto ra = r.root<AllTypes>();
    CHECK(ra.cap().valid);
    CHECK(ra.cap().slot == 17);
    CHECK(ra.cap_list()[1].slot == 29);
    auto p = ra.raw().pointer(14);  // AllTypes.cap
    CHECK(p.raw_word() == 3u);      // index 0
    // A table too short for the pointers is rejected.
    r.set_cap_table(cap::capnp::CapTable{caps, 2});
    CHECK(r.validate() == Error::CapIndexOutOfRange);
    // The builder refuses more caps than its table holds.
    std::vector<capnp::word> buf2(64);
    cap::capnp::MessageBuilder b2(buf2.data(), buf2.size() * 8);
    b2.set_cap_table(caps, 1);
    auto a2 = b2.init_root<AllTypes>();
    CHECK(a2.set_cap(1));
    CHECK_FALSE(a2.init_cap_list(1).raw().get_pointer(0).set_capability(2));
    CHECK(b2.error() == Error::CapTableFull);
}

TEST_CASE("builder reports exhaustion of caller buffers", "[schema][builder]") {
    using namespace cap::schema;
    std::vector<capnp::word> buf(8);
    cap::capnp::MessageBuilder b(buf.data(), buf.size() * 8);
    auto a = b.init_root<AllTypes>();  // 5 data + 14 pointers do not fit in 7 words
    CHECK(a.is_null());
    CHECK(b.error() == Error::BufferTooSmall);
    a.set_uint32_field(5);  // a null builder ignores writes
    std::vector<capnp::word> out(64);
    size_t n;
    CHECK(b.write_flat(out.data(), out.size() * 8, &n) == Error::BufferTooSmall);
}

TEST_CASE("double-far pointers are written and read by both libraries", "[schema][far]") {
    using namespace cap::schema;
    // seg0: root pointer only; seg1: exactly the Inner struct (no segment
    // has room for it plus a landing pad); seg2: the two-word double-far
    // pad; seg3: the text, behind a single far pointer.
    uint32_t inner_words = Inner::kDataWords + Inner::kPointerCount;
    Segments segs({1, inner_words, 2, inner_words});
    cap::capnp::MessageBuilder b(segs.bufs.data(), 4);
    auto in = b.init_root<Inner>();
    in.set_id(0x1234);
    in.set_name("far away");
    REQUIRE(b.error() == Error::Ok);
    uint64_t root;
    std::memcpy(&root, segs.storage[0].get(), 8);
    CHECK((root & 7u) == 6u);  // far, double
    auto words = flat(b);
    capnp::FlatArrayMessageReader official(kj::arrayPtr(words.data(), words.size()));
    auto dyn = official.getRoot<capnp::DynamicStruct>(schemas().get(Inner::kTypeId));
    CHECK(dyn.get("id").as<uint32_t>() == 0x1234);
    CHECK(std::string(dyn.get("name").as<capnp::Text>().cStr()) == "far away");
    cap::capnp::FlatMessageReader<> r;
    REQUIRE(r.init_flat(words.data(), words.size() * 8) == Error::Ok);
    REQUIRE(r.validate() == Error::Ok);
    CHECK(r.root<Inner>().id() == 0x1234);
    CHECK(r.root<Inner>().name().equals("far away"));
}

TEST_CASE("float constants are emitted exactly, infinities, NaN and -0 included", "[schema][const]") {
    // The official compiler's values, from the same schema file.
    capnp::SchemaParser parser;
    auto fs = kj::newDiskFilesystem();
    auto dir = fs->getRoot().openSubdir(kj::Path::parse(std::string(CAPOS_SCHEMA_DIR).substr(1)));
    auto sys = fs->getRoot().openSubdir(kj::Path::parse("usr/include"));  // /capnp/stream.capnp
    const kj::ReadableDirectory* imports[] = {dir.get(), sys.get()};
    auto file = parser.parseFromDirectory(*dir, kj::Path::parse("test/test.capnp"), kj::arrayPtr(imports, 2));
    auto bits32 = [](float f) {
        uint32_t b;
        std::memcpy(&b, &f, 4);
        return b;
    };
    auto bits64 = [](double d) {
        uint64_t b;
        std::memcpy(&b, &d, 8);
        return b;
    };
    auto official32 = [&](const char* name) { return bits32(file.getNested(name).asConst().as<float>()); };
    auto official64 = [&](const char* name) { return bits64(file.getNested(name).asConst().as<double>()); };
    namespace s = cap::schema;
    CHECK(bits32(s::kFloatWhole) == official32("floatWhole"));
    CHECK(s::kFloatWhole == 456.0f);
    CHECK(bits32(s::kFloatNeg) == official32("floatNeg"));
    CHECK(bits32(s::kFloatTiny) == official32("floatTiny"));
    CHECK(std::fpclassify(s::kFloatTiny) == FP_SUBNORMAL);
    CHECK(bits32(s::kFloatInf) == official32("floatInf"));
    CHECK(std::isinf(s::kFloatInf));
    CHECK(bits64(s::kFloatNegInf) == official64("floatNegInf"));
    CHECK(bits64(s::kFloatNan) == official64("floatNan"));
    CHECK(std::isnan(s::kFloatNan));
    CHECK(bits64(s::kFloatNegZero) == official64("floatNegZero"));
    CHECK(std::signbit(s::kFloatNegZero));
    CHECK(bits64(s::kFloatPi) == official64("floatPi"));
    // Constant expressions: usable where C++ needs one.
    static_assert(cap::schema::kFloatWhole == 456.0f);
    static_assert(cap::schema::kFloatInf > 3.4e38f);
}

TEST_CASE("generic fields: a type parameter is AnyPointer, read and written as the bound type", "[schema][generics]") {
    namespace s = cap::schema;
    auto schema = schemas().get(s::Generics::kTypeId);
    // Ours writes through the erased AnyPointer; the official library reads the branded types.
    std::vector<capnp::word> buf(512);
    cap::capnp::MessageBuilder b(buf.data(), buf.size() * 8);
    auto g = b.init_root<s::Generics>();
    auto bt = g.init_box_text();
    bt.set_tag(7);
    (void)bt.init_value().set_text("boxed", 5);
    auto inner =
        s::Inner_Builder(g.init_box_inner().init_value().init_struct(s::Inner::kDataWords, s::Inner::kPointerCount));
    inner.set_id(99);
    auto pair = g.init_pair();
    (void)pair.init_first().set_text("first", 5);
    s::Inner_Builder(pair.init_second().init_struct(s::Inner::kDataWords, s::Inner::kPointerCount)).set_id(5);
    REQUIRE(b.error() == Error::Ok);
    auto ours = flat(b);
    {
        capnp::FlatArrayMessageReader m(kj::arrayPtr(ours.data(), ours.size()));
        auto root = m.getRoot<capnp::DynamicStruct>(schema);
        auto box = root.get("boxText").as<capnp::DynamicStruct>();
        CHECK(box.get("tag").as<uint32_t>() == 7);
        CHECK(box.get("value").as<capnp::Text>() == "boxed");
        CHECK(root.get("boxInner")
                  .as<capnp::DynamicStruct>()
                  .get("value")
                  .as<capnp::DynamicStruct>()
                  .get("id")
                  .as<uint32_t>() == 99);
        auto p = root.get("pair").as<capnp::DynamicStruct>();
        CHECK(p.get("first").as<capnp::Text>() == "first");
        CHECK(p.get("second").as<capnp::DynamicStruct>().get("id").as<uint32_t>() == 5);
    }
    // The official library writes the branded types; ours reads them through the AnyPointer.
    capnp::MallocMessageBuilder mb;
    auto root = mb.initRoot<capnp::DynamicStruct>(schema);
    auto list = root.init("boxList").as<capnp::DynamicStruct>().init("value", 3).as<capnp::DynamicList>();
    for (uint32_t i = 0; i < 3; ++i) list.set(i, 10 * i + 1);
    root.init("boxText").as<capnp::DynamicStruct>().set("value", "official");
    auto theirs = capnp::messageToFlatArray(mb);
    cap::capnp::FlatMessageReader<> r;
    REQUIRE(r.init_flat(theirs.begin(), theirs.size() * 8) == Error::Ok);
    REQUIRE(r.validate() == Error::Ok);
    auto gr = r.root<s::Generics>();
    auto l = cap::capnp::List<uint32_t>::Reader(gr.box_list().value().get_list(cap::capnp::ElementSize::FourBytes));
    REQUIRE(l.size() == 3);
    CHECK(l[2] == 21);
    auto t = gr.box_text().value().get_text();
    CHECK(std::string(reinterpret_cast<const char*>(t.data), t.size) == "official");
    CHECK(r.error() == Error::Ok);
}
