// endpoint.cpp - Endpoint calls on this thread's ring (see endpoint.h).
#include "libcap/endpoint.h"

#include "libcap/interfaces.h"
#include "libcap/raw_call.h"
#include "libcap/runtime.h"

namespace cap {

using capos::abi::CapHandle;
using capos::abi::Cqe;

Result<CapHandle> create_endpoint() {
    CapHandle caps[1] = {};
    const Cqe c = raw_call(start_info().process(), iface::kProcessCreateEndpoint.interface_id,
                           iface::kProcessCreateEndpoint.ordinal, nullptr, 0, nullptr, 0, caps, 0, 1);
    if (c.status != 0) return status_of(c);
    return caps[0];
}

Result<CapHandle> mint(CapHandle ep, uint64_t badge) {
    alignas(8) uint8_t p[32];
    const uint32_t n = encode_mint(p, sizeof p, badge);
    CapHandle caps[1] = {};
    const Cqe c =
        raw_call(ep, iface::kEndpointMint.interface_id, iface::kEndpointMint.ordinal, p, n, nullptr, 0, caps, 0, 1);
    if (c.status != 0) return status_of(c);
    return caps[0];
}

Result<Incoming> receive(CapHandle ep, uint64_t timeout_ns, void* buf, uint32_t buflen) {
    alignas(8) uint8_t p[32];
    const uint32_t n = encode_receive(p, sizeof p, timeout_ns);
    Incoming in{};
    const Cqe c = raw_call(ep, iface::kEndpointReceive.interface_id, iface::kEndpointReceive.ordinal, p, n, buf, buflen,
                           in.caps, 0, kMaxIncomingCaps);
    auto d = decode_receive(c, buf, in);
    if (!d.ok()) return d.status();
    return in;
}

Result<void> reply(CapHandle ep, uint64_t call_id, Status status, const void* results, uint32_t rlen, CapHandle* caps,
                   uint16_t ncaps) {
    alignas(8) static uint8_t buf[4096 + 128];  // servers reply from one thread
    if (rlen > sizeof buf - 128) return Status::invalid_argument;
    const uint32_t n = encode_reply(buf, sizeof buf, call_id, status, results, rlen);
    const Cqe c = raw_call(ep, iface::kEndpointReply.interface_id, iface::kEndpointReply.ordinal, buf, n, nullptr, 0,
                           caps, ncaps, 0);
    if (c.status != 0) return status_of(c);
    return ok();
}

}  // namespace cap
