// srv.cpp - the server-only ring calls (see srv.h): MemoryObject reads, BootRegistry, time.
#include "srv.h"

#include "lib/capnp_wire.h"
#include "libcap/calls.h"
#include "libcap/runtime.h"

namespace srv {

namespace wire = kern::wire;

cap::Result<void> memory_read(CapHandle mo, uint64_t offset, uint32_t len, void* out) {
  alignas(8) uint8_t p[48];
  wire::Builder b(p, sizeof p);
  auto root = b.root(2, 0);
  wire::Builder::set_u64(root, 0, offset);
  wire::Builder::set_u32(root, 2, len);
  const uint32_t n = b.finish();
  alignas(8) static uint8_t res[4096 + 64];
  Cqe c = raw_call(mo, kMemoryObject, 2, p, n, res, sizeof res);
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
  Cqe q = raw_call(init, kBootRegistry, kRegExport, buf, n, nullptr, 0, caps, 1, 0);
  if (q.status != 0) return status_of(q);
  return cap::ok();
}

cap::Result<void> register_ready(CapHandle init) {
  Cqe q = raw_call(init, kBootRegistry, kRegReady);
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
