// codec_test.cpp: the servers' Cap'n Proto encodings (events, decisions, snapshots) round-trip.
#include <capnp/dynamic.h>
#include <capnp/schema-parser.h>
#include <capnp/serialize.h>
#include <kj/filesystem.h>

#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "../../servers/placement/common/wire_codec.h"
#include "../../servers/placement/fair-share/fair_share.h"
#include "../../servers/placement/round-robin/round_robin.h"

using namespace placement;

namespace {

// The official library's view of a method's params or results struct in a
// file of schema/ (imports resolved there).
capnp::StructSchema official(const char* file, const char* iface, const char* method, bool results) {
    static capnp::SchemaParser parser;
    static auto fs = kj::newDiskFilesystem();
    static kj::Own<const kj::ReadableDirectory> dir =
        fs->getRoot().openSubdir(kj::Path::parse(std::string(CAPOS_SCHEMA_DIR).substr(1)));
    const kj::ReadableDirectory* imports[] = {dir.get()};
    capnp::ParsedSchema f = parser.parseFromDirectory(*dir, kj::Path::parse(file), kj::arrayPtr(imports, 1));
    auto m = f.getNested(iface).asInterface().getMethodByName(method);
    return results ? m.getResultType() : m.getParamType();
}

// A flat message copied into words the official reader can take.
std::vector<capnp::word> words_of(const uint8_t* buf, uint32_t n) {
    std::vector<capnp::word> w(n / 8);
    std::memcpy(w.data(), buf, n);
    return w;
}

}  // namespace

TEST_CASE("events survive the nextEvents encoding", "[codec]") {
    Event in[3];
    in[0].seq = 7;
    in[0].kind = EventKind::thread_runnable;
    in[0].thread_id = 42;
    in[0].process_id = 3;
    in[0].cpu = 1;
    in[0].weight = 300;
    in[1].seq = 8;
    in[1].kind = EventKind::cpu_load;
    in[1].cpu = 2;
    in[1].runnable = 5;
    in[2].seq = 9;
    in[2].kind = EventKind::deadline_missed;
    in[2].aux = 7;
    alignas(8) static uint8_t buf[4096];
    uint32_t n = codec::encode_events(buf, sizeof buf, in, 3, 11);
    REQUIRE(n > 0);
    Event out[4];
    uint64_t dropped = 0;
    REQUIRE(codec::decode_events(buf, n, out, 4, &dropped) == 3);
    CHECK(dropped == 11);
    CHECK(out[0].kind == EventKind::thread_runnable);
    CHECK(out[0].thread_id == 42);
    CHECK(out[0].process_id == 3);
    CHECK(out[0].weight == 300);
    CHECK(out[1].kind == EventKind::cpu_load);
    CHECK(out[1].runnable == 5);
    CHECK(out[1].cpu == 2);
    CHECK(out[2].kind == EventKind::deadline_missed);
    CHECK(out[2].aux == 7);
    CHECK(codec::decode_events(buf, 7, out, 4, &dropped) == -1);  // truncated
}

TEST_CASE("place params carry every decision kind as the official library reads them", "[codec]") {
    Decision d[3];
    d[0] = assign(5, 42, 1, 8'000'000);
    d[1].kind = DecisionKind::process_weight;
    d[1].process_id = 9;
    d[1].value = 300;
    d[2] = assign(0, 43, 0);
    d[2].cpu_mask = 0b110;
    alignas(8) static uint8_t buf[4096];
    uint32_t n = codec::encode_place(buf, sizeof buf, 77, d, 3);
    REQUIRE(n > 0);
    // Read back by the official library, by field name, not by the layout the
    // encoder assumes.
    REQUIRE(n % 8 == 0);
    auto words = words_of(buf, n);
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
    auto root = reader.getRoot<capnp::DynamicStruct>(official("scheduler.capnp", "SchedulerControl", "place", false));
    CHECK(root.get("epoch").as<uint64_t>() == 77);
    auto l = root.get("decisions").as<capnp::DynamicList>();
    REQUIRE(l.size() == 3);
    auto e0 = l[0].as<capnp::DynamicStruct>();
    REQUIRE(e0.which() != nullptr);
    CHECK(std::string(KJ_ASSERT_NONNULL(e0.which()).getProto().getName().cStr()) == "assign");
    auto a0 = e0.get("assign").as<capnp::DynamicStruct>();
    CHECK(a0.get("threadId").as<uint64_t>() == 42);
    CHECK(a0.get("cpu").as<uint32_t>() == 1);
    CHECK(a0.get("sliceNs").as<uint64_t>() == 8'000'000);
    auto e1 = l[1].as<capnp::DynamicStruct>();
    CHECK(std::string(KJ_ASSERT_NONNULL(e1.which()).getProto().getName().cStr()) == "processWeight");
    auto p1 = e1.get("processWeight").as<capnp::DynamicStruct>();
    CHECK(p1.get("processId").as<uint64_t>() == 9);
    CHECK(p1.get("weight").as<uint32_t>() == 300);
    auto e2 = l[2].as<capnp::DynamicStruct>();
    CHECK(std::string(KJ_ASSERT_NONNULL(e2.which()).getProto().getName().cStr()) == "assignSet");
    auto s2 = e2.get("assignSet").as<capnp::DynamicStruct>();
    CHECK(s2.get("threadId").as<uint64_t>() == 43);
    CHECK(s2.get("cpuMask").as<uint64_t>() == 0b110);
}

TEST_CASE("a fair-share snapshot imports into round-robin and back", "[codec]") {
    FairShare fs;
    fs.start(2);
    Decisions out;
    for (uint64_t t = 1; t <= 4; ++t) {
        Event e;
        e.seq = t;
        e.kind = EventKind::thread_runnable;
        e.thread_id = 100 + t;
        e.process_id = t;
        e.weight = 1;
        fs.on_event(e, out);
    }
    static PolicyState s, back;
    fs.export_state(s);
    alignas(8) static uint8_t buf[16384];
    uint32_t n = codec::encode_snapshot(buf, sizeof buf, s, 3);
    REQUIRE(n > 0);
    REQUIRE(codec::decode_snapshot(buf, n, back));
    CHECK(std::strcmp(back.policy, "fair-share") == 0);
    CHECK(back.nthreads == 4);
    CHECK(back.last_seq == 4);
    CHECK(back.threads[2].thread_id == 103);
    CHECK(back.threads[2].runnable);
    CHECK(back.threads[2].cpu == fs.cpu_of(103));
    RoundRobin rr;
    REQUIRE(rr.import_state(back));
    FairShare again;
    PolicyState s2;
    rr.export_state(s2);
    REQUIRE(again.import_state(s2));
    CHECK(again.cpu_of(104) == fs.cpu_of(104));
    CHECK_FALSE(codec::decode_snapshot(buf, 12, back));
}

TEST_CASE("exportState results carry the snapshot and round-trip", "[codec]") {
    FairShare fs;
    fs.start(2);
    Decisions out;
    for (uint64_t t = 1; t <= 3; ++t) {
        Event e;
        e.seq = t;
        e.kind = EventKind::thread_runnable;
        e.thread_id = 200 + t;
        e.process_id = 7;
        e.weight = 2;
        fs.on_event(e, out);
    }
    static PolicyState s, back;
    fs.export_state(s);
    alignas(8) static uint8_t buf[16384];
    uint32_t n = codec::encode_export_results(buf, sizeof buf, s, 5);
    REQUIRE(n > 0);
    // Read back by the official library: the results' snapshot field.
    REQUIRE(n % 8 == 0);
    auto words = words_of(buf, n);
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
    auto root = reader.getRoot<capnp::DynamicStruct>(official("placement.capnp", "Placement", "exportState", true));
    REQUIRE(root.has("snapshot"));
    auto snap = root.get("snapshot").as<capnp::DynamicStruct>();
    CHECK(snap.get("epoch").as<uint64_t>() == 5);
    CHECK(snap.get("lastSeq").as<uint64_t>() == 3);
    CHECK(std::string(snap.get("policy").as<capnp::Text>().cStr()) == "fair-share");
    REQUIRE(codec::decode_export_results(buf, n, back));
    CHECK(std::strcmp(back.policy, "fair-share") == 0);
    CHECK(back.nthreads == 3);
    CHECK(back.threads[1].thread_id == 202);
    CHECK(back.threads[1].cpu == fs.cpu_of(202));
    // A bare snapshot is not an exportState result, and vice versa.
    uint32_t m = codec::encode_snapshot(buf, sizeof buf, s, 5);
    CHECK_FALSE(codec::decode_export_results(buf, m, back));
    CHECK_FALSE(codec::decode_export_results(buf, 12, back));
}
