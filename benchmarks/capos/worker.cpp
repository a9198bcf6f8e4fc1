// worker.cpp - process-scale benchmark worker: computes one prime segment between two cycle reads and reports it through the shared page.
//
// Arguments: index=<i> workers=<k> lo=<lo> hi=<hi> [leader=1]
// The range is shared in the page's chunks (chunks.h) when the coordinator
// set Gate::chunks, otherwise each worker computes its fixed segment.
// Named capabilities: "results" (the coordinator's MemoryObject page, see
// bench_client.h) and "console" (error lines); the leader (worker 0) also
// gets "spawner". Nothing else (children get only what is passed).
//
// The leader starts workers 1..k-1 itself, once the coordinator has said it
// is about to block: every worker is then created by a process that keeps
// its CPU busy (the leader, or the workers already spinning at the gate)
// while the coordinator's CPU is idle, so the kernel's default placement
// (an idle CPU first, else the least loaded) puts each new worker on a CPU
// of its own. A coordinator that started all workers itself would still be
// running when the last one is placed, and that worker would share a CPU
// with a spinning sibling (the kernel has no idle pull). docs/benchmarks.md,
// "capOS guest side", has the details.
//
// Timed section: the chunk loop (or one call of prime_count_range) between
// two cycles_now() reads; no system call, output or allocation in between.
#include "bench_client.h"
#include "chunks.h"
#include "cycles.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "primes.h"

namespace {

using namespace benchcap;

// How long the leader waits after the coordinator announced it is about to
// block before it starts the other workers (the coordinator's remaining path
// to the blocking wait is a few microseconds of guest time).
constexpr uint64_t kSettleCycles = 2'000'000;
// A gate or announcement not reached within this many cycles means a
// sibling is gone; give up instead of spinning forever.
constexpr uint64_t kGiveUpCycles = 60'000'000'000ull;

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

}  // namespace

int main(cap::StartInfo& info) {
    Args args;
    args.add(info.args());
    const uint64_t index = args.u64("index", ~0ull);
    const uint64_t k = args.u64("workers", 0);
    const uint64_t lo = args.u64("lo", 0);
    const uint64_t hi = args.u64("hi", 0);
    const bool leader = args.u64("leader", 0) != 0;
    if (k == 0 || k > kMaxWorkers || index >= k || hi <= lo || hi > 0xffffffffull) {
        cap::print("[bench-worker] bad arguments: %s\n", info.args());
        return 2;
    }
    const CapHandle results = info.named("results");
    const uint64_t va = results != capos::abi::kNullCap ? map_shared(results, kSharedBytes) : 0;
    if (va == 0) {
        cap::print("[bench-worker] %llu: no results page\n", static_cast<unsigned long long>(index));
        return 3;
    }
    auto* sh = reinterpret_cast<Shared*>(va);
    const bench::PrimeSegment seg =
        bench::prime_segment(static_cast<uint32_t>(lo), static_cast<uint32_t>(hi), static_cast<uint32_t>(k),
                             static_cast<uint32_t>(index));

    Spawned children[kMaxWorkers] = {};
    uint32_t nchildren = 0;
    if (leader && k > 1) {
        if (!spin_until(sh, &sh->gate.parent_waiting, 1)) return fail(sh, 4);
        spin_cycles(kSettleCycles);
        sh->gate.leader_cpu = cpu_id();
        for (uint32_t i = 1; i < k; ++i) {
            char a[128];
            cap::snprint(a, sizeof a, "index=%u workers=%llu lo=%llu hi=%llu", i, static_cast<unsigned long long>(k),
                         static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi));
            const Grant g[2] = {{"results", results}, {"console", info.console()}};
            auto s = spawn_worker("bench-worker", a, g, 2);
            if (!s.ok()) {
                cap::print("[bench-worker] spawn of worker %u failed: %d\n", i, static_cast<int>(s.status()));
                return fail(sh, 5);
            }
            children[nchildren++] = s.value();
            __atomic_fetch_add(&sh->gate.spawned, 1, __ATOMIC_RELEASE);
        }
    }

    // The gate: every worker exists and is running before any starts timing
    // (as the Linux baseline's process-shared barrier).
    __atomic_fetch_add(&sh->gate.arrived, 1, __ATOMIC_ACQ_REL);
    if (!spin_until(sh, &sh->gate.arrived, static_cast<uint32_t>(k))) return fail(sh, 6);

    const uint32_t chunks = sh->gate.chunks;
    const uint32_t cpu_start = cpu_id();
    const uint64_t start = bench::cycles_now();
    bench::PrimeResult r{0, 0};
    uint32_t taken = 1;
    if (chunks == 0) {
        r = bench::prime_count_range(seg.lo, seg.hi);
    } else {
        taken = bench::take_chunks(&sh->gate.next_chunk, chunks, [&](uint32_t c) {
            const bench::ChunkRange cr =
                bench::chunk_range(static_cast<uint32_t>(lo), static_cast<uint32_t>(hi), chunks, c);
            r = bench::prime_combine(r, bench::prime_count_range(cr.lo, cr.hi));
        });
    }
    const uint64_t end = bench::cycles_now();
    const uint32_t cpu_end = cpu_id();

    WorkerSlot& s = sh->slots[index];
    s.count = r.count;
    s.checksum = r.checksum;
    s.start_cycles = start;
    s.end_cycles = end;
    s.cpu_start = cpu_start;
    s.cpu_end = cpu_end;
    s.chunks_taken = taken;
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);

    // The leader outlives the workers it started, so the coordinator waits
    // for one process and knows every worker is gone when it returns.
    int code = 0;
    for (uint32_t i = 0; i < nchildren; ++i) {
        auto e = wait_process(children[i].handle);
        if (!e.ok() || e.value().code != 0 || e.value().reason != 0) code = 7;
    }
    return code;
}
