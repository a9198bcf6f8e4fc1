// coordinator_test.cpp - the Coordinator service of the process-scale benchmark, driven with framed messages as the guest receives them.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <vector>

#include "coordinator_service.h"

using benchcap::CoordinatorService;
using capos::abi::Status;
namespace schema = cap::schema;
namespace capnp = cap::capnp;

namespace {

constexpr uint64_t kIface = schema::Coordinator::kInterfaceId;

std::vector<unsigned char> frame(capnp::MessageBuilder& m) {
    std::vector<unsigned char> out(1024);
    size_t n = 0;
    REQUIRE(m.write_flat(out.data(), out.size(), &n) == capnp::Error::Ok);
    out.resize(n);
    return out;
}

std::vector<unsigned char> register_msg(uint32_t index) {
    alignas(8) unsigned char seg[128];
    capnp::MessageBuilder m(seg, sizeof seg);
    m.init_root<schema::Coordinator_RegisterParams>().set_worker_index(index);
    return frame(m);
}

std::vector<unsigned char> report_msg(uint32_t index, uint64_t start, uint64_t end) {
    alignas(8) unsigned char seg[256];
    capnp::MessageBuilder m(seg, sizeof seg);
    auto r = m.init_root<schema::Coordinator_ReportParams>().init_report();
    r.set_worker_index(index);
    r.set_primes(10 + index);
    r.set_checksum(0xabc0 + index);
    r.set_start_tsc(start);
    r.set_end_tsc(end);
    r.set_cpu_start(index);
    r.set_cpu_end(index);
    r.set_chunks_taken(7);
    return frame(m);
}

struct Answer {
    Status status;
    std::vector<unsigned char> bytes;
};

Answer call(CoordinatorService& s, uint16_t method, const std::vector<unsigned char>& params, uint64_t iface = kIface) {
    Answer a{Status::ok, std::vector<unsigned char>(CoordinatorService::kResultBytes)};
    size_t n = 0;
    a.status =
        s.serve(iface, method, params.data(), static_cast<uint32_t>(params.size()), a.bytes.data(), a.bytes.size(), &n);
    a.bytes.resize(n);
    return a;
}

template <typename Results>
auto results_of(const Answer& a, capnp::FlatMessageReader<4>& r) {
    REQUIRE(a.status == Status::ok);
    REQUIRE(r.init_flat(a.bytes.data(), a.bytes.size()) == capnp::Error::Ok);
    REQUIRE(r.validate() == capnp::Error::Ok);
    return r.root<Results>();
}

}  // namespace

TEST_CASE("a worker registers once and gets the run's assignment", "[coordinator]") {
    CoordinatorService s;
    s.reset(2, 2, 300000, 512);
    capnp::FlatMessageReader<4> r;
    const Answer a = call(s, 0, register_msg(1));  // the reader reads a's bytes in place
    auto w = results_of<schema::Coordinator_RegisterResults>(a, r).work();
    CHECK(w.workload() == schema::Workload::Primes);
    CHECK(w.worker_index() == 1);
    CHECK(w.workers() == 2);
    CHECK(w.range_lo() == 2);
    CHECK(w.range_hi() == 300000);
    CHECK(w.chunks() == 512);
    CHECK(s.registered() == 1);
    // Again, and an index beyond the run: workers = 0, nothing counted.
    for (uint32_t i : {1u, 2u, 31u, 0xffffffffu}) {
        capnp::FlatMessageReader<4> r2;
        const Answer a2 = call(s, 0, register_msg(i));
        auto w2 = results_of<schema::Coordinator_RegisterResults>(a2, r2).work();
        CHECK(w2.workers() == 0);
    }
    CHECK(s.registered() == 1);
}

TEST_CASE("reports are taken once, from registered workers, with ordered timestamps", "[coordinator]") {
    CoordinatorService s;
    s.reset(2, 2, 300000, 0);
    auto accepted = [&](const std::vector<unsigned char>& m) {
        capnp::FlatMessageReader<4> r;
        const Answer a = call(s, 1, m);
        return results_of<schema::Coordinator_ReportResults>(a, r).accepted();
    };
    CHECK_FALSE(accepted(report_msg(0, 100, 200)));  // not registered
    (void)call(s, 0, register_msg(0));
    CHECK_FALSE(accepted(report_msg(0, 300, 200)));  // ends before it starts
    CHECK(accepted(report_msg(0, 100, 250)));
    CHECK_FALSE(accepted(report_msg(0, 100, 250)));  // twice
    CHECK_FALSE(accepted(report_msg(5, 100, 250)));  // beyond the run
    CHECK(s.reported() == 1);
    CHECK(s.done(0));
    CHECK_FALSE(s.done(1));
    CHECK(s.reports[0].r.count == 10);
    CHECK(s.reports[0].r.checksum == 0xabc0);
    CHECK(s.reports[0].end - s.reports[0].start == 150);
    CHECK(s.reports[0].taken == 7);
}

TEST_CASE("malformed messages, other interfaces and unserved methods get error statuses", "[coordinator]") {
    CoordinatorService s;
    s.reset(4, 2, 1000, 0);
    std::vector<unsigned char> m = register_msg(0);
    // Truncated, garbage, empty.
    CHECK(call(s, 0, std::vector<unsigned char>(m.begin(), m.begin() + 6)).status == Status::malformed_message);
    CHECK(call(s, 0, std::vector<unsigned char>(16, 0xff)).status == Status::malformed_message);
    CHECK(call(s, 0, {}).status == Status::malformed_message);
    CHECK(call(s, 0, m, kIface ^ 1).status == Status::bad_method);
    CHECK(call(s, 7, m).status == Status::bad_method);
    CHECK(call(s, 2, m).status == Status::bad_method);  // result(): not served
    for (const Answer& a : {call(s, 0, {}), call(s, 7, m)}) CHECK(a.bytes.empty());
    CHECK(s.registered() == 0);
    // Every truncation of a valid message is refused or read whole; none is counted twice.
    for (size_t n = 0; n < m.size(); ++n) (void)call(s, 0, std::vector<unsigned char>(m.begin(), m.begin() + n));
    CHECK(s.registered() <= 1);
}
