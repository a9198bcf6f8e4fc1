// coordinator.cpp - the capOS benchmark coordinator: runs the process-scale and thread-scale workloads, verifies them and prints the result lines.
//
// Arguments (`key=value`, spaces or commas; built-in defaults of the module
// variant first, then the module command line, later words win):
//   case=process|thread|all   which workload(s) (default all)
//   cpus=<n>                  CPUs of the machine (the kernel passes it to
//                             utest modules; otherwise CPUID leaf 0xB)
//   workers=<n>               workers / threads (default: cpus)
//   lo=<n> hi=<n>             prime range (default [2, 2^24))
//   blocks=<n>                blocks to hash (default 262144)
//   runs=<n>                  runs of each case in this boot (default 1)
//   chunks=<n>                pieces the workers share the work in
//                             (chunks.h, default 512); 0: a fixed split
//   paired=<n>                paired boot: n ABBA blocks per case, A = 1 worker,
//                             B = `workers` (benchmarks/workloads/paired.h);
//                             replaces runs
//   crash_at=<point>[:<n>], crash_how=fault|stall   test only (libcap/crash_point.h):
//                             die at kCrashPoints below, the n-th run
//
// Around each run the coordinator prints `[bench-window] begin <label>` and
// `[bench-window] end <label>` (outside the timed section) so the host can
// attribute its own CPU time and QEMU's statistics to the run.
//
// Process scale: the coordinator serves Coordinator (schema/coordinator.capnp)
// on an Endpoint of its own and starts the k workers through its "spawner"
// capability (the ProcessSpawner server in every shipped manifest; the
// kernel's boot-module spawner in the utest-smp-* boots, which have no
// init), each granted a client of that Endpoint, the run's MemoryObject page
// and the console. A worker registers (Coordinator.register gives its
// WorkAssignment), meets the others at the page's gate, computes, and
// reports (Coordinator.report); the coordinator blocks in Endpoint.receive
// meanwhile, so its CPU is idle while the workers time themselves, then
// waits for each worker's exit. The page carries only the gate and the
// chunk counter. elapsed = max(end) - min(start) over the reports.
//
// Thread scale: k sibling threads (libcap threads) of this process hash
// blockhash_span(blocks, k, t) each behind a barrier of the k threads, into
// per-thread cache-line slots; the main thread blocks in Thread.join. Thread
// 0 starts threads 1..k-1 once the main thread is about to block in its join
// (same placement reason). Phases as in the Linux baseline:
// t0 before the first spawn, t3 after the last join.
//
// Output: the result lines of docs/benchmarks.md through result_line.h, a
// `[capos-detail]` line per run (per-worker cycles and CPUs), and the utest
// summary `[utest] smp-bench <verified> passed, <failed> failed`, which makes
// the kernel's utest runner end QEMU when this is the first process.
#include "blockhash.h"
#include "bench_client.h"
#include "cycles.h"
#include "kstats.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/coordinator.capnp.h"
#include "libcap/calls.h"
#include "libcap/crash_point.h"
#include "libcap/endpoint.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"
#include "chunks.h"
#include "coordinator_service.h"
#include "paired.h"
#include "primes.h"
#include "result_line.h"

// The module variant's built-in arguments (coordinator_defaults.cpp).
extern const char kBenchDefaultArgs[];

namespace {

using namespace benchcap;
namespace schema = cap::schema;

// How long thread 0 waits after the main thread announced its join before
// it starts the siblings (the main thread's remaining path to the blocking
// join is a few microseconds of guest time), so that the main thread's CPU
// is idle when the siblings are placed.
constexpr uint64_t kSettleCycles = 2'000'000;
constexpr uint64_t kGiveUpCycles = 60'000'000'000ull;  // a thread that never arrives
constexpr size_t kThreadStack = 64 * 1024;

struct Config {
    uint32_t cpus;
    uint32_t workers;
    uint32_t lo, hi;
    uint32_t blocks;
    uint32_t runs;
    uint32_t paired;  // ABBA blocks; 0: `runs` runs with `workers`
    uint32_t chunks;  // chunks.h; 0: fixed split
};

uint32_t g_passed = 0, g_failed = 0;

// Where a test may kill the coordinator in a run (issue 18):
//   after_start  process scale: the workers are started; the coordinator has
//                not begun to serve their register calls
//   mid_run      thread scale: thread 0 is started and releases its siblings;
//                the hashing threads of this process are running
cap::CrashPoints g_crash;
const char* const kCrashPoints[] = {"after_start", "mid_run"};

void emit(const char* line) { cap::print("%s\n", line); }

// One run's attribution window: the host-side marker line (paired.h) and
// the kernel's counters (kstats.h) read just outside it; at its end the
// counters' deltas are printed as [kstats] lines. Without a "kstats"
// capability only the markers are printed.
kstats::Snapshot g_kstats_before, g_kstats_after;
bool g_kstats_have = false;

// The last window's per-CPU busy share (kstats::format_busy), appended to the
// run's [capos-detail] line; empty without the kstats capability.
char g_busy[256];
kstats::Delta g_kstats_delta;

void window(bool begin, const char* label) {
    char line[bench::kResultLineMax];
    if (begin) {
        g_kstats_have = kstats_take(g_kstats_before);
        g_busy[0] = '\0';
    }
    if (bench::format_window_line(line, sizeof line, begin, label) != 0) emit(line);
    if (!begin && g_kstats_have && kstats_take(g_kstats_after)) {
        kstats_print_delta(label, g_kstats_before, g_kstats_after);
        kstats::delta(g_kstats_before, g_kstats_after, g_kstats_delta);
        if (kstats::format_busy(g_busy, sizeof g_busy, g_kstats_delta) >= sizeof g_busy) g_busy[0] = '\0';
    }
}

bool streq(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

uint32_t popcount(uint64_t v) {
    uint32_t n = 0;
    for (; v != 0; v &= v - 1) ++n;
    return n;
}

// ---- process scale ----------------------------------------------------------------

static_assert(CoordinatorService::kMaxWorkers == kMaxWorkers);

// Answers one received call through CoordinatorService::serve; the caps a
// Coordinator call carries (none are expected) are dropped.
void answer(CapHandle ep, const cap::Incoming& in, CoordinatorService& run) {
    alignas(8) static unsigned char flat[CoordinatorService::kResultBytes];
    size_t n = 0;
    const cap::Status st = run.serve(in.iface, in.method, in.params, in.params_len, flat, sizeof flat, &n);
    for (uint32_t c = 0; c < in.cap_count; ++c)
        if (in.caps[c] != capos::abi::kNullCap) {
            CapHandle h = in.caps[c];
            (void)drop_caps(&h, 1);
        }
    (void)cap::reply(ep, in.call_id, st, n != 0 ? flat : nullptr, static_cast<uint32_t>(n), nullptr, 0);
}

// The run's Endpoint: the root this process receives on and one client
// capability the workers share (badge 1).
struct RunEndpoint {
    CapHandle root = 0, client = 0;
};

bool run_process(const Config& c, const bench::PrimeResult& expected, uint32_t k, const char* label) {
    auto& ring = cap::this_ring();
    auto mo = cap::process_allocate(ring, cap::start_info().process(), kSharedBytes);
    if (!mo.ok()) {
        cap::print("[capos-bench] process: allocate failed: %d\n", static_cast<int>(mo.status()));
        return false;
    }
    const uint64_t va = map_shared(mo.value(), kSharedBytes);
    if (va == 0) {
        cap::print("[capos-bench] process: map failed\n");
        return false;
    }
    auto* sh = reinterpret_cast<Shared*>(va);
    __builtin_memset(sh, 0, sizeof(Shared));
    RunEndpoint ep;
    {
        auto root = cap::create_endpoint();
        auto client = root.ok() ? cap::mint(root.value(), 1) : cap::Result<CapHandle>(root.status());
        if (!client.ok()) {
            cap::print("[capos-bench] process: endpoint: %s\n", cap::status_name(client.status()));
            if (root.ok()) (void)drop_caps(&root.value(), 1);
            (void)cap::process_unmap(ring, cap::start_info().process(), va, kSharedBytes);
            (void)drop_caps(&mo.value(), 1);
            return false;
        }
        ep = RunEndpoint{root.value(), client.value()};
    }
    static CoordinatorService run;
    run.reset(k, c.lo, c.hi, c.chunks > c.hi - c.lo ? c.hi - c.lo : c.chunks);

    // Exactly what a worker needs: the Coordinator client, the gate page
    // and the console for error lines (no Park or Timer: it only computes).
    const Grant g[3] = {{"coordinator", ep.client}, {"gate", mo.value()}, {"console", cap::start_info().console()}};
    window(true, label);
    const uint64_t t0 = bench::cycles_now();
    Spawned workers[kMaxWorkers] = {};
    uint32_t started = 0;
    bool ok = true;
    for (uint32_t i = 0; i < k; ++i) {
        char a[32];
        cap::snprint(a, sizeof a, "index=%u", i);
        auto s = spawn_worker("bench-worker", a, g, 3);
        if (!s.ok()) {
            cap::print("[capos-bench] process: spawn of worker %u failed: %s\n", i, cap::status_name(s.status()));
            __atomic_store_n(&sh->gate.abort, 1, __ATOMIC_RELEASE);
            ok = false;
            break;
        }
        workers[started++] = s.value();
    }
    g_crash.hit("after_start");
    // Serve until every worker has registered and reported. The workers'
    // timed sections fall while this thread is blocked in receive. A worker
    // that dies first leaves the others at the gate, where they give up; a
    // receive silent for kServeQuietNs ends the run as failed.
    constexpr uint64_t kServeQuietNs = 30'000'000'000ull;
    alignas(8) static unsigned char buf[2048];
    while (ok && run.reported() < k) {
        auto in = cap::receive(ep.root, kServeQuietNs, buf, sizeof buf);
        if (!in.ok() || in.value().timed_out) {
            cap::print("[capos-bench] process: %u of %u workers registered, %u reported; giving up (%s)\n",
                       run.registered(), k, run.reported(),
                       in.ok() ? "no call for 30 s" : cap::status_name(in.status()));
            __atomic_store_n(&sh->gate.abort, 1, __ATOMIC_RELEASE);
            ok = false;
            break;
        }
        answer(ep.root, in.value(), run);
    }
    for (uint32_t i = 0; i < started; ++i) {
        auto e = wait_process(workers[i].handle);
        if (!e.ok() || e.value().code != 0 || e.value().reason != 0) {
            if (e.ok())
                cap::print("[capos-bench] process: worker %u exited with code %lld reason %u\n", i,
                           static_cast<long long>(e.value().code), e.value().reason);
            ok = false;
        }
    }
    const uint64_t t3 = bench::cycles_now();
    window(false, label);

    bench::PrimeResult total{0, 0};
    uint64_t first = ~0ull, last = 0;
    uint64_t cpus_seen = 0;
    uint32_t moved = 0;
    char detail[bench::kResultLineMax + sizeof g_busy];  // the per-CPU busy list comes on top
    bench::LineWriter w(detail, sizeof detail);
    w.str("[capos-detail] workload=process worker_cycles=");
    for (uint32_t i = 0; i < k; ++i) {
        const CoordinatorService::Report& s = run.reports[i];
        if (!run.done(i)) {
            ok = false;
            continue;
        }
        total = bench::prime_combine(total, s.r);
        first = s.start < first ? s.start : first;
        last = s.end > last ? s.end : last;
        w.str(i == 0 ? "" : ",").u64(s.end - s.start);
        cpus_seen |= uint64_t{1} << (s.cpu_start & 63);
        moved += s.cpu_start != s.cpu_end ? 1 : 0;
    }
    w.str(" worker_cpus=");
    for (uint32_t i = 0; i < k; ++i) w.str(i == 0 ? "" : ",").u64(run.reports[i].cpu_start);
    w.str(" worker_end_cpus=");
    for (uint32_t i = 0; i < k; ++i) w.str(i == 0 ? "" : ",").u64(run.reports[i].cpu_end);
    w.str(" worker_chunks=");
    for (uint32_t i = 0; i < k; ++i) w.str(i == 0 ? "" : ",").u64(run.reports[i].taken);
    w.kv("distinct_cpus", popcount(cpus_seen)).kv("migrated", moved).str(g_busy);

    const bool verified = ok && bench::prime_result_equal(total, expected);
    char line[bench::kResultLineMax];
    const size_t n = bench::format_process_line(
        line, sizeof line,
        bench::ProcessScaleLine{c.cpus, k, c.lo, c.hi, total.count, total.checksum, last > first ? last - first : 0,
                                t3 > t0 ? t3 - t0 : 0, verified});
    if (n != 0) emit(line);
    if (w.ok()) emit(detail);

    // Release this run's page, endpoint and handles (slots are a quota).
    (void)cap::process_unmap(ring, cap::start_info().process(), va, kSharedBytes);
    CapHandle drop[3] = {mo.value(), ep.client, ep.root};
    (void)drop_caps(drop, 3);
    for (uint32_t i = 0; i < started; ++i) (void)drop_caps(&workers[i].handle, 1);
    return verified;
}

// ---- thread scale --------------------------------------------------------------------

struct alignas(64) ThreadCpu {
    uint32_t cpu_start;
    uint32_t cpu_end;
    uint32_t chunks_taken;
    uint32_t pad32_;
    uint64_t pad_[6];
};
static_assert(sizeof(ThreadCpu) == 64);

struct alignas(64) ThreadShared {
    uint32_t arrived;       // threads at the barrier
    uint32_t abort;         // a spawn failed: nobody computes
    uint32_t main_joining;  // the main thread is about to block in join
    uint32_t threads;       // k
    uint32_t blocks;
    uint32_t spawn_failed;
    uint32_t main_cpu;    // diagnostics: where the main thread spawned thread 0
    uint32_t leader_cpu;  // and where thread 0 started its siblings
    uint32_t chunks;      // chunks.h; 0: each thread its fixed span
    uint32_t pad_;
    alignas(64) uint32_t next_chunk;  // the next unclaimed piece, on a line of its own (atomic)
};

bench::BlockSlot g_slots[kMaxWorkers];
ThreadCpu g_cpus[kMaxWorkers];
ThreadShared g_ts;
cap::Thread g_threads[kMaxWorkers];  // g_threads[0] by main; 1..k-1 by thread 0

bool barrier_spin(const uint32_t* word, uint32_t want) {
    const uint64_t start = bench::cycles_now();
    while (__atomic_load_n(word, __ATOMIC_ACQUIRE) < want) {
        if (__atomic_load_n(&g_ts.abort, __ATOMIC_ACQUIRE) != 0) return false;
        if (bench::cycles_now() - start > kGiveUpCycles) return false;
        __builtin_ia32_pause();
    }
    return true;
}

int64_t hash_thread(void* arg);

int64_t start_siblings() {
    if (!barrier_spin(&g_ts.main_joining, 1)) return 1;
    spin_cycles(kSettleCycles);
    g_ts.leader_cpu = cpu_id();
    for (uint32_t i = 1; i < g_ts.threads; ++i) {
        auto t = cap::Thread::spawn(hash_thread, reinterpret_cast<void*>(static_cast<uintptr_t>(i)), kThreadStack);
        if (!t.ok()) {
            cap::print("[capos-bench] thread: spawn of thread %u failed: %d\n", i, static_cast<int>(t.status()));
            __atomic_store_n(&g_ts.spawn_failed, i, __ATOMIC_RELEASE);
            __atomic_store_n(&g_ts.abort, 1, __ATOMIC_RELEASE);
            return 2;
        }
        g_threads[i] = static_cast<cap::Thread&&>(t.value());
    }
    return 0;
}

int64_t hash_thread(void* arg) {
    const auto t = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    const uint32_t k = g_ts.threads;
    const bench::BlockSpan span = bench::blockhash_span(g_ts.blocks, k, t);
    if (t == 0 && k > 1) {
        const int64_t r = start_siblings();
        if (r != 0) return r;
    }
    __atomic_fetch_add(&g_ts.arrived, 1, __ATOMIC_ACQ_REL);
    if (!barrier_spin(&g_ts.arrived, k)) return 3;
    const uint32_t chunks = g_ts.chunks;
    const uint32_t cpu_start = cpu_id();
    const uint64_t start = bench::cycles_now();
    bench::BlockPartial part{0, 0};
    uint32_t taken = 1;
    if (chunks == 0) {
        part = bench::block_hash_range(span.first, span.last);
    } else {
        taken = bench::take_chunks(&g_ts.next_chunk, chunks, [&](uint32_t c) {
            const bench::ChunkRange cr = bench::chunk_range(0, g_ts.blocks, chunks, c);
            part = bench::block_combine(part, bench::block_hash_range(cr.lo, cr.hi));
        });
    }
    const uint64_t end = bench::cycles_now();
    const uint32_t cpu_end = cpu_id();
    bench::BlockSlot& s = g_slots[t];
    s.partial = part;
    s.start_cycles = start;
    s.end_cycles = end;
    g_cpus[t].cpu_start = cpu_start;
    g_cpus[t].cpu_end = cpu_end;
    g_cpus[t].chunks_taken = taken;
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
    return 0;
}

bool run_threads(const Config& c, uint64_t expected_root, uint32_t k, const char* label) {
    for (uint32_t i = 0; i < k; ++i) {
        g_slots[i] = bench::BlockSlot{};
        g_cpus[i] = ThreadCpu{};
    }
    g_ts = ThreadShared{};
    g_ts.threads = k;
    g_ts.blocks = c.blocks;
    g_ts.chunks = c.chunks > c.blocks ? c.blocks : c.chunks;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    bool ok = true;
    window(true, label);
    g_ts.main_cpu = cpu_id();
    const uint64_t t0 = bench::cycles_now();
    auto t = cap::Thread::spawn(hash_thread, nullptr, kThreadStack);
    if (!t.ok()) {
        cap::print("[capos-bench] thread: spawn failed: %d\n", static_cast<int>(t.status()));
        return false;
    }
    g_threads[0] = static_cast<cap::Thread&&>(t.value());
    __atomic_store_n(&g_ts.main_joining, 1, __ATOMIC_RELEASE);
    g_crash.hit("mid_run");
    auto j0 = g_threads[0].join();
    ok = j0.ok() && j0.value() == 0;
    // Thread 0 has passed the barrier, so every sibling handle is stored
    // (or thread 0 gave up and set spawn_failed).
    const uint32_t started = __atomic_load_n(&g_ts.spawn_failed, __ATOMIC_ACQUIRE) != 0
                                 ? __atomic_load_n(&g_ts.spawn_failed, __ATOMIC_ACQUIRE)
                                 : k;
    for (uint32_t i = 1; i < started; ++i) {
        auto j = g_threads[i].join();
        ok = ok && j.ok() && j.value() == 0;
    }
    const uint64_t t3 = bench::cycles_now();
    window(false, label);

    bench::BlockPartial total{0, 0};
    uint64_t first = ~0ull, last = 0;
    uint64_t cpus_seen = 0;
    uint32_t moved = 0;
    char detail[bench::kResultLineMax + sizeof g_busy];  // the per-CPU busy list comes on top
    bench::LineWriter w(detail, sizeof detail);
    w.str("[capos-detail] workload=thread thread_cycles=");
    for (uint32_t i = 0; i < k; ++i) {
        const bench::BlockSlot& s = g_slots[i];
        if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) == 0) {
            ok = false;
            continue;
        }
        total = bench::block_combine(total, s.partial);
        first = s.start_cycles < first ? s.start_cycles : first;
        last = s.end_cycles > last ? s.end_cycles : last;
        w.str(i == 0 ? "" : ",").u64(s.end_cycles - s.start_cycles);
        cpus_seen |= uint64_t{1} << (g_cpus[i].cpu_start & 63);
        moved += g_cpus[i].cpu_start != g_cpus[i].cpu_end ? 1 : 0;
    }
    w.str(" thread_cpus=");
    for (uint32_t i = 0; i < k; ++i) w.str(i == 0 ? "" : ",").u64(g_cpus[i].cpu_start);
    w.str(" thread_end_cpus=");
    for (uint32_t i = 0; i < k; ++i) w.str(i == 0 ? "" : ",").u64(g_cpus[i].cpu_end);
    w.str(" thread_chunks=");
    for (uint32_t i = 0; i < k; ++i) w.str(i == 0 ? "" : ",").u64(g_cpus[i].chunks_taken);
    w.kv("distinct_cpus", popcount(cpus_seen)).kv("migrated", moved);
    w.kv("main_cpu", g_ts.main_cpu).kv("leader_cpu", g_ts.leader_cpu).str(g_busy);
    if (!ok || first < t0 || last > t3 || last < first) {
        ok = false;
        first = last = t0;
    }
    const uint64_t root = bench::block_root(total);
    const bool verified = ok && root == expected_root;
    char line[bench::kResultLineMax];
    const size_t n =
        bench::format_thread_line(line, sizeof line,
                                  bench::ThreadScaleLine{c.cpus, k, c.blocks, bench::kRounds, root, first - t0,
                                                         last - first, t3 - last, t3 - t0, verified});
    if (n != 0) emit(line);
    if (w.ok()) emit(detail);
    return verified;
}

// Workers of run r: always `workers`, or the ABBA order of a paired boot.
uint32_t workers_of(const Config& c, uint32_t r) {
    return c.paired != 0 ? bench::paired_workers(r, c.workers) : c.workers;
}

void count(bool verified) {
    if (verified) ++g_passed;
    else ++g_failed;
}

}  // namespace

int main(cap::StartInfo& info) {
    Args args;
    args.add(kBenchDefaultArgs);
    args.add(info.args());
    Config c{};
    const uint32_t probed = cpuid_cpu_count();
    c.cpus = static_cast<uint32_t>(args.u64("cpus", probed != 0 ? probed : 1));
    c.workers = static_cast<uint32_t>(args.u64("workers", c.cpus));
    c.lo = static_cast<uint32_t>(args.u64("lo", bench::kPrimeLo));
    c.hi = static_cast<uint32_t>(args.u64("hi", bench::kPrimeHi));
    c.blocks = static_cast<uint32_t>(args.u64("blocks", bench::kBlocks));
    c.runs = static_cast<uint32_t>(args.u64("runs", 1));
    c.paired = static_cast<uint32_t>(args.u64("paired", 0));
    c.chunks = static_cast<uint32_t>(args.u64("chunks", bench::kDefaultChunks));
    const char* which = args.get("case");
    if (which == nullptr) which = "all";
    const bool do_process = streq(which, "process") || streq(which, "all");
    const bool do_thread = streq(which, "thread") || streq(which, "all");
    if (c.workers == 0 || c.workers > kMaxWorkers || c.hi <= c.lo || c.blocks == 0 || (!do_process && !do_thread) ||
        c.paired > 64 || c.chunks > bench::kMaxChunks) {
        cap::print("[capos-bench] bad arguments: '%s' '%s'\n", kBenchDefaultArgs, info.args());
        cap::print("[utest] smp-bench 0 passed, 1 failed\n");
        return 2;
    }

    if (!g_crash.configure("capos-bench", info.args(), kCrashPoints, sizeof kCrashPoints / sizeof kCrashPoints[0])) {
        cap::print("[utest] smp-bench 0 passed, 1 failed\n");
        return 2;
    }

    char line[bench::kResultLineMax];
    if (bench::format_env_line(line, sizeof line, "capos", c.cpus, measure_tsc_hz(info)) != 0) emit(line);
    cap::print("[capos-bench] case=%s cpus=%u (%s) workers=%u range=%u..%u blocks=%u runs=%u paired=%u chunks=%u\n",
               which, c.cpus, args.has("cpus") ? "argument" : "cpuid", c.workers, c.lo, c.hi, c.blocks, c.runs,
               c.paired, c.chunks);
    if (probed != 0 && probed != c.cpus) cap::print("[capos-bench] note: CPUID reports %u CPUs\n", probed);

    const uint32_t runs = c.paired != 0 ? bench::paired_runs(c.paired) : c.runs;
    if (do_process) {
        // A non-default range (functional runs) is checked against a
        // one-process recomputation, as the Linux baseline does.
        bench::PrimeResult expected{bench::kPrimeCount, bench::kPrimeChecksum};
        if (c.lo != bench::kPrimeLo || c.hi != bench::kPrimeHi) expected = bench::prime_count_range(c.lo, c.hi);
        for (uint32_t r = 0; r < runs; ++r) {
            const uint32_t k = workers_of(c, r);
            char label[64];
            bench::format_window_label(label, sizeof label, "process", r, k);
            count(run_process(c, expected, k, label));
        }
    }
    if (do_thread) {
        const uint64_t expected = c.blocks == bench::kBlocks ? bench::kBlockRootHash
                                                             : bench::block_root(bench::block_hash_range(0, c.blocks));
        for (uint32_t r = 0; r < runs; ++r) {
            const uint32_t k = workers_of(c, r);
            char label[64];
            bench::format_window_label(label, sizeof label, "thread", r, k);
            count(run_threads(c, expected, k, label));
        }
    }
    benchcap::finish_placement_trace(info);  // before the last line: the harness stops the boot at it
    cap::print("[utest] smp-bench %u passed, %u failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
