// guest.cpp - raw calls and the Endpoint/spawner/ProcessHandle encoders for the in-guest tests.
#include "guest.h"

#include "lib/capnp_wire.h"
#include "libcap/runtime.h"

namespace guest {

namespace wire = kern::wire;

Raw raw_call(CapHandle cap, uint64_t iface, uint16_t method, const void* params, uint32_t plen, void* result,
             uint32_t rmax, CapHandle* caps, uint16_t caps_in, uint16_t caps_out, uint16_t flags) {
  cap::CallArgs a;
  a.cap = cap;
  a.method = cap::iface::Method{iface, method};
  a.params = params;
  a.params_len = plen;
  a.result = result;
  a.result_max = rmax;
  a.caps = caps;
  a.caps_in = caps_in;
  a.caps_out_max = caps_out;
  a.flags = flags;
  cap::Ring& r = cap::this_ring();
  Raw out;
  auto tag = r.start(cap::make_sqe(a));
  if (!tag.ok()) {
    out.enter = static_cast<int64_t>(tag.status());
    out.cqe.status = static_cast<int32_t>(tag.status());
    return out;
  }
  auto c = r.wait(tag.value());
  if (!c.ok()) {
    out.enter = static_cast<int64_t>(c.status());
    out.cqe.status = static_cast<int32_t>(c.status());
    return out;
  }
  out.cqe = c.value();
  return out;
}

uint32_t words_msg(void* buf, uint32_t cap, const uint64_t* w, uint16_t n) {
  wire::Builder b(buf, cap);
  auto s = b.root(n, 0);
  for (uint16_t i = 0; i < n; ++i) wire::Builder::set_u64(s, i, w[i]);
  return b.finish();
}

namespace {
uint32_t len_of(const char* s) {
  uint32_t n = 0;
  while (s != nullptr && s[n] != '\0') ++n;
  return n;
}
cap::Status st(const Raw& r) { return static_cast<cap::Status>(r.cqe.status); }
}  // namespace

cap::Result<Spawned> spawn(const char* module, const char* args, const char* const* names, CapHandle* grants,
                           uint32_t ngrants, const Quotas* q) {
  const CapHandle spawner = cap::start_info().named("spawner");
  if (spawner == 0) return Status::invalid_slot;
  alignas(8) static uint8_t buf[2048];
  wire::Builder b(buf, sizeof buf);
  auto root = b.root(1, 5);
  b.set_text(root, 0, module, len_of(module));
  b.set_text(root, 1, module, len_of(module));
  if (args != nullptr && args[0] != '\0') {
    uint64_t* l = b.pointer_list(root, 2, 1);
    if (l != nullptr) b.set_text_at(l, args, len_of(args));
  }
  if (ngrants != 0) {
    wire::Builder::Struct e;
    b.struct_list(root, 3, ngrants, 1, 2, &e);
    for (uint32_t i = 0; i < ngrants && e.data != nullptr; ++i) {
      wire::Builder::Struct g{e.data + i * 3, e.data + i * 3 + 1, 1, 2};
      b.set_text(g, 0, names[i], len_of(names[i]));
      b.set_cap(g, 1, i);
      wire::Builder::set_u32(g, 0, 0);  // rights = default (all) XOR 0
    }
  }
  if (q != nullptr) {
    auto qs = b.child(root, 4, 3, 0);
    wire::Builder::set_u64(qs, 0, q->frames);
    wire::Builder::set_u32(qs, 2, q->cap_slots);
    wire::Builder::set_u32(qs, 3, q->threads);
    wire::Builder::set_u32(qs, 4, q->outstanding_calls);
  }
  const uint32_t len = b.finish();
  if (len == 0) return Status::internal;
  CapHandle caps[8] = {};
  for (uint32_t i = 0; i < ngrants && i < 8; ++i) caps[i] = grants[i];
  alignas(8) uint8_t res[64];
  Raw r = raw_call(spawner, kSpawner, 0, buf, len, res, sizeof res, caps, static_cast<uint16_t>(ngrants), 1);
  if (r.cqe.status != 0) return st(r);
  if (r.cqe.caps_out_count != 1) return Status::internal;
  return Spawned{caps[0], r.cqe.value};
}

cap::Result<Exit> wait_process(CapHandle handle) {
  alignas(8) uint8_t res[64];
  Raw r = raw_call(handle, kProcessHandle, 0, nullptr, 0, res, sizeof res);
  if (r.cqe.status != 0) return st(r);
  wire::Reader rd;
  if (!rd.init(res, r.cqe.result_len).ok()) return Status::malformed_message;
  return Exit{static_cast<int64_t>(wire::Reader::u64(rd.root(), 0)), wire::Reader::u16(rd.root(), 4)};
}

cap::Result<void> kill_process(CapHandle handle) {
  Raw r = raw_call(handle, kProcessHandle, 1);
  if (r.cqe.status != 0) return st(r);
  return cap::ok();
}

cap::Result<uint64_t> free_frames() {
  Raw r = raw_call(cap::start_info().named("spawner"), kSpawner, 2);
  if (r.cqe.status != 0) return st(r);
  return r.cqe.value;
}

cap::Result<KernelMemory> kernel_memory() {
  alignas(8) uint8_t res[128];
  Raw r = raw_call(cap::start_info().named("spawner"), kSpawner, 2, nullptr, 0, res, sizeof res);
  if (r.cqe.status != 0) return st(r);
  wire::Reader rd;
  if (!rd.init(res, r.cqe.result_len).ok()) return Status::malformed_message;
  return KernelMemory{wire::Reader::u64(rd.root(), 0), wire::Reader::u64(rd.root(), 1), wire::Reader::u64(rd.root(), 2),
                      wire::Reader::u64(rd.root(), 3), wire::Reader::u64(rd.root(), 4)};
}

cap::Result<void> drop_caps(CapHandle* caps, uint16_t n) {
  Raw r = raw_call(cap::start_info().process(), kProcess, 8, nullptr, 0, nullptr, 0, caps, n, 0);
  if (r.cqe.status != 0) return st(r);
  return cap::ok();
}

cap::Result<CapHandle> create_endpoint() {
  CapHandle caps[1] = {};
  Raw r = raw_call(cap::start_info().process(), kProcess, 7, nullptr, 0, nullptr, 0, caps, 0, 1);
  if (r.cqe.status != 0) return st(r);
  return caps[0];
}

cap::Result<CapHandle> mint(CapHandle ep, uint64_t badge) {
  alignas(8) uint8_t p[32];
  const uint32_t n = words_msg(p, sizeof p, &badge, 1);
  CapHandle caps[1] = {};
  Raw r = raw_call(ep, kEndpoint, 2, p, n, nullptr, 0, caps, 0, 1);
  if (r.cqe.status != 0) return st(r);
  return caps[0];
}

cap::Result<Incoming> receive(CapHandle ep, uint64_t timeout_ns, void* buf, uint32_t buflen) {
  alignas(8) uint8_t p[32];
  const uint32_t n = words_msg(p, sizeof p, &timeout_ns, 1);
  Incoming in{};
  Raw r = raw_call(ep, kEndpoint, 0, p, n, buf, buflen, in.caps, 0, 4);
  if (r.cqe.status != 0) return st(r);
  wire::Reader rd;
  if (!rd.init(buf, r.cqe.result_len).ok()) return Status::malformed_message;
  in.timed_out = wire::Reader::bit(rd.root(), 0);
  if (in.timed_out) return in;
  auto c = rd.child(rd.root(), 0);
  if (!c.ok()) return Status::malformed_message;
  in.call_id = wire::Reader::u64(c.value(), 0);
  in.badge = wire::Reader::u64(c.value(), 1);
  in.iface = wire::Reader::u64(c.value(), 2);
  in.method = wire::Reader::u16(c.value(), 12);
  auto d = rd.data(c.value(), 0);
  if (!d.ok()) return Status::malformed_message;
  in.params = d.value().data;
  in.params_len = d.value().size;
  in.cap_count = wire::Reader::u32(c.value(), 7);
  if (in.cap_count != r.cqe.caps_out_count) return Status::internal;
  return in;
}

cap::Result<void> reply(CapHandle ep, uint64_t call_id, int32_t status, const void* results, uint32_t rlen,
                        CapHandle* caps, uint16_t ncaps) {
  alignas(8) static uint8_t buf[4096 + 64];
  wire::Builder b(buf, sizeof buf);
  auto root = b.root(2, 2);
  wire::Builder::set_u64(root, 0, call_id);
  wire::Builder::set_u32(root, 2, static_cast<uint32_t>(status));
  b.set_data(root, 0, results, rlen);
  const uint32_t n = b.finish();
  Raw r = raw_call(ep, kEndpoint, 1, buf, n, nullptr, 0, caps, ncaps, 0);
  if (r.cqe.status != 0) return st(r);
  return cap::ok();
}

uint32_t cpu_now() {
  uint32_t lo, hi, aux;
  asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
  return aux;
}

}  // namespace guest
