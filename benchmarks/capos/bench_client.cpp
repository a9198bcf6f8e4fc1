// bench_client.cpp - CPU helpers, spawn_worker and map_shared of the capOS benchmark programs.
#include "bench_client.h"
#include "cycles.h"

#include "capos/abi/status.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/placement.capnp.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/cpu.h"
#include "libcap/ring.h"
#include "libcap/runtime.h"

namespace benchcap {

using capos::abi::Status;

// ---- CPU helpers ----------------------------------------------------------------

uint32_t cpu_id() { return cap::current_cpu(); }

uint32_t cpuid_cpu_count() {
    uint32_t a, b, c, d;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0u), "c"(0u));
    if (a < 0xb) {
        // No leaf 0xB (a core2duo-class CPU): the logical processors per
        // package from leaf 1 when HTT says the field is valid, else unknown.
        __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1u), "c"(0u));
        return (d & (1u << 28)) != 0 ? (b >> 16) & 0xff : 0;
    }
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
    return cap::spawn(spawner, module, module, args, grants, ngrants, nullptr);
}

uint64_t map_shared(CapHandle memory, uint64_t bytes) {
    const uint64_t va = cap::reserve_va(bytes);
    if (va == 0) return 0;
    auto m = cap::process_map(cap::this_ring(), cap::start_info().process(), memory, va, 0, bytes, true, false);
    return m.ok() ? va : 0;
}

uint64_t measure_tsc_hz(const cap::StartInfo& info) {
    auto& r = cap::this_ring();
    const uint64_t a0 = bench::cycles_now();
    auto n0 = cap::timer_now(r, info.timer());
    const uint64_t a1 = bench::cycles_now();
    if (!n0.ok() || !cap::timer_sleep(r, info.timer(), 50'000'000).ok()) return 0;
    const uint64_t b0 = bench::cycles_now();
    auto n1 = cap::timer_now(r, info.timer());
    const uint64_t b1 = bench::cycles_now();
    if (!n1.ok() || n1.value() <= n0.value()) return 0;
    const uint64_t cycles = (b0 / 2 + b1 / 2) - (a0 / 2 + a1 / 2);
    return cycles * 1'000'000'000ull / (n1.value() - n0.value());
}

// ---- placement trace ----------------------------------------------------------

void finish_placement_trace(const cap::StartInfo& info) {
    const CapHandle pl = info.named("placement");
    if (pl == capos::abi::kNullCap) return;
    using P = cap::schema::Placement;
    // Static: on a timeout the call stays outstanding and the kernel may
    // still write its result here after we gave up on it.
    alignas(8) static uint8_t seg[32], params[48], result[96];
    cap::capnp::MessageBuilder b(seg, sizeof seg);
    (void)b.init_root<P::TraceDumpParams>();
    size_t n = 0;
    if (b.error() != cap::capnp::Error::Ok || b.write_flat(params, sizeof params, &n) != cap::capnp::Error::Ok) {
        cap::print("[bench] placement trace: cannot encode the call\n");
        return;
    }
    cap::CallArgs a;
    a.cap = pl;
    a.method = cap::iface::Method{P::kInterfaceId, P::Methods::trace_dump};
    a.params = params;
    a.params_len = static_cast<uint32_t>(n);
    a.result = result;
    a.result_max = sizeof result;
    cap::Ring& r = cap::this_ring();
    auto tag = r.start(cap::make_sqe(a));
    if (!tag.ok()) {
        cap::print("[bench] placement trace: call not started (%d)\n", static_cast<int>(tag.status()));
        return;
    }
    // A live server answers within one of its loop turns (20 ms) plus the
    // dump itself (a benchmark boot's trace prints in about a second under
    // TCG, see docs/writing-a-policy.md); a dead one never, and init keeps
    // the channel's Endpoint, so the call would wait forever.
    constexpr uint64_t kWaitNs = 20'000'000'000ull;
    auto c = r.wait(tag.value(), kWaitNs);
    if (!c.ok()) {
        if (c.status() == Status::timeout) r.abandon(tag.value());
        cap::print("[bench] placement trace: no answer from the placement server (%d)\n", static_cast<int>(c.status()));
        return;
    }
    if (c.value().status != 0) {
        cap::print("[bench] placement trace: refused (%d)\n", c.value().status);
        return;
    }
    cap::capnp::FlatMessageReader<1> rd;
    if (rd.init_flat(result, c.value().result_len) != cap::capnp::Error::Ok || rd.validate() != cap::capnp::Error::Ok) {
        cap::print("[bench] placement trace: malformed answer\n");
        return;
    }
    cap::print("[bench] placement trace: %s\n", rd.root<P::TraceDumpResults>().dumped() ? "dumped" : "not recorded");
}

}  // namespace benchcap
