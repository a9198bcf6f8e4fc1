// benchmarks/linux/shares.cpp — the Linux baseline of workload "shares": weighted spinning threads, more than CPUs.
//
//   shares-bench [--variant=threads|procs|all] [--window-ms=N] [--runs=R] [--weights=w:w:...]
//
// The same shape as the capOS coordinator (benchmarks/capos/shares.cpp):
// threads: all threads in this process (pthreads); procs: one forked
// process per thread. Weights become nice values whose CFS weights are
// exactly them (shares.h: 1024/335/110 = nice 0/5/10), set per thread with
// setpriority(PRIO_PROCESS, tid). Every thread waits for the common window
// (asleep until 50 ms before it, as on capOS),
// reads CLOCK_THREAD_CPUTIME_ID, runs shares_spin_until (the same loop and
// compiled kernel as capOS) to the window's end, reads it again; the
// difference in nanoseconds is converted to TSC cycles with the measured TSC
// rate, so the `[shares]` line means the same as capOS's.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cycles.h"
#include "linux_common.h"
#include "paired.h"
#include "result_line.h"
#include "shares.h"
#include "shares_spin.h"

namespace {

using namespace bench::linux_baseline;

struct alignas(64) Slot {
    uint64_t cpu_ns;
    uint64_t blocks;
    uint64_t root;
    uint64_t late;  // TSC after the final reading minus the window's end
    int status;     // 0 ok, 1 setpriority failed, 2 clock failed
    int done;
};

struct alignas(64) Page {
    uint64_t start;  // TSC; 0 until all threads exist
    uint64_t end;
    uint64_t tsc_hz;  // written before start
    Slot slots[bench::kSharesMaxThreads];
};

Page* g_page = nullptr;
uint32_t g_weights[bench::kSharesMaxThreads];

uint64_t thread_cpu_ns(bool& ok) {
    timespec ts{};
    ok = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0;
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// One thread's part, in whatever thread or process runs it.
void run_slot(uint32_t i) {
    Slot& s = g_page->slots[i];
    const int nice_v = bench::shares_nice_of(g_weights[i]);
    if (nice_v < -20 || setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice_v) != 0) s.status = 1;
    // As on capOS (shares_worker.cpp, wait_window): asleep 2 ms at a time
    // until 50 ms before the window, then spinning to its first cycle.
    for (;;) {
        const uint64_t start = __atomic_load_n(&g_page->start, __ATOMIC_ACQUIRE);
        const uint64_t now = bench::cycles_now();
        if (start != 0 && now >= start) break;
        if (start == 0 || now + g_page->tsc_hz / 20 < start) {
            const timespec ts{0, 2'000'000};
            nanosleep(&ts, nullptr);
        } else {
            __builtin_ia32_pause();
        }
    }
    bool ok0 = false, ok1 = false;
    const uint64_t a = thread_cpu_ns(ok0);
    const bench::SharesSpin spun = bench::shares_spin_until(g_page->end, i * 4096u);
    const uint64_t z = thread_cpu_ns(ok1);
    const uint64_t t1 = bench::cycles_now();
    s.late = t1 > g_page->end ? t1 - g_page->end : 0;
    if (!ok0 || !ok1 || z < a) s.status = s.status != 0 ? s.status : 2;
    s.cpu_ns = z - a;
    s.blocks = spun.blocks;
    s.root = spun.root;
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
}

void* thread_main(void* arg) {
    run_slot(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg)));
    return nullptr;
}

bool run(bool procs, uint32_t n, uint32_t cpus, uint64_t tsc_hz, uint64_t window_ms, uint32_t r) {
    memset(g_page, 0, sizeof(Page));
    char line[bench::kResultLineMax];
    char label[64];
    snprintf(label, sizeof label, "shares-%s-%u", procs ? "procs" : "threads", r);
    bench::format_window_line(line, sizeof line, true, label);
    emit_line(line);
    bool ok = true;
    pthread_t th[bench::kSharesMaxThreads];
    pid_t pids[bench::kSharesMaxThreads];
    uint32_t started = 0;
    for (uint32_t i = 0; i < n; ++i) {
        if (procs) {
            const pid_t pid = fork();
            if (pid == 0) {
                run_slot(i);
                _exit(0);
            }
            if (pid < 0) {
                ok = false;
                break;
            }
            pids[started++] = pid;
        } else {
            if (pthread_create(&th[i], nullptr, thread_main, reinterpret_cast<void*>(static_cast<uintptr_t>(i))) != 0) {
                ok = false;
                break;
            }
            ++started;
        }
    }
    // Settle 200 ms (as on capOS), then the window.
    const uint64_t window = tsc_hz * window_ms / 1000;
    const uint64_t start = bench::cycles_now() + tsc_hz / 5;
    g_page->end = start + window;
    g_page->tsc_hz = tsc_hz;
    __atomic_store_n(&g_page->start, start, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < started; ++i) {
        if (procs) {
            int st = 0;
            while (waitpid(pids[i], &st, 0) < 0) {}
            ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        } else {
            pthread_join(th[i], nullptr);
        }
    }
    bench::format_window_line(line, sizeof line, false, label);
    emit_line(line);
    uint64_t cycles[bench::kSharesMaxThreads] = {};
    uint64_t late = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const Slot& s = g_page->slots[i];
        late = s.late > late ? s.late : late;
        if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) == 0 || s.status != 0) ok = false;
        cycles[i] = static_cast<uint64_t>(static_cast<double>(s.cpu_ns) * static_cast<double>(tsc_hz) / 1e9);
    }
    char out[1024];
    if (bench::format_shares_line(
            out, sizeof out,
            bench::SharesLine{"linux", procs ? "procs" : "threads", cpus, n, window, g_weights, cycles, ok, late}) == 0)
        return false;
    emit_line(out);
    char detail[512];
    int len = snprintf(detail, sizeof detail, "[shares-detail] variant=%s work=", procs ? "procs" : "threads");
    for (uint32_t i = 0; i < n && len > 0 && static_cast<size_t>(len) < sizeof detail; ++i)
        len += snprintf(detail + len, sizeof detail - static_cast<size_t>(len), "%s%llu", i ? "," : "",
                        static_cast<unsigned long long>(g_page->slots[i].blocks));
    emit_line(detail);
    return ok;
}

const char* opt(int argc, char** argv, const char* key) {
    const size_t k = strlen(key);
    for (int i = 1; i < argc; ++i)
        if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') return argv[i] + k + 1;
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    const char* variant = opt(argc, argv, "--variant");
    if (variant == nullptr) variant = "all";
    const char* wms = opt(argc, argv, "--window-ms");
    const char* runs_s = opt(argc, argv, "--runs");
    const char* wl = opt(argc, argv, "--weights");
    const uint64_t window_ms = wms != nullptr ? strtoull(wms, nullptr, 10) : bench::kSharesDefaultWindowMs;
    const uint64_t runs = runs_s != nullptr ? strtoull(runs_s, nullptr, 10) : 1;
    uint32_t n = bench::kSharesDefaultThreads;
    for (uint32_t i = 0; i < n; ++i) g_weights[i] = bench::kSharesDefaultWeights[i];
    if (wl != nullptr) n = bench::shares_parse_weights(wl, g_weights, bench::kSharesMaxThreads);
    const bool do_threads = strcmp(variant, "threads") == 0 || strcmp(variant, "all") == 0;
    const bool do_procs = strcmp(variant, "procs") == 0 || strcmp(variant, "all") == 0;
    bool nice_ok = true;
    for (uint32_t i = 0; i < n; ++i) nice_ok = nice_ok && bench::shares_nice_of(g_weights[i]) >= -20;
    if (n == 0 || window_ms == 0 || window_ms > 600'000 || runs == 0 || runs > 64 || (!do_threads && !do_procs) ||
        !nice_ok) {
        emit_line("[shares] error=bad-arguments (weights must be 1024, 335 or 110: the nice 0/5/10 weights)");
        return 2;
    }
    void* mem = mmap(nullptr, sizeof(Page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return 3;
    g_page = static_cast<Page*>(mem);
    const uint64_t tsc_hz = measure_tsc_hz();
    const uint32_t cpus = online_cpus();
    bool ok = true;
    for (uint32_t r = 0; r < runs; ++r) {
        if (do_threads) ok = run(false, n, cpus, tsc_hz, window_ms, r) && ok;
        if (do_procs) ok = run(true, n, cpus, tsc_hz, window_ms, r) && ok;
    }
    return ok ? 0 : 1;
}
