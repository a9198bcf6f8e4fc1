// Schema binding tests: generated client stubs and dispatch skeletons over a loopback transport.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <vector>

#include "capos/schema/console.capnp.h"
#include "capos/schema/test.capnp.h"

namespace {

using cap::capnp::Error;
using namespace cap::schema;

// A server implementing Derived (and so Target).
struct Server {
    uint32_t calls = 0;
    Error add(Target_AddParams_Reader p, Target_AddResults_Builder r) {
        ++calls;
        r.set_sum(p.a() + p.b());
        return Error::Ok;
    }
    Error echo(Target_EchoParams_Reader p, Target_EchoResults_Builder r) {
        ++calls;
        r.set_text(p.text().c_str(), p.text().size());
        return Error::Ok;
    }
    Error pass(Target_PassParams_Reader p, Target_PassResults_Builder r) {
        ++calls;
        auto c = p.target();
        if (!c.valid) return Error::CapIndexOutOfRange;
        return r.set_target(c.slot + 100) ? Error::Ok : Error::CapTableFull;
    }
    Error twice(Derived_TwiceParams_Reader p, Derived_TwiceResults_Builder r) {
        ++calls;
        r.set_y(p.x() * 2);
        return Error::Ok;
    }
};

// Serializes params to bytes (as the ring would carry them), dispatches,
// and leaves the serialized results in the caller's result buffer.
struct Loopback {
    Server* server;
    std::vector<uint64_t> wire = std::vector<uint64_t>(256);
    std::vector<uint64_t> result_buf = std::vector<uint64_t>(256);
    uint32_t param_caps[4] = {};
    uint32_t result_caps[4] = {};
    uint32_t last_slot = 0;

    Error call(uint32_t slot, cap::capnp::MethodAddress a, cap::capnp::MessageBuilder& params,
               cap::capnp::MessageReader& results) {
        last_slot = slot;
        size_t n;
        if (Error e = params.write_flat(wire.data(), wire.size() * 8, &n); e != Error::Ok) return e;
        if (params.cap_table().count != 0)
            std::memcpy(param_caps, params.cap_table().slots, params.cap_table().count * 4);
        cap::capnp::FlatMessageReader<> in;
        if (Error e = in.init_flat(wire.data(), n); e != Error::Ok) return e;
        in.set_cap_table(cap::capnp::CapTable{param_caps, params.cap_table().count});
        std::vector<uint64_t> out(128);
        cap::capnp::MessageBuilder rb(out.data(), out.size() * 8);
        rb.set_cap_table(result_caps, 4);
        Error e = Derived_dispatch(a.interface_id, a.method, in, rb, *server);
        if (e != Error::Ok) return e;
        if (Error w = rb.write_flat(result_buf.data(), result_buf.size() * 8, &n); w != Error::Ok) return w;
        if (Error r = results.init_flat(result_buf.data(), n); r != Error::Ok) return r;
        results.set_cap_table(rb.cap_table());
        return results.validate();
    }
};

}  // namespace

TEST_CASE("interface ids and method ordinals are the call address", "[schema][rpc]") {
    STATIC_REQUIRE(Target::Methods::add == 0);
    STATIC_REQUIRE(Target::Methods::echo == 1);
    STATIC_REQUIRE(Target::Methods::pass == 2);
    STATIC_REQUIRE(Derived::Methods::twice == 0);
    CHECK(Target::kInterfaceId != Derived::kInterfaceId);
    CHECK(Console::Methods::write == 0);
    CHECK(Console::Methods::write_bytes == 1);
}

TEST_CASE("client stubs reach dispatch and read typed results", "[schema][rpc]") {
    Server server;
    Loopback lb{&server};
    Target_Client<Loopback> client(lb, 42);

    std::vector<uint64_t> pbuf(64);
    cap::capnp::MessageBuilder params(pbuf.data(), pbuf.size() * 8);
    auto p = Target_Client<Loopback>::add_params(params);
    p.set_a(40);
    p.set_b(2);
    cap::capnp::FlatMessageReader<> results;
    REQUIRE(client.add(params, results) == Error::Ok);
    CHECK(Target_Client<Loopback>::add_results(results).sum() == 42);
    CHECK(lb.last_slot == 42);

    cap::capnp::MessageBuilder params2(pbuf.data(), pbuf.size() * 8);
    Target_Client<Loopback>::echo_params(params2).set_text("ping");
    cap::capnp::FlatMessageReader<> results2;
    REQUIRE(client.echo(params2, results2) == Error::Ok);
    CHECK(Target_Client<Loopback>::echo_results(results2).text().equals("ping"));

    // Capabilities travel in the cap table beside the message.
    uint32_t caps[2];
    cap::capnp::MessageBuilder params3(pbuf.data(), pbuf.size() * 8);
    params3.set_cap_table(caps, 2);
    REQUIRE(Target_Client<Loopback>::pass_params(params3).set_target(7));
    cap::capnp::FlatMessageReader<> results3;
    REQUIRE(client.pass(params3, results3) == Error::Ok);
    auto got = Target_Client<Loopback>::pass_results(results3).target();
    CHECK(got.valid);
    CHECK(got.slot == 107);
    CHECK(server.calls == 3);
}

TEST_CASE("dispatch routes superclass methods and rejects unknown addresses", "[schema][rpc]") {
    Server server;
    Loopback lb{&server};
    Derived_Client<Loopback> derived(lb, 1);
    std::vector<uint64_t> pbuf(64);
    cap::capnp::MessageBuilder params(pbuf.data(), pbuf.size() * 8);
    Derived_Client<Loopback>::twice_params(params).set_x(21);
    cap::capnp::FlatMessageReader<> results;
    REQUIRE(derived.twice(params, results) == Error::Ok);
    CHECK(Derived_Client<Loopback>::twice_results(results).y() == 42u);

    // A Target method through the Derived skeleton (superclass id).
    Target_Client<Loopback> target(lb, 1);
    cap::capnp::MessageBuilder p2(pbuf.data(), pbuf.size() * 8);
    Target_Client<Loopback>::add_params(p2).set_a(1);
    cap::capnp::FlatMessageReader<> r2;
    CHECK(target.add(p2, r2) == Error::Ok);

    cap::capnp::MessageBuilder p3(pbuf.data(), pbuf.size() * 8);
    (void)p3.init_root<Target_AddParams>();
    cap::capnp::FlatMessageReader<> r3;
    CHECK(lb.call(1, cap::capnp::MethodAddress{Derived::kInterfaceId, 9}, p3, r3) == Error::UnknownMethod);
    CHECK(lb.call(1, cap::capnp::MethodAddress{Console::kInterfaceId, 0}, p3, r3) == Error::UnknownInterface);
}

TEST_CASE("dispatch validates params before calling the implementation", "[schema][rpc]") {
    Server server;
    // A params message whose root pointer leaves its segment.
    alignas(8) uint8_t bad[16] = {0, 0, 0, 0, 1, 0, 0, 0, 0x14, 0, 0, 0, 2, 0, 0, 0};
    cap::capnp::FlatMessageReader<> in;
    REQUIRE(in.init_flat(bad, sizeof bad) == Error::Ok);
    std::vector<uint64_t> out(32);
    cap::capnp::MessageBuilder rb(out.data(), out.size() * 8);
    CHECK(Derived_dispatch(Target::kInterfaceId, Target::Methods::add, in, rb, server) == Error::PointerOutOfBounds);
    CHECK(server.calls == 0);
}

namespace {

// A Sink server: write is `-> stream` (results: StreamResult, empty).
struct SinkServer {
    uint64_t bytes = 0;
    Error write(Sink_WriteParams_Reader p, StreamResult_test_Builder) {
        bytes += p.chunk().size();
        return Error::Ok;
    }
    Error done(Sink_DoneParams_Reader, Sink_DoneResults_Builder r) {
        r.set_bytes(bytes);
        return Error::Ok;
    }
};

}  // namespace

TEST_CASE("a streaming method's results are capnp's StreamResult, empty", "[schema][rpc]") {
    STATIC_REQUIRE(std::is_same_v<Sink::WriteResults, StreamResult_test>);
    STATIC_REQUIRE(StreamResult_test::kTypeId == 0x995f9a3377c0b16eull);  // /capnp/stream.capnp's
    STATIC_REQUIRE(StreamResult_test::kDataWords == 0 && StreamResult_test::kPointerCount == 0);
    SinkServer server;
    for (uint32_t n : {3u, 5u}) {
        std::vector<uint64_t> pb(32), rb(32), flat(64);
        cap::capnp::MessageBuilder params(pb.data(), pb.size() * 8);
        auto chunk = params.init_root<Sink_WriteParams>().init_chunk(n);
        for (uint32_t i = 0; i < n; ++i) chunk.data()[i] = static_cast<uint8_t>(i);
        size_t len = 0;
        REQUIRE(params.write_flat(flat.data(), flat.size() * 8, &len) == Error::Ok);
        cap::capnp::FlatMessageReader<> in;
        REQUIRE(in.init_flat(flat.data(), len) == Error::Ok);
        cap::capnp::MessageBuilder results(rb.data(), rb.size() * 8);
        REQUIRE(Sink_dispatch(Sink::kInterfaceId, Sink::Methods::write, in, results, server) == Error::Ok);
    }
    CHECK(server.bytes == 8);
}
