// bench_client.cpp - arguments, CPU helpers and the spawner/process calls of the capOS benchmark programs.
#include "bench_client.h"

#include "capos/abi/status.h"
#include "lib/capnp_wire.h"
#include "libcap/calls.h"
#include "libcap/interfaces.h"
#include "libcap/ring.h"
#include "libcap/runtime.h"

namespace benchcap {

namespace wire = kern::wire;
using capos::abi::Status;

namespace {

// Interface ids (schema/spawner.capnp, schema/process.capnp).
constexpr uint64_t kSpawnerIface = 0x8fc82b59a1f6aa21ull;
constexpr uint64_t kProcessHandleIface = 0x88c92d58600d47feull;
constexpr uint64_t kProcessIface = 0x865f3159b338314aull;
constexpr uint16_t kSpawnMethod = 0, kWaitMethod = 0, kDropCapsMethod = 8;

uint32_t len_of(const char* s) {
    uint32_t n = 0;
    while (s != nullptr && s[n] != '\0') ++n;
    return n;
}

}  // namespace

// ---- CPU helpers ----------------------------------------------------------------

uint32_t cpu_id() {
    uint32_t lo, hi, aux;
    __asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
    return aux;
}

uint32_t cpuid_cpu_count() {
    uint32_t a, b, c, d;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0u), "c"(0u));
    if (a < 0xb) return 0;
    // Walk the levels of leaf 0xB; the last valid level counts all logical CPUs of the package.
    uint32_t count = 0;
    for (uint32_t level = 0; level < 8; ++level) {
        __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xbu), "c"(level));
        if (((c >> 8) & 0xff) == 0) break;  // level type 0: no more levels
        count = b & 0xffff;
    }
    return count;
}

void spin_cycles(uint64_t cycles) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    const uint64_t start = (static_cast<uint64_t>(hi) << 32) | lo;
    for (;;) {
        __asm__ __volatile__("pause\n\trdtsc" : "=a"(lo), "=d"(hi));
        if (((static_cast<uint64_t>(hi) << 32) | lo) - start >= cycles) return;
    }
}

// ---- process calls ------------------------------------------------------------------

cap::Result<Spawned> spawn_worker(const char* module, const char* args, const Grant* grants, uint32_t ngrants) {
    const CapHandle spawner = cap::start_info().named("spawner");
    if (spawner == capos::abi::kNullCap) return Status::invalid_slot;
    if (ngrants > 8) return Status::invalid_argument;
    // spawn(name p0, module p1, args p2 :List(Text), caps p3 :List(CapGrant),
    //       quotas p4, placementWeight u32 #0); CapGrant = (name p0, cap p1, rights u32 #0 ^ 0xffffffff).
    alignas(8) uint8_t buf[1024];
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
            b.set_text(g, 0, grants[i].name, len_of(grants[i].name));
            b.set_cap(g, 1, i);
            wire::Builder::set_u32(g, 0, 0);  // rights: the default (all) mask
        }
    }
    const uint32_t len = b.finish();
    if (len == 0 || !b.ok()) return Status::internal;
    CapHandle caps[8] = {};
    for (uint32_t i = 0; i < ngrants; ++i) caps[i] = grants[i].cap;
    alignas(8) uint8_t res[64];
    cap::CallArgs a;
    a.cap = spawner;
    a.method = cap::iface::Method{kSpawnerIface, kSpawnMethod};
    a.params = buf;
    a.params_len = len;
    a.result = res;
    a.result_max = sizeof res;
    a.caps = caps;
    a.caps_in = static_cast<uint16_t>(ngrants);
    a.caps_out_max = 1;
    auto c = cap::this_ring().call(a);
    if (!c.ok()) return c.status();
    if (c.value().caps_out_count != 1) return Status::internal;
    return Spawned{caps[0], c.value().value};
}

cap::Result<ExitStatus> wait_process(CapHandle handle) {
    alignas(8) uint8_t res[64];
    cap::CallArgs a;
    a.cap = handle;
    a.method = cap::iface::Method{kProcessHandleIface, kWaitMethod};
    a.result = res;
    a.result_max = sizeof res;
    auto c = cap::this_ring().call(a);
    if (!c.ok()) return c.status();
    wire::Reader rd;
    if (!rd.init(res, c.value().result_len).ok()) return Status::malformed_message;
    return ExitStatus{static_cast<int64_t>(wire::Reader::u64(rd.root(), 0)), wire::Reader::u16(rd.root(), 4)};
}

cap::Result<void> drop_caps(CapHandle* caps, uint16_t n) {
    cap::CallArgs a;
    a.cap = cap::start_info().process();
    a.method = cap::iface::Method{kProcessIface, kDropCapsMethod};
    a.caps = caps;
    a.caps_in = n;
    auto c = cap::this_ring().call(a);
    if (!c.ok()) return c.status();
    return cap::ok();
}

uint64_t map_shared(CapHandle memory, uint64_t bytes) {
    const uint64_t va = cap::reserve_va(bytes);
    if (va == 0) return 0;
    auto m = cap::process_map(cap::this_ring(), cap::start_info().process(), memory, va, 0, bytes, true, false);
    return m.ok() ? va : 0;
}

}  // namespace benchcap
