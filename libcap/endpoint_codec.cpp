// endpoint_codec.cpp - Endpoint messages, portable (see endpoint.h).
#include "lib/capnp_wire.h"
#include "libcap/endpoint.h"

namespace cap {

namespace wire = kern::wire;

uint32_t encode_words(void* buf, uint32_t size, const uint64_t* w, uint16_t n) {
  wire::Builder b(buf, size);
  auto s = b.root(n, 0);
  for (uint16_t i = 0; i < n; ++i) wire::Builder::set_u64(s, i, w[i]);
  return b.finish();
}

uint32_t encode_receive(void* buf, uint32_t size, uint64_t timeout_ns) {
  return encode_words(buf, size, &timeout_ns, 1);
}

Result<void> decode_receive(const capos::abi::Cqe& c, const void* buf, Incoming& in) {
  if (c.status != 0) return static_cast<Status>(c.status);
  wire::Reader rd;
  if (!rd.init(buf, c.result_len).ok()) return Status::malformed_message;
  // (call :IncomingCall p0, timedOut :Bool bit 0); IncomingCall = (callId w0,
  // badge w1, interfaceId w2, methodId u16 #12, params :Data p0, capCount u32 #7).
  in.timed_out = wire::Reader::bit(rd.root(), 0);
  if (in.timed_out) return ok();
  auto ch = rd.child(rd.root(), 0);
  if (!ch.ok()) return Status::malformed_message;
  in.call_id = wire::Reader::u64(ch.value(), 0);
  in.badge = wire::Reader::u64(ch.value(), 1);
  in.iface = wire::Reader::u64(ch.value(), 2);
  in.method = wire::Reader::u16(ch.value(), 12);
  auto d = rd.data(ch.value(), 0);
  if (!d.ok()) return Status::malformed_message;
  in.params = d.value().data;
  in.params_len = d.value().size;
  in.cap_count = wire::Reader::u32(ch.value(), 7);
  if (in.cap_count != c.caps_out_count) return Status::internal;
  return ok();
}

uint32_t encode_reply(void* buf, uint32_t size, uint64_t call_id, Status status, const void* results,
                      uint32_t rlen) {
  // (callId w0, status i32 #2, results :Data p0, caps :List(UInt32) p1)
  wire::Builder b(buf, size);
  auto root = b.root(2, 2);
  wire::Builder::set_u64(root, 0, call_id);
  wire::Builder::set_u32(root, 2, static_cast<uint32_t>(static_cast<int32_t>(status)));
  if (rlen != 0) b.set_data(root, 0, results, rlen);
  return b.finish();
}

}  // namespace cap
