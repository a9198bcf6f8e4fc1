// srv.cpp - the server-only ring calls (see srv.h): MemoryObject reads, BootRegistry, time.
#include "srv.h"

#include "capos/capnp/capnp.h"
#include "capos/schema/manifest.capnp.h"
#include "capos/schema/memory.capnp.h"
#include "libcap/calls.h"
#include "libcap/runtime.h"

namespace srv {

namespace cp = cap::capnp;
namespace sc = cap::schema;

namespace {

// Indices 0..63: more than any call carries (Incoming.caps).
struct Identity {
    uint32_t v[64];
    constexpr Identity() : v{} {
        for (uint32_t i = 0; i < 64; ++i) v[i] = i;
    }
};
constexpr Identity kIdentity{};

uint32_t finish(const cp::MessageBuilder& b, void* buf, uint32_t size) {
    size_t n = 0;
    if (b.error() != cp::Error::Ok || b.write_flat(buf, size, &n) != cp::Error::Ok) return 0;
    return static_cast<uint32_t>(n);
}

}  // namespace

cp::CapTable identity_cap_table() { return cp::CapTable{kIdentity.v, 64}; }

cap::Result<void> memory_read(CapHandle mo, uint64_t offset, uint32_t len, void* out) {
    using MO = sc::MemoryObject;
    alignas(8) unsigned char seg[64];
    cp::MessageBuilder b(seg, sizeof seg);
    auto params = b.init_root<MO::ReadParams>();
    params.set_offset(offset);
    params.set_length(len);
    alignas(8) uint8_t p[80];
    const uint32_t n = finish(b, p, sizeof p);
    alignas(8) static uint8_t res[4096 + 64];
    Cqe c = raw_call(mo, MO::kInterfaceId, MO::Methods::read, p, n, res, sizeof res);
    if (c.status != 0) return status_of(c);
    cp::FlatMessageReader<1> r;
    if (r.init_flat(res, c.result_len) != cp::Error::Ok || r.validate() != cp::Error::Ok)
        return Status::malformed_message;
    const auto d = r.root<MO::ReadResults>().bytes();
    if (r.error() != cp::Error::Ok || d.size() != len) return Status::malformed_message;
    __builtin_memcpy(out, d.data(), len);
    return cap::ok();
}

cap::Result<void> register_export(CapHandle init, const char* name, CapHandle c) {
    using BR = sc::BootRegistry;
    alignas(8) unsigned char seg[128];
    cp::MessageBuilder b(seg, sizeof seg);
    uint32_t table[1];
    b.set_cap_table(table, 1);
    auto params = b.init_root<BR::ExportParams>();
    params.set_name(name, len_of(name));
    if (!params.init_cap().set_capability(0)) return Status::internal;  // the call's capability 0
    alignas(8) uint8_t buf[256];
    const uint32_t n = finish(b, buf, sizeof buf);
    if (n == 0) return Status::invalid_argument;
    CapHandle caps[1] = {c};
    Cqe q = raw_call(init, BR::kInterfaceId, BR::Methods::export_, buf, n, nullptr, 0, caps, 1, 0);
    if (q.status != 0) return status_of(q);
    return cap::ok();
}

cap::Result<void> register_ready(CapHandle init) {
    Cqe q = raw_call(init, sc::BootRegistry::kInterfaceId, sc::BootRegistry::Methods::ready);
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
