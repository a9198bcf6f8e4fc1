// endpoint.h - the Endpoint client: create, mint, receive, reply (schema/endpoint.capnp).
//
// A server receives calls made on minted clients of its Endpoint and
// replies by call id. The encoders/decoders (endpoint_codec.cpp) are
// portable and host-tested against the official Cap'n Proto library; the
// calls (endpoint.cpp) run on this_ring().
#pragma once

#include <stdint.h>

#include "capos/abi/ring.h"
#include "libcap/result.h"

namespace cap {

inline constexpr uint16_t kMaxIncomingCaps = 16;

// One received call (Endpoint.receive results).
struct Incoming {
    uint64_t call_id = 0, badge = 0, iface = 0;
    uint16_t method = 0;
    const uint8_t* params = nullptr;  // into the receive buffer
    uint32_t params_len = 0;
    uint32_t cap_count = 0;
    bool timed_out = false;
    capos::abi::CapHandle caps[kMaxIncomingCaps] = {};
};

// Endpoint.mint params (badge).
uint32_t encode_mint(void* buf, uint32_t size, uint64_t badge);
// Endpoint.receive params (timeoutNs).
uint32_t encode_receive(void* buf, uint32_t size, uint64_t timeout_ns);
// Decodes a receive completion (cqe + result buffer); the caps are already
// in in.caps (the call's caps array). An error completion is its status.
Result<void> decode_receive(const capos::abi::Cqe& c, const void* buf, Incoming& in);
// Endpoint.reply params; results may be empty (no data pointer). 0 if buf is too small.
uint32_t encode_reply(void* buf, uint32_t size, uint64_t call_id, Status status, const void* results, uint32_t rlen);

// Process.createEndpoint (KERNEL method @7) on this process.
Result<capos::abi::CapHandle> create_endpoint();
// Endpoint.mint: a client capability whose calls arrive with `badge`.
Result<capos::abi::CapHandle> mint(capos::abi::CapHandle ep, uint64_t badge);
// Endpoint.receive; buf keeps the received message (in.params point into it).
Result<Incoming> receive(capos::abi::CapHandle ep, uint64_t timeout_ns, void* buf, uint32_t buflen);
// Endpoint.reply (results at most 4096 bytes) passing caps[0..ncaps).
Result<void> reply(capos::abi::CapHandle ep, uint64_t call_id, Status status, const void* results, uint32_t rlen,
                   capos::abi::CapHandle* caps, uint16_t ncaps);

}  // namespace cap
