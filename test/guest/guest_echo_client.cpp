// guest_echo_client.cpp - helper for utest-endpoint: calls the "server" capability with a MemoryObject attached.
//   (no args)  40 calls, each moving a MemoryObject in and getting one back
//   abandon    4 calls carrying 8 copies each, then exits before anyone receives them
#include "capos/capnp/capnp.h"
#include "capos/schema/test.capnp.h"
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"

namespace {

namespace cp = cap::capnp;
using Echo = cap::schema::EndpointEcho;

bool is(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) ++a, ++b;
    return *a == *b;
}

int abandon(const cap::StartInfo& info, guest::CapHandle server) {
    auto mo = cap::process_allocate(cap::this_ring(), info.process(), 4096);
    if (!mo.ok()) return 20;
    static guest::CapHandle caps[4][8];
    for (auto& call : caps) {
        for (auto& c : call) c = mo.value();
        cap::CallArgs a;
        a.cap = server;
        a.method = cap::iface::Method{Echo::kInterfaceId, Echo::Methods::carry};
        a.caps = call;
        a.caps_in = 8;
        if (!cap::this_ring().start(cap::make_sqe(a)).ok()) return 21;
    }
    (void)cap::this_ring().enter(0, 0);  // dispatched: the calls wait for a receive that never comes
    return 0;
}

}  // namespace

int main(cap::StartInfo& info) {
    const guest::CapHandle server = info.named("server");
    if (server == 0) return 10;
    if (is(info.args(), "abandon")) return abandon(info, server);
    uint32_t cross = 0;
    for (uint64_t i = 0; i < 40; ++i) {
        auto mo = cap::process_allocate(cap::this_ring(), info.process(), 4096 * (1 + i % 3));
        if (!mo.ok()) return 11;
        alignas(8) uint8_t seg[64];
        cp::MessageBuilder b(seg, sizeof seg);
        b.init_root<Echo::EchoParams>().set_value(i);
        alignas(8) uint8_t p[64];
        size_t n = 0;
        if (b.write_flat(p, sizeof p, &n) != cp::Error::Ok) return 18;
        alignas(8) uint8_t res[128];
        guest::CapHandle caps[1] = {mo.value()};
        // Moved: the handle in our table goes stale.
        guest::Raw r = guest::raw_call(server, Echo::kInterfaceId, Echo::Methods::echo, p, static_cast<uint32_t>(n),
                                       res, sizeof res, caps, 1, 1, capos::abi::kSqeFlagMoveCaps);
        if (r.cqe.status != 0) return 12;
        cp::FlatMessageReader<1> rd;
        if (rd.init_flat(res, r.cqe.result_len) != cp::Error::Ok || rd.validate() != cp::Error::Ok) return 13;
        const auto out = rd.root<Echo::EchoResults>();
        if (out.sum() != i * 2 + 4096 * (1 + i % 3)) return 14;
        if (out.cpu() != guest::cpu_now()) ++cross;
        if (r.cqe.caps_out_count != 1) return 15;
        guest::Raw sz = guest::raw_call(caps[0], guest::kMemoryObject, 0);
        if (sz.cqe.status != 0 || sz.cqe.value != 8192) return 16;
        // The moved handle is stale now.
        guest::Raw st = guest::raw_call(mo.value(), guest::kMemoryObject, 0);
        if (st.cqe.status != static_cast<int32_t>(capos::abi::Status::stale_slot)) return 17;
    }
    cap::print("[echo-client] 40 calls ok, %u answered from another CPU\n", cross);
    return 0;
}
