// shares.cpp - the capOS "shares" coordinator: weighted CPU-bound threads, more than CPUs, and what each one got.
//
// Arguments (`key=value`; the module variant's built-in defaults first, then
// the module command line):
//   cpus=<n>          CPUs (the kernel passes it to utest modules; else CPUID)
//   variant=threads|procs|all   threads: all threads in one worker process;
//                     procs: one worker process per thread (default all)
//   weights=<w:w:..>  one weight per thread (default 1024:1024:335:335:110:110)
//   window_ms=<n>     the measured wall window (default 4000)
//   runs=<n>          runs of each variant in this boot (default 1)
//   check=0|1         first the Thread.cpuTime self-check (default 1)
//
// A run: allocate the SharesPage (shares_page.h), spawn the worker
// processes (shares_worker.cpp, through the "spawner" capability like every
// benchmark process), write the window [now + settle, + window] into the
// page once all exist, wait for every process, then print one `[shares]`
// line (benchmarks/workloads/shares.h; docs/benchmarks.md, "Placement
// workloads") between `[bench-window]` markers. The coordinator itself only
// blocks meanwhile (ProcessHandle.wait).
//
// The self-check (`[shares-check]` lines): a thread that spins a known
// number of cycles must read about that much CPU time, one that sleeps must
// not gain any while it sleeps, and an ended thread's cpuTime is peer_dead.
//
// Ends with `[utest] shares <passed> passed, <failed> failed` (the utest
// runner ends QEMU on it when this is the first process).
#include "bench_client.h"
#include "cycles.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"
#include "libcap/thread_client.h"
#include "paired.h"
#include "result_line.h"
#include "shares.h"
#include "shares_page.h"

extern const char kBenchDefaultArgs[];

namespace {

using namespace benchcap;

uint32_t g_passed = 0, g_failed = 0;

void count(bool ok) {
    if (ok) ++g_passed;
    else ++g_failed;
}

bool streq(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

// ---- Thread.cpuTime self-check ------------------------------------------------------

uint32_t g_sleeper_state = 0;  // 1: about to sleep; 2: slept, exiting

int64_t sleeper(void*) {
    __atomic_store_n(&g_sleeper_state, 1, __ATOMIC_RELEASE);
    const bool ok = cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), 400'000'000).ok();
    __atomic_store_n(&g_sleeper_state, 2, __ATOMIC_RELEASE);
    return ok ? 0 : 1;
}

bool check_cpu_time(const cap::StartInfo& info, uint64_t tsc_hz) {
    const CapHandle self = info.cap(capos::abi::StartCap::thread);
    // Spin 100 ms worth of cycles; the reading must match within 5 % (plus
    // 1 ms for the two calls): the machine is otherwise idle, so the thread
    // keeps its CPU but for the odd interrupt.
    const uint64_t spin = tsc_hz / 10;
    auto a = cap::thread_cpu_time(self);
    spin_cycles(spin);
    auto b = cap::thread_cpu_time(self);
    const bool spin_ok = a.ok() && b.ok() && b.value() >= a.value() && b.value() - a.value() >= spin - spin / 20 &&
                         b.value() - a.value() <= spin + spin / 20 + tsc_hz / 1000;
    cap::print("[shares-check] spin cycles=%llu cpu_time=%llu %s\n", static_cast<unsigned long long>(spin),
               static_cast<unsigned long long>(a.ok() && b.ok() ? b.value() - a.value() : 0),
               spin_ok ? "ok" : "FAILED");

    // A thread asleep 400 ms, read 100 ms and 300 ms into its sleep: at most
    // 0.1 ms apart (nothing of it runs in between).
    g_sleeper_state = 0;
    auto t = cap::Thread::spawn(sleeper, nullptr, 64 * 1024);
    bool sleep_ok = t.ok();
    uint64_t grew = ~0ull;
    if (sleep_ok) {
        while (__atomic_load_n(&g_sleeper_state, __ATOMIC_ACQUIRE) == 0) __builtin_ia32_pause();
        auto& r = cap::this_ring();
        (void)cap::timer_sleep(r, info.timer(), 100'000'000);
        auto s0 = cap::thread_cpu_time(t.value().handle());
        (void)cap::timer_sleep(r, info.timer(), 200'000'000);
        auto s1 = cap::thread_cpu_time(t.value().handle());
        const bool still_asleep = __atomic_load_n(&g_sleeper_state, __ATOMIC_ACQUIRE) == 1;
        if (s0.ok() && s1.ok() && s1.value() >= s0.value()) grew = s1.value() - s0.value();
        sleep_ok = still_asleep && grew <= tsc_hz / 10000;
        // Once it has ended (and before the join drops the handle) the
        // handle answers peer_dead; polled, because the thread's last
        // store comes a little before its exit.
        while (__atomic_load_n(&g_sleeper_state, __ATOMIC_ACQUIRE) != 2) __builtin_ia32_pause();
        cap::Status last = cap::Status::ok;
        for (int k = 0; k < 100 && last != cap::Status::peer_dead; ++k) {
            auto dead = cap::thread_cpu_time(t.value().handle());
            last = dead.ok() ? cap::Status::ok : dead.status();
            if (last != cap::Status::peer_dead) (void)cap::timer_sleep(r, info.timer(), 10'000'000);
        }
        const bool dead_ok = last == cap::Status::peer_dead;
        cap::print("[shares-check] ended thread cpu_time: %s (status %d)\n", dead_ok ? "peer_dead ok" : "FAILED",
                   static_cast<int>(last));
        count(dead_ok);
        auto j = t.value().join();
        sleep_ok = sleep_ok && j.ok() && j.value() == 0;
    }
    cap::print("[shares-check] sleeping thread grew=%llu cycles in 200 ms %s\n", static_cast<unsigned long long>(grew),
               sleep_ok ? "ok" : "FAILED");
    count(spin_ok);
    count(sleep_ok);
    return spin_ok && sleep_ok;
}

// ---- one run ------------------------------------------------------------------------

struct Config {
    uint32_t cpus;
    uint32_t n;
    uint32_t weights[bench::kSharesMaxThreads];
    uint64_t window_ms;
    uint64_t tsc_hz;
};

void print_long(const char* s) { cap::print("%s\n", s); }

bool run(const Config& c, bool procs, uint32_t r) {
    auto& ring = cap::this_ring();
    auto mo = cap::process_allocate(ring, cap::start_info().process(), kSharesPageBytes);
    if (!mo.ok()) {
        cap::print("[shares] allocate failed: %d\n", static_cast<int>(mo.status()));
        return false;
    }
    const uint64_t va = map_shared(mo.value(), kSharesPageBytes);
    if (va == 0) {
        cap::print("[shares] map failed\n");
        return false;
    }
    auto* page = reinterpret_cast<SharesPage*>(va);
    __builtin_memset(page, 0, sizeof(SharesPage));

    char label[64];
    bench::LineWriter lw(label, sizeof label);
    lw.str("shares-").str(procs ? "procs" : "threads").str("-").u64(r);
    char line[bench::kResultLineMax];
    if (bench::format_window_line(line, sizeof line, true, label) != 0) print_long(line);

    Spawned kids[bench::kSharesMaxThreads] = {};
    uint32_t nkids = 0;
    bool ok = true;
    const uint32_t nproc = procs ? c.n : 1;
    for (uint32_t p = 0; p < nproc && ok; ++p) {
        const uint32_t first = procs ? p : 0;
        const uint32_t k = procs ? 1 : c.n;
        char a[160];
        bench::LineWriter w(a, sizeof a);
        w.str("first=").u64(first).str(" threads=").u64(k).str(" weights=");
        for (uint32_t i = 0; i < k; ++i) w.str(i ? ":" : "").u64(c.weights[first + i]);
        const Grant g[3] = {
            {"results", mo.value()}, {"console", cap::start_info().console()}, {"timer", cap::start_info().timer()}};
        auto s = w.ok() ? spawn_worker("shares-worker", a, g, 3) : cap::Result<Spawned>(cap::Status::internal);
        if (!s.ok()) {
            cap::print("[shares] spawn of worker process %u failed: %d\n", p, static_cast<int>(s.status()));
            ok = false;
            break;
        }
        kids[nkids++] = s.value();
    }
    // Settle 200 ms after the last spawn (the workers' thread starts and
    // weights), then the window.
    const uint64_t start = bench::cycles_now() + c.tsc_hz / 5;
    const uint64_t window = c.tsc_hz * c.window_ms / 1000;
    page->window.end = start + window;
    page->window.tsc_hz = c.tsc_hz;
    if (ok) __atomic_store_n(&page->window.start, start, __ATOMIC_RELEASE);
    else __atomic_store_n(&page->window.abort, 1, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < nkids; ++i) {
        auto e = wait_process(kids[i].handle);
        if (!e.ok() || e.value().code != 0 || e.value().reason != 0) {
            cap::print("[shares] worker process %u ended with code %lld reason %u\n", i,
                       static_cast<long long>(e.ok() ? e.value().code : -1), e.ok() ? e.value().reason : 0);
            ok = false;
        }
    }
    if (bench::format_window_line(line, sizeof line, false, label) != 0) print_long(line);

    uint64_t cycles[bench::kSharesMaxThreads] = {};
    uint64_t late = 0;
    char detail[512];
    bench::LineWriter d(detail, sizeof detail);
    d.str("[shares-detail] variant=").str(procs ? "procs" : "threads").str(" work=");
    for (uint32_t i = 0; i < c.n; ++i) {
        const SharesSlot& s = page->slots[i];
        if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) == 0 || s.status != 0 || s.weight != c.weights[i]) ok = false;
        cycles[i] = s.cycles;
        late = s.late > late ? s.late : late;
        d.str(i ? "," : "").u64(s.work);
    }
    d.str(" end_cpus=");
    for (uint32_t i = 0; i < c.n; ++i) d.str(i ? "," : "").u64(page->slots[i].cpu);
    d.str(" status=");
    for (uint32_t i = 0; i < c.n; ++i) d.str(i ? "," : "").u64(page->slots[i].status);
    char out[1024];
    const size_t len = bench::format_shares_line(
        out, sizeof out,
        bench::SharesLine{"capos", procs ? "procs" : "threads", c.cpus, c.n, window, c.weights, cycles, ok, late});
    if (len != 0) print_long(out);
    else ok = false;
    if (d.ok()) print_long(detail);

    (void)cap::process_unmap(ring, cap::start_info().process(), va, kSharesPageBytes);
    CapHandle drop[1 + bench::kSharesMaxThreads];
    uint32_t nd = 0;
    drop[nd++] = mo.value();
    for (uint32_t i = 0; i < nkids; ++i) drop[nd++] = kids[i].handle;
    (void)drop_caps(drop, nd);
    return ok;
}

}  // namespace

int main(cap::StartInfo& info) {
    Args args;
    args.add(kBenchDefaultArgs);
    args.add(info.args());
    Config c{};
    const uint32_t probed = cpuid_cpu_count();
    c.cpus = static_cast<uint32_t>(args.u64("cpus", probed != 0 ? probed : 1));
    const char* wl = args.get("weights");
    c.n = wl != nullptr ? bench::shares_parse_weights(wl, c.weights, bench::kSharesMaxThreads) : 0;
    if (wl == nullptr) {
        c.n = bench::kSharesDefaultThreads;
        for (uint32_t i = 0; i < c.n; ++i) c.weights[i] = bench::kSharesDefaultWeights[i];
    }
    c.window_ms = args.u64("window_ms", bench::kSharesDefaultWindowMs);
    const uint64_t runs = args.u64("runs", 1);
    const bool check = args.u64("check", 1) != 0;
    const char* variant = args.get("variant");
    if (variant == nullptr) variant = "all";
    const bool do_threads = streq(variant, "threads") || streq(variant, "all");
    const bool do_procs = streq(variant, "procs") || streq(variant, "all");
    if (c.n == 0 || c.cpus == 0 || c.window_ms == 0 || c.window_ms > 600'000 || runs == 0 || runs > 64 ||
        (!do_threads && !do_procs)) {
        cap::print("[shares] bad arguments: '%s' '%s'\n", kBenchDefaultArgs, info.args());
        cap::print("[utest] shares 0 passed, 1 failed\n");
        return 2;
    }
    c.tsc_hz = measure_tsc_hz(info);
    char line[bench::kResultLineMax];
    if (bench::format_env_line(line, sizeof line, "capos", c.cpus, c.tsc_hz) != 0) print_long(line);
    if (c.tsc_hz == 0) {
        cap::print("[shares] no TSC rate (Timer failed)\n");
        cap::print("[utest] shares 0 passed, 1 failed\n");
        return 3;
    }
    cap::print("[shares-info] variant=%s cpus=%u (%s) threads=%u window_ms=%llu runs=%llu\n", variant, c.cpus,
               args.has("cpus") ? "argument" : "cpuid", c.n, static_cast<unsigned long long>(c.window_ms),
               static_cast<unsigned long long>(runs));
    if (check) (void)check_cpu_time(info, c.tsc_hz);
    for (uint32_t r = 0; r < runs; ++r) {
        if (do_threads) count(run(c, false, r));
        if (do_procs) count(run(c, true, r));
    }
    benchcap::finish_placement_trace(info);  // before the last line: the harness stops the boot at it
    cap::print("[utest] shares %u passed, %u failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
