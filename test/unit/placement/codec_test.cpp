// codec_test.cpp: the servers' Cap'n Proto encodings (events, decisions, snapshots) round-trip.
#include <catch2/catch_test_macros.hpp>
#include <cstring>

#include "lib/capnp_wire.h"
#include "../../servers/placement/common/wire_codec.h"
#include "../../servers/placement/fair-share/fair_share.h"
#include "../../servers/placement/round-robin/round_robin.h"

using namespace placement;

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

TEST_CASE("place params carry every decision kind at the schema's offsets", "[codec]") {
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
  kern::wire::Reader r;
  REQUIRE(r.init(buf, n).ok());
  CHECK(kern::wire::Reader::u64(r.root(), 0) == 77);
  auto l = r.struct_list(r.root(), 0);
  REQUIRE(l.ok());
  REQUIRE(l.value().count == 3);
  auto e0 = kern::wire::Reader::list_struct(l.value(), 0);
  CHECK(kern::wire::Reader::u16(e0, 10) == 0);  // assign
  CHECK(kern::wire::Reader::u64(e0, 1) == 42);
  CHECK(kern::wire::Reader::u32(e0, 4) == 1);
  CHECK(kern::wire::Reader::u64(e0, 3) == 8'000'000);
  auto e1 = kern::wire::Reader::list_struct(l.value(), 1);
  CHECK(kern::wire::Reader::u16(e1, 10) == 5);  // processWeight
  CHECK(kern::wire::Reader::u32(e1, 4) == 300);
  auto e2 = kern::wire::Reader::list_struct(l.value(), 2);
  CHECK(kern::wire::Reader::u16(e2, 10) == 6);  // assignSet
  CHECK(kern::wire::Reader::u64(e2, 3) == 0b110);
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

TEST_CASE("exportState results carry the snapshot in pointer 0 and round-trip", "[codec]") {
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
  // The results struct has no data and one pointer: the snapshot.
  kern::wire::Reader r;
  REQUIRE(r.init(buf, n).ok());
  auto snap = r.child(r.root(), 0);
  REQUIRE(snap.ok());
  CHECK(kern::wire::Reader::u64(snap.value(), 0) == 5);  // epoch
  CHECK(kern::wire::Reader::u64(snap.value(), 1) == 3);  // lastSeq
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
