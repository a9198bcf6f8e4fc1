// shares_worker.cpp - one process of the capOS "shares" workload: `threads` weighted spinning threads.
//
// Arguments: first=<slot of thread 0> threads=<n> weights=<w0:w1:...>.
// Grants: "results" (the SharesPage, shares_page.h), "console", "timer"
// (the wait for the window sleeps).
//
// The main thread is thread 0 (its own handle is StartCap::thread); it
// starts threads 1..n-1 and hands each its handle. Every thread sets its
// own weight (Thread.setWeight), then waits for
// the window (asleep until just before it: wait_window), reads its own Thread.cpuTime, hashes blocks (the shared timed
// kernel, benchmarks/workloads/blockhash.h) in small chunks until the
// window's end, reads Thread.cpuTime again and reports the difference. A
// thread that the OS keeps off its CPU at the end reads late, but its CPU
// time does not grow meanwhile: the error is at most one chunk.
#include "bench_client.h"
#include "cycles.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"
#include "libcap/thread_client.h"
#include "shares_page.h"
#include "shares_spin.h"

namespace {

using namespace benchcap;

constexpr uint64_t kGiveUpCycles = 120'000'000'000ull;

SharesPage* g_page = nullptr;
uint32_t g_first = 0;
uint32_t g_weights[bench::kSharesMaxThreads];
CapHandle g_handles[bench::kSharesMaxThreads];  // 0 until set (thread 0: before any spawn)

// Status codes in SharesSlot::status.
enum : uint32_t {
    kOk = 0,
    kNoHandle = 1,
    kNoWindow = 2,
    kCpuTimeFailed = 3,
    kAborted = 4,
    kWeightFailed = 5,
    kNoTimer = 6
};  // kNoTimer: Timer.sleep failed (no "timer" grant?)

// Waits for the window: asleep (Timer.sleep, 2 ms at a time) until 50 ms
// before it opens, then spinning to its first cycle. Sleeping matters for a
// placement server: a thread that set its weight while running (below)
// reports it only at its next wake-up, and this wake-up is that one, in time
// for the server to place it by its weight before the window.
uint32_t wait_window(uint32_t i) {
    const uint64_t t0 = bench::cycles_now();
    auto& ring = cap::this_ring();
    for (;;) {
        const uint64_t start = __atomic_load_n(&g_page->window.start, __ATOMIC_ACQUIRE);
        const uint64_t hz = __atomic_load_n(&g_page->window.tsc_hz, __ATOMIC_ACQUIRE);
        const bool have = __atomic_load_n(&g_handles[i], __ATOMIC_ACQUIRE) != 0;
        if (__atomic_load_n(&g_page->window.abort, __ATOMIC_ACQUIRE) != 0) return kAborted;
        const uint64_t now = bench::cycles_now();
        if (start != 0 && have && now >= start) return kOk;
        if (now - t0 > kGiveUpCycles) return start == 0 ? kNoWindow : kNoHandle;
        if (start == 0 || hz == 0 || now + hz / 20 < start) {
            if (!cap::timer_sleep(ring, cap::start_info().timer(), 2'000'000).ok()) return kNoTimer;
        } else {
            __builtin_ia32_pause();
        }
    }
}

// Each thread sets its own weight once it runs: the kernel changes the
// weight only of a thread that is not queued (a queued one answers busy),
// and a running thread never is. Busy is retried all the same.
uint32_t set_own_weight(uint32_t i) {
    const uint64_t t0 = bench::cycles_now();
    CapHandle self = 0;
    while ((self = __atomic_load_n(&g_handles[i], __ATOMIC_ACQUIRE)) == 0) {
        if (bench::cycles_now() - t0 > kGiveUpCycles) return kNoHandle;
        __builtin_ia32_pause();
    }
    for (int k = 0; k < 1000; ++k) {
        auto r = cap::thread_set_weight(self, g_weights[i]);
        if (r.ok()) {
            g_page->slots[g_first + i].weight = g_weights[i];
            return kOk;
        }
        if (r.status() != cap::Status::busy) break;
    }
    return kWeightFailed;
}

int64_t spin_thread(void* arg) {
    const auto i = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    SharesSlot& s = g_page->slots[g_first + i];
    uint32_t st = set_own_weight(i);
    if (st == kOk) st = wait_window(i);
    uint64_t c0 = 0, c1 = 0;
    bench::SharesSpin spun{0, 0};
    if (st == kOk) {
        const CapHandle self = __atomic_load_n(&g_handles[i], __ATOMIC_ACQUIRE);
        auto a = cap::thread_cpu_time(self);
        spun = bench::shares_spin_until(g_page->window.end, (g_first + i) * 4096u);
        auto z = cap::thread_cpu_time(self);
        const uint64_t t1 = bench::cycles_now();
        s.late = t1 > g_page->window.end ? t1 - g_page->window.end : 0;
        if (a.ok() && z.ok() && z.value() >= a.value()) {
            c0 = a.value();
            c1 = z.value();
        } else {
            st = kCpuTimeFailed;
        }
    }
    s.cycles = c1 - c0;
    s.work = spun.blocks;
    s.sink = spun.root;
    s.cpu = cpu_id();
    s.status = st;
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
    return st;
}

}  // namespace

int main(cap::StartInfo& info) {
    Args args;
    args.add(info.args());
    const uint64_t first = args.u64("first", ~0ull);
    const uint64_t n = args.u64("threads", 0);
    const uint32_t nw = bench::shares_parse_weights(args.get("weights"), g_weights, bench::kSharesMaxThreads);
    if (n == 0 || nw != n || first > bench::kSharesMaxThreads || first + n > bench::kSharesMaxThreads) {
        cap::print("[shares-worker] bad arguments: %s\n", info.args());
        return 2;
    }
    const CapHandle results = info.named("results");
    const uint64_t va = results != capos::abi::kNullCap ? map_shared(results, kSharesPageBytes) : 0;
    if (va == 0) {
        cap::print("[shares-worker] no results page\n");
        return 3;
    }
    g_page = reinterpret_cast<SharesPage*>(va);
    g_first = static_cast<uint32_t>(first);

    __atomic_store_n(&g_handles[0], info.cap(capos::abi::StartCap::thread), __ATOMIC_RELEASE);
    cap::Thread threads[bench::kSharesMaxThreads];
    int code = 0;
    for (uint32_t i = 1; i < n; ++i) {
        auto t = cap::Thread::spawn(spin_thread, reinterpret_cast<void*>(static_cast<uintptr_t>(i)), 64 * 1024);
        if (!t.ok()) {
            cap::print("[shares-worker] spawn of thread %u failed: %d\n", i, static_cast<int>(t.status()));
            code = 5;
            break;
        }
        threads[i] = static_cast<cap::Thread&&>(t.value());
        __atomic_store_n(&g_handles[i], threads[i].handle(), __ATOMIC_RELEASE);
    }
    if (spin_thread(nullptr) != 0 && code == 0) code = 7;
    for (uint32_t i = 1; i < n; ++i) {
        if (!threads[i].joinable()) continue;
        auto j = threads[i].join();
        if ((!j.ok() || j.value() != 0) && code == 0) code = 8;
    }
    return code;
}
