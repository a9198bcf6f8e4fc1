// worker.cpp - process-scale benchmark worker: registers with the coordinator, computes its share of the prime range between two cycle reads, reports.
//
// Arguments: index=<i> (its place in the run; everything else comes with the
// assignment). Named capabilities: "coordinator" (a client of the
// coordinator's Endpoint, schema/coordinator.capnp), "gate" (the
// coordinator's MemoryObject page: the start signal and the chunk counter
// only, see bench_client.h) and "console" (error lines). Nothing else.
//
// Coordinator.register gives the WorkAssignment (workers, range, chunks);
// the worker then meets the others at the page's gate, so that every worker
// exists and runs before any starts timing (as the Linux baseline's
// process-shared barrier); after its timed section it sends its
// WorkerReport with Coordinator.report and exits.
//
// Timed section: the chunk loop (or one call of prime_count_range) between
// two cycles_now() reads; no system call, output or allocation in between.
#include "bench_client.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/coordinator.capnp.h"
#include "chunks.h"
#include "cycles.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/transport.h"
#include "primes.h"

namespace {

using namespace benchcap;
namespace schema = cap::schema;
using Client = schema::Coordinator_Client<cap::RingTransport>;

// A gate not reached within this many cycles means a sibling is gone; give
// up instead of spinning forever.
constexpr uint64_t kGiveUpCycles = 60'000'000'000ull;

cap::RingTransport* g_transport;  // on this thread's ring; set in main

int fail(Shared* sh, int code) {
    if (sh != nullptr) __atomic_store_n(&sh->gate.abort, 1, __ATOMIC_RELEASE);
    return code;
}

// Spins until *word >= want or the gate aborts; false on abort or timeout.
bool spin_until(Shared* sh, const uint32_t* word, uint32_t want) {
    const uint64_t start = bench::cycles_now();
    while (__atomic_load_n(word, __ATOMIC_ACQUIRE) < want) {
        if (__atomic_load_n(&sh->gate.abort, __ATOMIC_ACQUIRE) != 0) return false;
        if (bench::cycles_now() - start > kGiveUpCycles) return false;
        __builtin_ia32_pause();
    }
    return true;
}

struct Assignment {
    uint32_t workers, lo, hi, chunks;
};

// Coordinator.register(index): the assignment, checked against what this
// worker can compute. False (with a line on the console) if the call failed
// or the assignment is not for it.
bool register_with(Client& c, uint32_t index, Assignment& out) {
    alignas(8) unsigned char seg[64];
    cap::capnp::MessageBuilder p(seg, sizeof seg);
    Client::register_params(p).set_worker_index(index);
    cap::capnp::FlatMessageReader<4> r;
    if (c.register_(p, r) != cap::capnp::Error::Ok) {
        cap::print("[bench-worker] %u: register failed: %s\n", index, cap::status_name(g_transport->last_status()));
        return false;
    }
    const auto w = Client::register_results(r).work();
    out = Assignment{w.workers(), static_cast<uint32_t>(w.range_lo()), static_cast<uint32_t>(w.range_hi()), w.chunks()};
    if (w.workload() != schema::Workload::Primes || w.worker_index() != index || out.workers == 0 ||
        out.workers > kMaxWorkers || index >= out.workers || w.range_hi() <= w.range_lo() ||
        w.range_hi() > 0xffffffffull) {
        cap::print("[bench-worker] %u: unusable assignment\n", index);
        return false;
    }
    return true;
}

bool report_to(Client& c, uint32_t index, const bench::PrimeResult& r, uint64_t start, uint64_t end, uint32_t cpu_start,
               uint32_t cpu_end, uint32_t taken) {
    alignas(8) unsigned char seg[256];
    cap::capnp::MessageBuilder p(seg, sizeof seg);
    auto rep = Client::report_params(p).init_report();
    rep.set_worker_index(index);
    rep.set_primes(r.count);
    rep.set_checksum(r.checksum);
    rep.set_work_cycles(end - start);
    rep.set_start_tsc(start);
    rep.set_end_tsc(end);
    rep.set_cpu_start(cpu_start);
    rep.set_cpu_end(cpu_end);
    rep.set_chunks_taken(taken);
    cap::capnp::FlatMessageReader<4> res;
    if (c.report(p, res) != cap::capnp::Error::Ok) {
        cap::print("[bench-worker] %u: report failed: %s\n", index, cap::status_name(g_transport->last_status()));
        return false;
    }
    if (!Client::report_results(res).accepted()) {
        cap::print("[bench-worker] %u: report refused\n", index);
        return false;
    }
    return true;
}

}  // namespace

int main(cap::StartInfo& info) {
    Args args;
    args.add(info.args());
    const uint64_t index = args.u64("index", ~0ull);
    if (index >= kMaxWorkers) {
        cap::print("[bench-worker] bad arguments: %s\n", info.args());
        return 2;
    }
    const CapHandle gate = info.named("gate");
    const uint64_t va = gate != capos::abi::kNullCap ? map_shared(gate, kSharedBytes) : 0;
    if (va == 0) {
        cap::print("[bench-worker] %llu: no gate page\n", static_cast<unsigned long long>(index));
        return 3;
    }
    auto* sh = reinterpret_cast<Shared*>(va);
    static cap::RingTransport transport(cap::this_ring());
    g_transport = &transport;
    const uint32_t id = transport.bind(info.named("coordinator"));
    if (id == cap::RingTransport::kInvalidId) {
        cap::print("[bench-worker] %llu: no coordinator\n", static_cast<unsigned long long>(index));
        return fail(sh, 4);
    }
    Client coordinator(transport, id);
    const auto me = static_cast<uint32_t>(index);
    Assignment a{};
    if (!register_with(coordinator, me, a)) return fail(sh, 5);
    const bench::PrimeSegment seg = bench::prime_segment(a.lo, a.hi, a.workers, me);

    __atomic_fetch_add(&sh->gate.arrived, 1, __ATOMIC_ACQ_REL);
    if (!spin_until(sh, &sh->gate.arrived, a.workers)) return fail(sh, 6);

    const uint32_t chunks = a.chunks;
    const uint32_t cpu_start = cpu_id();
    const uint64_t start = bench::cycles_now();
    bench::PrimeResult r{0, 0};
    uint32_t taken = 1;
    if (chunks == 0) {
        r = bench::prime_count_range(seg.lo, seg.hi);
    } else {
        taken = bench::take_chunks(&sh->gate.next_chunk, chunks, [&](uint32_t c) {
            const bench::ChunkRange cr = bench::chunk_range(a.lo, a.hi, chunks, c);
            r = bench::prime_combine(r, bench::prime_count_range(cr.lo, cr.hi));
        });
    }
    const uint64_t end = bench::cycles_now();
    const uint32_t cpu_end = cpu_id();

    return report_to(coordinator, me, r, start, end, cpu_start, cpu_end, taken) ? 0 : fail(sh, 7);
}
