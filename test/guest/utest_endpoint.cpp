// utest_endpoint.cpp - in-guest tests: Endpoint call/reply between processes (client in guest-echo-client),
// capabilities passed both ways, badges, receive timeouts, reply errors, and the issue-18 regressions (what a
// hostile client or server can leave in the other's capability table).
#include "capos/capnp/capnp.h"
#include "capos/schema/test.capnp.h"
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "libcap/thread.h"

using cap::this_ring;
namespace {
namespace cp = cap::capnp;
using Echo = cap::schema::EndpointEcho;
constexpr uint64_t kEchoIface = Echo::kInterfaceId;
constexpr uint64_t kBadge = 0xb4d6e;
constexpr uint32_t kCalls = 40;

uint64_t mo_size(guest::CapHandle mo) {
    guest::Raw r = guest::raw_call(mo, guest::kMemoryObject, 0);
    return r.cqe.status == 0 ? r.cqe.value : 0;
}
}  // namespace

CAP_TEST(receive_timeout) {
    auto ep = guest::create_endpoint();
    CAP_REQUIRE(ep.ok());
    alignas(8) static uint8_t buf[512];
    auto in = guest::receive(ep.value(), 5'000'000, buf, sizeof buf);
    CAP_CHECK(in.ok() && in.value().timed_out);
    // Replying to a call that does not exist.
    CAP_CHECK(guest::reply(ep.value(), 12345, 0, nullptr, 0, nullptr, 0).status() == cap::Status::invalid_argument);
}

CAP_TEST(call_reply_across_processes_with_caps) {
    auto ep = guest::create_endpoint();
    CAP_REQUIRE(ep.ok());
    auto client = guest::mint(ep.value(), kBadge);
    CAP_REQUIRE(client.ok());
    const char* names[1] = {"server"};
    guest::CapHandle grants[1] = {client.value()};
    auto child = guest::spawn_std("guest-echo-client", "", names, grants, 1);
    CAP_REQUIRE(child.ok());
    // A MemoryObject the server hands back on every reply.
    auto reply_mo = cap::process_allocate(this_ring(), cap::start_info().process(), 8192);
    CAP_REQUIRE(reply_mo.ok());
    alignas(8) static uint8_t buf[1024];
    uint32_t served = 0, good = 0;
    while (served < kCalls) {
        auto in = guest::receive(ep.value(), 10'000'000'000ull, buf, sizeof buf);
        CAP_REQUIRE(in.ok() && !in.value().timed_out);
        const guest::Incoming& c = in.value();
        bool ok = c.badge == kBadge && c.iface == kEchoIface && c.method == Echo::Methods::echo && c.cap_count == 1;
        cp::FlatMessageReader<1> r;
        ok = ok && r.init_flat(c.params, c.params_len) == cp::Error::Ok && r.validate() == cp::Error::Ok;
        const uint64_t value = ok ? r.root<Echo::EchoParams>().value() : 0;
        // The capability the client passed: a MemoryObject of value pages.
        const uint64_t size = c.cap_count == 1 ? mo_size(c.caps[0]) : 0;
        ok = ok && size == 4096 * (1 + value % 3);
        good += ok ? 1 : 0;
        alignas(8) uint8_t seg[64];
        cp::MessageBuilder b(seg, sizeof seg);
        auto results = b.init_root<Echo::EchoResults>();
        results.set_sum(value * 2 + size);
        results.set_cpu(guest::cpu_now());
        alignas(8) uint8_t res[64];
        size_t n = 0;
        CAP_REQUIRE(b.write_flat(res, sizeof res, &n) == cp::Error::Ok);
        guest::CapHandle caps[1] = {reply_mo.value()};
        CAP_CHECK(guest::reply(ep.value(), c.call_id, ok ? 0 : -5, res, static_cast<uint32_t>(n), caps, 1).ok());
        ++served;
    }
    CAP_CHECK(good == kCalls);
    auto e = guest::wait_process(child.value().handle);
    CAP_CHECK(e.ok() && e.value().code == 0 && e.value().reason == 0);
}

CAP_TEST(call_to_dead_server) {
    // A client capability whose server is gone: spawn a child that creates an
    // endpoint... here simpler: our own endpoint, called after the receive
    // side's process (us) is fine, so use an error path instead: a client
    // call that the server answers with an error status.
    auto ep = guest::create_endpoint();
    CAP_REQUIRE(ep.ok());
    auto client = guest::mint(ep.value(), 7);
    CAP_REQUIRE(client.ok());
    // Submit a call on our own ring without waiting, then serve it.
    cap::CallArgs a;
    a.cap = client.value();
    a.method = cap::iface::Method{kEchoIface, Echo::Methods::fail};
    auto tag = this_ring().start(cap::make_sqe(a));
    CAP_REQUIRE(tag.ok());
    alignas(8) static uint8_t buf[512];
    auto in = guest::receive(ep.value(), 1'000'000'000, buf, sizeof buf);
    CAP_REQUIRE(in.ok() && !in.value().timed_out);
    CAP_CHECK(in.value().badge == 7 && in.value().method == Echo::Methods::fail);
    CAP_CHECK(guest::reply(ep.value(), in.value().call_id, -14, nullptr, 0, nullptr, 0).ok());
    auto c = this_ring().wait(tag.value());
    CAP_CHECK(c.ok() && c.value().status == static_cast<int32_t>(cap::Status::not_supported));
}

// ---- issue 18: nothing a peer does may cost the other side capability slots ----

namespace {

namespace abi = capos::abi;

// The caller's own used slots (ProcessSpawner.freeFrames, caller's view).
uint64_t slots_used() {
    auto m = guest::kernel_memory();
    return m.ok() ? m.value().slots_used : ~uint64_t{0};
}

constexpr uint32_t kAbandonCalls = 4;
constexpr uint16_t kCapsPerCall = 8;
guest::CapHandle g_abandon_client = abi::kNullCap;
guest::CapHandle g_abandon_mo = abi::kNullCap;

// Makes kAbandonCalls calls carrying kCapsPerCall copies each and ends
// before anyone receives them.
int64_t abandoning_caller(void*) {
    cap::Ring& r = this_ring();
    static guest::CapHandle caps[kAbandonCalls][kCapsPerCall];
    for (uint32_t i = 0; i < kAbandonCalls; ++i) {
        for (auto& c : caps[i]) c = g_abandon_mo;
        cap::CallArgs a;
        a.cap = g_abandon_client;
        a.method = cap::iface::Method{kEchoIface, Echo::Methods::carry};
        a.caps = caps[i];
        a.caps_in = kCapsPerCall;
        if (!r.start(cap::make_sqe(a)).ok()) return 20;
    }
    (void)r.enter(0, 0);  // dispatched: the calls wait for a receive
    return 0;
}

// Starts a call on client (this thread's ring) that accepts caps_out_max caps.
cap::Result<uint64_t> start_call(guest::CapHandle client, uint16_t caps_out_max) {
    cap::CallArgs a;
    a.cap = client;
    a.method = cap::iface::Method{kEchoIface, Echo::Methods::carry};
    static guest::CapHandle out[16];
    a.caps = out;
    a.caps_out_max = caps_out_max;
    return this_ring().start(cap::make_sqe(a));
}

}  // namespace

// A call whose caller ends before the server receives it leaves nothing in
// the server's table (the old kernel moved the caps in at call time and
// never took them back: 4 calls x 8 caps cost the server 32 slots).
CAP_TEST(abandoned_call_leaves_no_caps_in_server) {
    auto ep = guest::create_endpoint();
    CAP_REQUIRE(ep.ok());
    auto client = guest::mint(ep.value(), 1);
    CAP_REQUIRE(client.ok());
    auto mo = cap::process_allocate(this_ring(), cap::start_info().process(), 4096);
    CAP_REQUIRE(mo.ok());
    g_abandon_client = client.value();
    g_abandon_mo = mo.value();
    const uint64_t before = slots_used();
    for (int round = 0; round < 3; ++round) {
        auto t = cap::Thread::spawn(abandoning_caller, nullptr, 64 * 1024);
        CAP_REQUIRE(t.ok());
        auto j = t.value().join();
        CAP_CHECK(j.ok() && j.value() == 0);
    }
    const uint64_t after = slots_used();
    cap::print("[utest-endpoint] abandoned calls: slots %llu before, %llu after\n",
               static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
    CAP_CHECK(after == before);
    // Nothing is left to receive either.
    alignas(8) static uint8_t buf[512];
    auto in = guest::receive(ep.value(), 1'000'000, buf, sizeof buf);
    CAP_CHECK(in.ok() && in.value().timed_out);
    guest::CapHandle d[3] = {mo.value(), client.value(), ep.value()};
    CAP_CHECK(guest::drop_caps(d, 3).ok());
}

// The same from another process, the case: a client that exits
// with calls pending must cost the server nothing.
CAP_TEST(abandoning_client_process_leaves_no_caps_in_server) {
    auto ep = guest::create_endpoint();
    CAP_REQUIRE(ep.ok());
    auto client = guest::mint(ep.value(), 4);
    CAP_REQUIRE(client.ok());
    const char* names[1] = {"server"};
    guest::CapHandle grants[1] = {client.value()};
    const uint64_t before = slots_used();
    for (int round = 0; round < 3; ++round) {
        auto child = guest::spawn_std("guest-echo-client", "abandon", names, grants, 1);
        CAP_REQUIRE(child.ok());
        auto e = guest::wait_process(child.value().handle);
        CAP_CHECK(e.ok() && e.value().code == 0 && e.value().reason == 0);
        guest::CapHandle h[1] = {child.value().handle};
        CAP_CHECK(guest::drop_caps(h, 1).ok());
    }
    const uint64_t after = slots_used();
    cap::print("[utest-endpoint] abandoning client process: slots %llu before, %llu after\n",
               static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
    CAP_CHECK(after == before);
    guest::CapHandle d[2] = {client.value(), ep.value()};
    CAP_CHECK(guest::drop_caps(d, 2).ok());
}

namespace {

guest::CapHandle g_queued_client = abi::kNullCap;
guest::CapHandle g_queued_mo = abi::kNullCap;

// One call carrying kCapsPerCall copies, waited for.
int64_t queued_caller(void*) {
    guest::CapHandle caps[kCapsPerCall];
    for (auto& c : caps) c = g_queued_mo;
    guest::Raw r = guest::raw_call(g_queued_client, kEchoIface, Echo::Methods::carry, nullptr, 0, nullptr, 0, caps,
                                   kCapsPerCall, 0);
    return r.cqe.status == 0 ? 0 : 30;
}

}  // namespace

// A queued call's caps cost the server no slots until a receive takes them,
// and a receive that cannot hold them (caps_out_max 2 for 8) is refused and
// leaves the call first in line (the old kernel moved them in at call time).
CAP_TEST(queued_call_caps_enter_server_at_receive) {
    auto ep = guest::create_endpoint();
    CAP_REQUIRE(ep.ok());
    auto client = guest::mint(ep.value(), 5);
    CAP_REQUIRE(client.ok());
    auto mo = cap::process_allocate(this_ring(), cap::start_info().process(), 4096);
    CAP_REQUIRE(mo.ok());
    g_queued_client = client.value();
    g_queued_mo = mo.value();
    const uint64_t before = slots_used();
    auto t = cap::Thread::spawn(queued_caller, nullptr, 64 * 1024);
    CAP_REQUIRE(t.ok());
    const uint64_t base = slots_used();  // with the thread's own handle and stack
    alignas(8) uint8_t p[32];
    const uint32_t n = cap::encode_receive(p, sizeof p, 5'000'000'000ull);
    alignas(8) static uint8_t buf[512];
    guest::CapHandle got[cap::kMaxIncomingCaps];
    guest::Raw small = guest::raw_call(ep.value(), cap::iface::kEndpointReceive.interface_id,
                                       cap::iface::kEndpointReceive.ordinal, p, n, buf, sizeof buf, got, 0, 2);
    CAP_CHECK(small.cqe.status == static_cast<int32_t>(cap::Status::result_too_large) && small.cqe.caps_out_count == 0);
    const uint64_t queued = slots_used();
    auto in = guest::receive(ep.value(), 5'000'000'000ull, buf, sizeof buf);
    CAP_REQUIRE(in.ok() && !in.value().timed_out);
    CAP_CHECK(in.value().cap_count == kCapsPerCall);
    const uint64_t received = slots_used();
    cap::print(
        "[utest-endpoint] queued call of %u caps: server slots %llu, %llu after a refused receive, %llu received\n",
        kCapsPerCall, static_cast<unsigned long long>(base), static_cast<unsigned long long>(queued),
        static_cast<unsigned long long>(received));
    CAP_CHECK(queued == base);
    CAP_CHECK(received == base + kCapsPerCall);
    CAP_CHECK(mo_size(in.value().caps[0]) == 4096);
    CAP_CHECK(guest::reply(ep.value(), in.value().call_id, 0, nullptr, 0, nullptr, 0).ok());
    auto j = t.value().join();
    CAP_CHECK(j.ok() && j.value() == 0);
    CAP_CHECK(guest::drop_caps(in.value().caps, kCapsPerCall).ok());
    CAP_CHECK(slots_used() == before);
    guest::CapHandle d[3] = {mo.value(), client.value(), ep.value()};
    CAP_CHECK(guest::drop_caps(d, 3).ok());
}

// A reply carrying more caps than the caller accepts installs none of them
// in the caller's table; the caller gets result_too_large and so does the
// server's reply (the old kernel installed them and the caller never learned
// their handles).
CAP_TEST(reply_caps_beyond_caps_out_max_not_installed) {
    auto ep = guest::create_endpoint();
    CAP_REQUIRE(ep.ok());
    auto client = guest::mint(ep.value(), 2);
    CAP_REQUIRE(client.ok());
    auto mo = cap::process_allocate(this_ring(), cap::start_info().process(), 4096);
    CAP_REQUIRE(mo.ok());
    alignas(8) static uint8_t buf[512];
    const uint16_t kAccepts[2] = {0, 3};
    for (uint16_t accepts : kAccepts) {
        const uint64_t before = slots_used();
        auto tag = start_call(client.value(), accepts);
        CAP_REQUIRE(tag.ok());
        auto in = guest::receive(ep.value(), 1'000'000'000, buf, sizeof buf);
        CAP_REQUIRE(in.ok() && !in.value().timed_out);
        guest::CapHandle caps[8];
        for (auto& c : caps) c = mo.value();
        auto rep = guest::reply(ep.value(), in.value().call_id, 0, nullptr, 0, caps, 8);
        CAP_CHECK(!rep.ok() && rep.status() == cap::Status::result_too_large);
        auto c = this_ring().wait(tag.value());
        CAP_CHECK(c.ok() && c.value().status == static_cast<int32_t>(cap::Status::result_too_large) &&
                  c.value().caps_out_count == 0);
        const uint64_t after = slots_used();
        cap::print("[utest-endpoint] reply of 8 caps to a caller taking %u: slots %llu before, %llu after\n", accepts,
                   static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
        CAP_CHECK(after == before);
    }
    // Within the limit they arrive.
    auto tag = start_call(client.value(), 2);
    CAP_REQUIRE(tag.ok());
    auto in = guest::receive(ep.value(), 1'000'000'000, buf, sizeof buf);
    CAP_REQUIRE(in.ok() && !in.value().timed_out);
    guest::CapHandle two[2] = {mo.value(), mo.value()};
    CAP_CHECK(guest::reply(ep.value(), in.value().call_id, 0, nullptr, 0, two, 2).ok());
    auto c = this_ring().wait(tag.value());
    CAP_CHECK(c.ok() && c.value().status == 0 && c.value().caps_out_count == 2);
    guest::CapHandle d[3] = {mo.value(), client.value(), ep.value()};
    CAP_CHECK(guest::drop_caps(d, 3).ok());
}

// A reply status outside the ABI's range is refused and the call stays
// pending (the old kernel completed the caller with any negative value).
CAP_TEST(reply_status_outside_abi_refused) {
    auto ep = guest::create_endpoint();
    CAP_REQUIRE(ep.ok());
    auto client = guest::mint(ep.value(), 3);
    CAP_REQUIRE(client.ok());
    auto tag = start_call(client.value(), 0);
    CAP_REQUIRE(tag.ok());
    alignas(8) static uint8_t buf[512];
    auto in = guest::receive(ep.value(), 1'000'000'000, buf, sizeof buf);
    CAP_REQUIRE(in.ok() && !in.value().timed_out);
    const int32_t kBad[] = {static_cast<int32_t>(cap::Status::internal) - 1, -1000, INT32_MIN, 1, INT32_MAX};
    for (int32_t s : kBad) {
        auto rep = guest::reply(ep.value(), in.value().call_id, s, nullptr, 0, nullptr, 0);
        if (rep.ok() || rep.status() != cap::Status::invalid_argument)
            cap::print("[utest-endpoint] reply status %d answered %s\n", s,
                       rep.ok() ? "ok" : cap::status_name(rep.status()));
        CAP_CHECK(!rep.ok() && rep.status() == cap::Status::invalid_argument);
    }
    // The caller is still waiting; a defined status completes it.
    auto early = this_ring().wait(tag.value(), 2'000'000);
    CAP_CHECK(!early.ok() && early.status() == cap::Status::timeout);
    CAP_CHECK(guest::reply(ep.value(), in.value().call_id, static_cast<int32_t>(cap::Status::internal), nullptr, 0,
                           nullptr, 0)
                  .ok());
    auto c = this_ring().wait(tag.value());
    CAP_CHECK(c.ok() && c.value().status == static_cast<int32_t>(cap::Status::internal));
    guest::CapHandle d[2] = {client.value(), ep.value()};
    CAP_CHECK(guest::drop_caps(d, 2).ok());
}

// Creating and dropping endpoints in a loop works indefinitely (the old
// kernel kept every endpoint a process ever created until it exited and the
// 33rd failed with no_memory).
CAP_TEST(endpoints_created_and_dropped_forever) {
    const uint64_t before = slots_used();
    uint32_t made = 0;
    for (uint32_t i = 0; i < 300; ++i) {
        auto ep = guest::create_endpoint();
        if (!ep.ok()) {
            cap::print("[utest-endpoint] createEndpoint #%u failed: %s\n", i + 1, cap::status_name(ep.status()));
            break;
        }
        auto client = guest::mint(ep.value(), i);
        CAP_REQUIRE(client.ok());
        guest::CapHandle d[2] = {client.value(), ep.value()};
        CAP_REQUIRE(guest::drop_caps(d, 2).ok());
        ++made;
    }
    CAP_CHECK(made == 300);
    CAP_CHECK(slots_used() == before);
}

CAP_TEST_MAIN("endpoint")
