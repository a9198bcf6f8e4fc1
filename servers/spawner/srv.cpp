// srv.cpp - the shared ring calls of the servers (see srv.h).
#include "srv.h"

#include "lib/capnp_wire.h"
#include "libcap/calls.h"
#include "libcap/runtime.h"

namespace srv {

namespace wire = kern::wire;

Cqe call(CapHandle cap, uint64_t iface, uint16_t method, const void* params, uint32_t plen, void* result,
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
  Cqe out{};
  auto tag = r.start(cap::make_sqe(a));
  if (!tag.ok()) {
    out.status = static_cast<int32_t>(tag.status());
    return out;
  }
  auto c = r.wait(tag.value());
  if (!c.ok()) {
    out.status = static_cast<int32_t>(c.status());
    return out;
  }
  return c.value();
}

uint32_t len_of(const char* s) {
  uint32_t n = 0;
  while (s != nullptr && s[n] != '\0') ++n;
  return n;
}

bool str_eq(const char* a, const char* b) {
  if (a == nullptr || b == nullptr) return a == b;
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

bool str_eq(const char* a, uint32_t alen, const char* b) {
  for (uint32_t i = 0; i < alen; ++i)
    if (b[i] == '\0' || b[i] != a[i]) return false;
  return b[alen] == '\0';
}

namespace {
// Start of the value of `key=` in args, or nullptr.
const char* find_arg(const char* args, const char* key) {
  const uint32_t kl = len_of(key);
  const char* p = args;
  while (p != nullptr && *p != '\0') {
    while (*p == ' ') ++p;
    bool match = true;
    for (uint32_t i = 0; i < kl; ++i)
      if (p[i] != key[i]) {
        match = false;
        break;
      }
    if (match && p[kl] == '=') return p + kl + 1;
    while (*p != '\0' && *p != ' ') ++p;
  }
  return nullptr;
}
}  // namespace

uint64_t arg_u64(const char* args, const char* key, uint64_t def) {
  const char* v = find_arg(args, key);
  if (v == nullptr || *v < '0' || *v > '9') return def;
  uint64_t n = 0;
  while (*v >= '0' && *v <= '9') n = n * 10 + static_cast<uint64_t>(*v++ - '0');
  return n;
}

bool arg_str(const char* args, const char* key, char* out, uint32_t cap) {
  const char* v = find_arg(args, key);
  if (v == nullptr || cap == 0) return false;
  uint32_t n = 0;
  while (v[n] != '\0' && v[n] != ' ' && n + 1 < cap) {
    out[n] = v[n];
    ++n;
  }
  out[n] = '\0';
  return true;
}

uint32_t encode_spawn(void* buf, uint32_t cap, const char* name, uint32_t name_len, const char* module,
                      uint32_t module_len, const char* args, const Grant* grants, uint32_t ngrants,
                      const Quotas& q, uint32_t placement_weight) {
  wire::Builder b(buf, cap);
  auto root = b.root(1, 5);
  b.set_text(root, 0, name, name_len);
  b.set_text(root, 1, module, module_len);
  if (args != nullptr && args[0] != '\0') {
    uint64_t* l = b.pointer_list(root, 2, 1);
    if (l != nullptr) b.set_text_at(l, args, len_of(args));
  }
  if (ngrants != 0) {
    wire::Builder::Struct e;
    b.struct_list(root, 3, ngrants, 1, 2, &e);
    for (uint32_t i = 0; i < ngrants && e.data != nullptr; ++i) {
      wire::Builder::Struct g{e.data + i * 3, e.data + i * 3 + 1, 1, 2};
      b.set_text(g, 0, grants[i].name, len_of(grants[i].name));
      b.set_cap(g, 1, i);
      wire::Builder::set_u32(g, 0, grants[i].rights ^ 0xffffffffu);  // stored XOR the default
    }
  }
  auto qs = b.child(root, 4, 3, 0);
  wire::Builder::set_u64(qs, 0, q.frames);
  wire::Builder::set_u32(qs, 2, q.cap_slots);
  wire::Builder::set_u32(qs, 3, q.threads);
  wire::Builder::set_u32(qs, 4, q.outstanding_calls);
  wire::Builder::set_u32(qs, 5, q.children);
  wire::Builder::set_u32(root, 0, placement_weight);
  return b.finish();
}

cap::Result<Spawned> spawn(CapHandle spawner, const char* name, const char* module, const char* args,
                           const Grant* grants, uint32_t ngrants, const Quotas& q, uint32_t placement_weight) {
  if (ngrants > 16) return Status::invalid_argument;
  alignas(8) uint8_t buf[2048];
  const uint32_t len = encode_spawn(buf, sizeof buf, name, len_of(name), module, len_of(module), args, grants,
                                    ngrants, q, placement_weight);
  if (len == 0) return Status::invalid_argument;
  CapHandle caps[16] = {};
  for (uint32_t i = 0; i < ngrants; ++i) caps[i] = grants[i].cap;
  alignas(8) uint8_t res[128];
  Cqe c = call(spawner, kSpawner, kSpawn, buf, len, res, sizeof res, caps, static_cast<uint16_t>(ngrants), 1);
  if (c.status != 0) return status_of(c);
  if (c.caps_out_count != 1) return Status::internal;
  uint64_t pid = c.value;
  if (c.result_len != 0) {
    wire::Reader rd;
    if (rd.init(res, c.result_len).ok()) pid = wire::Reader::u64(rd.root(), 0);
  }
  return Spawned{caps[0], pid};
}

cap::Result<uint32_t> modules(CapHandle spawner, char* out, uint32_t cap) {
  alignas(8) static uint8_t res[4096];
  Cqe c = call(spawner, kSpawner, kModules, nullptr, 0, res, sizeof res);
  if (c.status != 0) return status_of(c);
  wire::Reader rd;
  if (!rd.init(res, c.result_len).ok()) return Status::malformed_message;
  auto l = rd.pointer_list(rd.root(), 0);
  if (!l.ok()) return Status::malformed_message;
  uint32_t n = 0;
  for (uint32_t i = 0; i < l.value().count; ++i) {
    auto t = rd.list_text(l.value(), i);
    if (!t.ok()) return Status::malformed_message;
    if (n + t.value().size + 2 > cap) return Status::result_too_large;
    for (uint32_t k = 0; k < t.value().size; ++k) out[n++] = static_cast<char>(t.value().data[k]);
    out[n++] = '\n';
  }
  if (cap != 0) out[n] = '\0';
  return l.value().count;
}

const char* reason_name(uint16_t r) {
  switch (r) {
    case 0: return "exited";
    case 1: return "killed";
    case 2: return "faulted";
    case 3: return "quota";
  }
  return "unknown";
}

Exit decode_exit(const void* res, uint32_t len) {
  wire::Reader rd;
  if (!rd.init(res, len).ok()) return Exit{};
  return Exit{static_cast<int64_t>(wire::Reader::u64(rd.root(), 0)), wire::Reader::u16(rd.root(), 4)};
}

cap::Result<Exit> wait_process(CapHandle handle) {
  alignas(8) uint8_t res[64];
  Cqe c = call(handle, kProcessHandle, 0, nullptr, 0, res, sizeof res);
  if (c.status != 0) return status_of(c);
  return decode_exit(res, c.result_len);
}

cap::Result<void> kill_process(CapHandle handle) {
  Cqe c = call(handle, kProcessHandle, 1);
  if (c.status != 0) return status_of(c);
  return cap::ok();
}

uint32_t encode_words(void* buf, uint32_t cap, const uint64_t* w, uint16_t n) {
  wire::Builder b(buf, cap);
  auto s = b.root(n, 0);
  for (uint16_t i = 0; i < n; ++i) wire::Builder::set_u64(s, i, w[i]);
  return b.finish();
}

cap::Result<Stats> stats(CapHandle spawner) {
  alignas(8) uint8_t res[160];
  Cqe c = call(spawner, kSpawner, kStats, nullptr, 0, res, sizeof res);
  if (c.status != 0) return status_of(c);
  wire::Reader rd;
  if (!rd.init(res, c.result_len).ok()) return Status::malformed_message;
  const auto& r = rd.root();
  Stats s;
  s.free_frames = wire::Reader::u64(r, 0);
  s.heap_in_use = wire::Reader::u64(r, 1);
  s.heap_mapped = wire::Reader::u64(r, 2);
  s.heap_allocations = wire::Reader::u64(r, 3);
  s.processes = wire::Reader::u64(r, 4);
  s.slots_used = wire::Reader::u64(r, 5);
  s.children = wire::Reader::u64(r, 6);
  return s;
}

cap::Result<void> drop_caps(CapHandle* caps, uint16_t n) {
  Cqe c = call(cap::start_info().process(), kProcess, 8, nullptr, 0, nullptr, 0, caps, n, 0);
  if (c.status != 0) return status_of(c);
  return cap::ok();
}

cap::Result<CapHandle> create_endpoint() {
  CapHandle caps[1] = {};
  Cqe c = call(cap::start_info().process(), kProcess, 7, nullptr, 0, nullptr, 0, caps, 0, 1);
  if (c.status != 0) return status_of(c);
  return caps[0];
}

cap::Result<CapHandle> mint(CapHandle ep, uint64_t badge) {
  alignas(8) uint8_t p[32];
  const uint32_t n = encode_words(p, sizeof p, &badge, 1);
  CapHandle caps[1] = {};
  Cqe c = call(ep, kEndpoint, 2, p, n, nullptr, 0, caps, 0, 1);
  if (c.status != 0) return status_of(c);
  return caps[0];
}

uint32_t encode_receive(void* buf, uint32_t cap, uint64_t timeout_ns) {
  return encode_words(buf, cap, &timeout_ns, 1);
}

cap::Result<void> decode_receive(const Cqe& c, const void* buf, Incoming& in) {
  if (c.status != 0) return status_of(c);
  wire::Reader rd;
  if (!rd.init(buf, c.result_len).ok()) return Status::malformed_message;
  in.timed_out = wire::Reader::bit(rd.root(), 0);
  if (in.timed_out) return cap::ok();
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
  return cap::ok();
}

cap::Result<Incoming> receive(CapHandle ep, uint64_t timeout_ns, void* buf, uint32_t buflen) {
  alignas(8) uint8_t p[32];
  const uint32_t n = encode_receive(p, sizeof p, timeout_ns);
  Incoming in{};
  Cqe c = call(ep, kEndpoint, 0, p, n, buf, buflen, in.caps, 0, 16);
  auto d = decode_receive(c, buf, in);
  if (!d.ok()) return d.status();
  return in;
}

cap::Result<void> reply(CapHandle ep, uint64_t call_id, Status status, const void* results, uint32_t rlen,
                        CapHandle* caps, uint16_t ncaps) {
  alignas(8) static uint8_t buf[4096 + 128];  // servers reply from one thread
  if (rlen > sizeof buf - 128) return Status::invalid_argument;
  wire::Builder b(buf, sizeof buf);
  auto root = b.root(2, 2);
  wire::Builder::set_u64(root, 0, call_id);
  wire::Builder::set_u32(root, 2, static_cast<uint32_t>(static_cast<int32_t>(status)));
  if (rlen != 0) b.set_data(root, 0, results, rlen);
  const uint32_t n = b.finish();
  Cqe c = call(ep, kEndpoint, 1, buf, n, nullptr, 0, caps, ncaps, 0);
  if (c.status != 0) return status_of(c);
  return cap::ok();
}

cap::Result<void> memory_read(CapHandle mo, uint64_t offset, uint32_t len, void* out) {
  alignas(8) uint8_t p[48];
  wire::Builder b(p, sizeof p);
  auto root = b.root(2, 0);
  wire::Builder::set_u64(root, 0, offset);
  wire::Builder::set_u32(root, 2, len);
  const uint32_t n = b.finish();
  alignas(8) static uint8_t res[4096 + 64];
  Cqe c = call(mo, kMemoryObject, 2, p, n, res, sizeof res);
  if (c.status != 0) return status_of(c);
  wire::Reader rd;
  if (!rd.init(res, c.result_len).ok()) return Status::malformed_message;
  auto d = rd.data(rd.root(), 0);
  if (!d.ok() || d.value().size != len) return Status::malformed_message;
  __builtin_memcpy(out, d.value().data, len);
  return cap::ok();
}

cap::Result<void> register_export(CapHandle init, const char* name, CapHandle c) {
  alignas(8) uint8_t buf[256];
  wire::Builder b(buf, sizeof buf);
  auto root = b.root(0, 2);
  b.set_text(root, 0, name, len_of(name));
  b.set_cap(root, 1, 0);
  const uint32_t n = b.finish();
  CapHandle caps[1] = {c};
  Cqe q = call(init, kBootRegistry, kRegExport, buf, n, nullptr, 0, caps, 1, 0);
  if (q.status != 0) return status_of(q);
  return cap::ok();
}

cap::Result<void> register_ready(CapHandle init) {
  Cqe q = call(init, kBootRegistry, kRegReady);
  if (q.status != 0) return status_of(q);
  return cap::ok();
}

uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

cap::Result<uint64_t> now_ns() { return cap::timer_now(cap::this_ring(), cap::start_info().timer()); }

}  // namespace srv
