// endpoint_codec.cpp - Endpoint messages through the generated bindings (schema/endpoint.capnp), portable (see endpoint.h).
#include "capos/capnp/capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "libcap/endpoint.h"

namespace cap {

namespace {

namespace cp = cap::capnp;
using EP = cap::schema::Endpoint;

// Writes builder b's message flat into buf; 0 if it did not fit.
uint32_t finish(const cp::MessageBuilder& b, void* buf, uint32_t size) {
    size_t n = 0;
    if (b.error() != cp::Error::Ok || b.write_flat(buf, size, &n) != cp::Error::Ok) return 0;
    return static_cast<uint32_t>(n);
}

}  // namespace

uint32_t encode_mint(void* buf, uint32_t size, uint64_t badge) {
    alignas(8) unsigned char seg[64];
    cp::MessageBuilder b(seg, sizeof seg);
    b.init_root<EP::MintParams>().set_badge(badge);
    return finish(b, buf, size);
}

uint32_t encode_receive(void* buf, uint32_t size, uint64_t timeout_ns) {
    alignas(8) unsigned char seg[64];
    cp::MessageBuilder b(seg, sizeof seg);
    b.init_root<EP::ReceiveParams>().set_timeout_ns(timeout_ns);
    return finish(b, buf, size);
}

Result<void> decode_receive(const capos::abi::Cqe& c, const void* buf, Incoming& in) {
    if (c.status != 0) return static_cast<Status>(c.status);
    cp::FlatMessageReader<1> r;
    if (r.init_flat(buf, c.result_len) != cp::Error::Ok || r.validate() != cp::Error::Ok)
        return Status::malformed_message;
    const auto res = r.root<EP::ReceiveResults>();
    in.timed_out = res.timed_out();
    if (in.timed_out) return ok();
    if (!res.has_call()) return Status::malformed_message;
    const auto call = res.call();
    in.call_id = call.call_id();
    in.badge = call.badge();
    in.iface = call.interface_id();
    in.method = call.method();
    const auto params = call.params();
    in.params = params.data();
    in.params_len = params.size();
    in.cap_count = call.cap_count();
    if (in.cap_count != c.caps_out_count) return Status::internal;
    return ok();
}

uint32_t encode_reply(void* buf, uint32_t size, uint64_t call_id, Status status, const void* results, uint32_t rlen) {
    // The builder needs its own segment (write_flat adds the framing in
    // front); on the caller's stack, since several threads may reply at once.
    alignas(8) unsigned char seg[4096 + 128];
    if (rlen > sizeof seg - 128) return 0;
    cp::MessageBuilder m(seg, sizeof seg);
    auto p = m.init_root<EP::ReplyParams>();
    p.set_call_id(call_id);
    p.set_status(static_cast<int32_t>(status));
    if (rlen != 0) p.set_results(static_cast<const uint8_t*>(results), rlen);
    return finish(m, buf, size);
}

}  // namespace cap
