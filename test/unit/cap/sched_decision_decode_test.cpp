// sched_decision_decode_test.cpp: SchedulerControl.place's decision decode (cap/sched_decision_decode.cpp)
// over messages built by the generated builders: each union member's fields, and the refusals.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <string>

#include "capos/capnp/capnp.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "cap/sched_decision_decode.h"

namespace {

namespace cp = cap::capnp;
namespace sc = cap::schema;
using kern::SchedDecision;
using kern::SchedDecisionKind;

// Builds a place call with one decision filled by fill, frames it, reads
// it back and decodes decision 0.
template <typename F>
bool decode_one(F&& fill, SchedDecision* d, const char** why) {
    alignas(8) static uint8_t seg[1024];
    alignas(8) static uint8_t flat[1024];
    cp::MessageBuilder b(seg, sizeof seg);
    auto p = b.init_root<sc::SchedulerControl::PlaceParams>();
    p.set_epoch(9);
    auto l = p.init_decisions(1);
    auto x = l[0];
    x.set_answers_seq(77);
    fill(x);
    size_t n = 0;
    REQUIRE(b.write_flat(flat, sizeof flat, &n) == cp::Error::Ok);
    cp::FlatMessageReader<1> r;
    REQUIRE(r.init_flat(flat, static_cast<uint32_t>(n)) == cp::Error::Ok);
    REQUIRE(r.validate() == cp::Error::Ok);
    const auto rp = r.root<sc::SchedulerControl::PlaceParams>();
    REQUIRE(rp.epoch() == 9);
    REQUIRE(rp.decisions().size() == 1);
    *why = nullptr;
    const bool ok = kern::decode::placement_decision(rp.decisions()[0], d, why);
    REQUIRE(r.error() == cp::Error::Ok);
    return ok;
}

}  // namespace

TEST_CASE("place decisions: every member's fields, as the kernel applies them", "[decode][sched]") {
    SchedDecision d;
    const char* why = nullptr;
    CHECK(decode_one(
        [](auto x) {
            auto a = x.assign();
            a.set_thread_id(41);
            a.set_cpu(3);
            a.set_slice_ns(5'000'000);
        },
        &d, &why));
    CHECK((d.kind == SchedDecisionKind::assign && d.answers_seq == 77 && d.thread_id == 41 && d.cpu == 3 &&
           d.value == 5'000'000 && d.cpu_mask == 0));

    CHECK(decode_one(
        [](auto x) {
            auto a = x.assign_set();
            a.set_thread_id(42);
            a.set_cpu_mask(0x6);
            a.set_slice_ns(7);
        },
        &d, &why));
    CHECK(
        (d.kind == SchedDecisionKind::assign && d.thread_id == 42 && d.cpu_mask == 0x6 && d.value == 7 && d.cpu == 0));

    CHECK(decode_one(
        [](auto x) {
            auto w = x.thread_weight();
            w.set_thread_id(43);
            w.set_weight(300);
        },
        &d, &why));
    CHECK((d.kind == SchedDecisionKind::thread_weight && d.thread_id == 43 && d.value == 300));

    CHECK(decode_one(
        [](auto x) {
            auto w = x.process_weight();
            w.set_process_id(5);
            w.set_weight(50);
        },
        &d, &why));
    CHECK((d.kind == SchedDecisionKind::process_weight && d.process_id == 5 && d.value == 50 && d.thread_id == 0));

    CHECK(decode_one(
        [](auto x) {
            auto s = x.thread_slice();
            s.set_thread_id(44);
            s.set_slice_ns(2'000'000);
        },
        &d, &why));
    CHECK((d.kind == SchedDecisionKind::slice && d.thread_id == 44 && d.value == 2'000'000));

    CHECK(decode_one([](auto x) { x.set_default_slice(3'000'000); }, &d, &why));
    CHECK((d.kind == SchedDecisionKind::default_slice && d.value == 3'000'000));

    CHECK(decode_one([](auto x) { x.set_none(); }, &d, &why));
    CHECK((d.kind == SchedDecisionKind::none && d.answers_seq == 77));
}

TEST_CASE("place decisions: refusals (retired cpuWeight, empty CPU set, unknown member)", "[decode][sched]") {
    SchedDecision d;
    const char* why = nullptr;
    CHECK_FALSE(decode_one(
        [](auto x) {
            auto c = x.cpu_weight();
            c.set_cpu(1);
            c.set_weight(10);
        },
        &d, &why));
    REQUIRE(why != nullptr);
    CHECK(std::string(why).find("cpuWeight") != std::string::npos);
    CHECK(d.kind == SchedDecisionKind::none);

    CHECK_FALSE(decode_one(
        [](auto x) {
            auto a = x.assign_set();
            a.set_thread_id(42);
            a.set_cpu_mask(0);
        },
        &d, &why));
    REQUIRE(why != nullptr);

    // A union discriminant this kernel does not know (a newer schema's
    // member): the discriminant is the u16 at byte 20 of the data section.
    alignas(8) uint8_t seg[512];
    alignas(8) uint8_t flat[512];
    cp::MessageBuilder b(seg, sizeof seg);
    auto p = b.init_root<sc::SchedulerControl::PlaceParams>();
    p.init_decisions(1)[0].set_none();
    size_t n = 0;
    REQUIRE(b.write_flat(flat, sizeof flat, &n) == cp::Error::Ok);
    // Find the element: the one struct whose discriminant reads 4 (none).
    cp::FlatMessageReader<1> r;
    REQUIRE(r.init_flat(flat, static_cast<uint32_t>(n)) == cp::Error::Ok);
    REQUIRE(r.validate() == cp::Error::Ok);
    REQUIRE(r.root<sc::SchedulerControl::PlaceParams>().decisions()[0].which() == sc::PlacementDecision_Which::None);
    bool patched = false;
    for (size_t off = 8; off + 2 <= n && !patched; off += 2) {
        uint16_t v;
        std::memcpy(&v, flat + off, 2);
        if (v != 4) continue;
        const uint16_t unknown = 99;
        std::memcpy(flat + off, &unknown, 2);
        cp::FlatMessageReader<1> r2;
        REQUIRE(r2.init_flat(flat, static_cast<uint32_t>(n)) == cp::Error::Ok);
        if (r2.validate() == cp::Error::Ok &&
            static_cast<uint16_t>(r2.root<sc::SchedulerControl::PlaceParams>().decisions()[0].which()) == 99) {
            patched = true;
            CHECK_FALSE(kern::decode::placement_decision(r2.root<sc::SchedulerControl::PlaceParams>().decisions()[0],
                                                         &d, &why));
            CHECK(std::string(why) == "unknown decision kind");
        } else {
            std::memcpy(flat + off, &v, 2);
        }
    }
    CHECK(patched);
}
