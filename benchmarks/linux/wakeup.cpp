// benchmarks/linux/wakeup.cpp — the Linux baseline of workload "wakeup": wake-to-run delays under CPU hogs.
//
//   wakeup-bench [--window-ms=N] [--period-us=N]
//
// The shape of the capOS coordinator (benchmarks/capos/wakeup.cpp): one
// forked hog process with one spinning thread per CPU (shares_spin.h, the
// same loop), and in this process three threads at nice 0: timer
// (clock_nanosleep to absolute deadlines every period, delay = TSC on waking
// - the deadline), waker (stamps the TSC, bumps a word, FUTEX_WAKE, unless
// the last wake-up is still pending) and waiter (FUTEX_WAIT; delay = TSC on
// waking - the stamp). Deadlines are TSC values; the sleeps convert the
// remaining time to nanoseconds, as on capOS.
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
#include "wakeup.h"

namespace {

using namespace bench::linux_baseline;

struct Samples {
    uint64_t v[bench::kWakeupMaxSamples];
    uint32_t n;
    uint32_t dropped;
    uint32_t failed;
    void add(uint64_t d) {
        if (n < bench::kWakeupMaxSamples) v[n++] = d;
        else ++dropped;
    }
};

Samples g_timer, g_msg;
uint64_t g_tsc_hz = 0, g_start = 0, g_end = 0, g_period = 0;
uint32_t g_word = 0, g_taken = 0;
uint64_t g_stamp = 0;

long futex(uint32_t* addr, int op, uint32_t val, const timespec* ts) {
    return syscall(SYS_futex, addr, op, val, ts, nullptr, 0);
}

void sleep_until(uint64_t target) {
    const uint64_t now = bench::cycles_now();
    if (now >= target) return;
    const uint64_t ns = (target - now) * 1'000'000'000ull / g_tsc_hz;
    timespec ts{static_cast<time_t>(ns / 1'000'000'000ull), static_cast<long>(ns % 1'000'000'000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) != 0) {}
}

uint64_t next_deadline(uint64_t prev) {
    uint64_t t = prev + g_period;
    const uint64_t now = bench::cycles_now();
    while (t <= now) t += g_period;
    return t;
}

void* timer_thread(void*) {
    sleep_until(g_start);
    for (uint64_t t = g_start + g_period; t < g_end; t = next_deadline(t)) {
        sleep_until(t);
        const uint64_t woke = bench::cycles_now();
        g_timer.add(woke > t ? woke - t : 0);
    }
    return nullptr;
}

void* waker_thread(void*) {
    sleep_until(g_start);
    for (uint64_t t = g_start + g_period / 2; t < g_end; t = next_deadline(t)) {
        sleep_until(t);
        const uint32_t w = __atomic_load_n(&g_word, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&g_taken, __ATOMIC_ACQUIRE) != w) continue;
        __atomic_store_n(&g_stamp, bench::cycles_now(), __ATOMIC_RELEASE);
        __atomic_store_n(&g_word, w + 1, __ATOMIC_RELEASE);
        if (futex(&g_word, FUTEX_WAKE_PRIVATE, 1, nullptr) < 0) ++g_msg.failed;
    }
    __atomic_store_n(&g_stamp, 0, __ATOMIC_RELEASE);
    __atomic_fetch_add(&g_word, 1, __ATOMIC_ACQ_REL);
    futex(&g_word, FUTEX_WAKE_PRIVATE, 1, nullptr);
    return nullptr;
}

void* waiter_thread(void*) {
    uint32_t seen = 0;
    for (;;) {
        uint32_t w = __atomic_load_n(&g_word, __ATOMIC_ACQUIRE);
        while (w == seen) {
            const timespec ts{0, 100'000'000};
            futex(&g_word, FUTEX_WAIT_PRIVATE, seen, &ts);
            w = __atomic_load_n(&g_word, __ATOMIC_ACQUIRE);
            if (w == seen && bench::cycles_now() > g_end + g_tsc_hz) return nullptr;
        }
        const uint64_t woke = bench::cycles_now();
        const uint64_t stamp = __atomic_load_n(&g_stamp, __ATOMIC_ACQUIRE);
        seen = w;
        __atomic_store_n(&g_taken, w, __ATOMIC_RELEASE);
        if (stamp == 0) return nullptr;
        g_msg.add(woke > stamp ? woke - stamp : 0);
    }
}

struct Hog {
    uint64_t end;
    uint32_t first;
};

void* hog_thread(void* arg) {
    const Hog& h = *static_cast<const Hog*>(arg);
    (void)bench::shares_spin_until(h.end, h.first);
    return nullptr;
}

const char* opt(int argc, char** argv, const char* key) {
    const size_t k = strlen(key);
    for (int i = 1; i < argc; ++i)
        if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') return argv[i] + k + 1;
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    const char* wms = opt(argc, argv, "--window-ms");
    const char* pus = opt(argc, argv, "--period-us");
    const uint64_t window_ms = wms != nullptr ? strtoull(wms, nullptr, 10) : bench::kWakeupDefaultWindowMs;
    const uint64_t period_us = pus != nullptr ? strtoull(pus, nullptr, 10) : bench::kWakeupDefaultPeriodUs;
    const uint32_t cpus = online_cpus();
    if (window_ms == 0 || window_ms > 600'000 || period_us < 100 || period_us > 1'000'000 ||
        cpus > bench::kSharesMaxThreads) {
        emit_line("[wakeup] error=bad-arguments");
        return 2;
    }
    g_tsc_hz = measure_tsc_hz();
    g_period = g_tsc_hz * period_us / 1'000'000;
    g_start = bench::cycles_now() + g_tsc_hz / 5;
    g_end = g_start + g_tsc_hz * window_ms / 1000;
    char line[bench::kResultLineMax];
    bench::format_window_line(line, sizeof line, true, "wakeup-0");
    emit_line(line);
    bool ok = true;
    const pid_t hog = fork();
    if (hog == 0) {
        pthread_t th[bench::kSharesMaxThreads];
        Hog hs[bench::kSharesMaxThreads];
        while (bench::cycles_now() < g_start) __builtin_ia32_pause();
        for (uint32_t i = 0; i < cpus; ++i) {
            hs[i] = Hog{g_end, i * 4096u};
            if (pthread_create(&th[i], nullptr, hog_thread, &hs[i]) != 0) _exit(3);
        }
        for (uint32_t i = 0; i < cpus; ++i) pthread_join(th[i], nullptr);
        _exit(0);
    }
    if (hog < 0) ok = false;
    pthread_t lat[3];
    void* (*fns[3])(void*) = {timer_thread, waiter_thread, waker_thread};
    int started = 0;
    for (int i = 0; i < 3; ++i) {
        if (pthread_create(&lat[i], nullptr, fns[i], nullptr) != 0) {
            ok = false;
            break;
        }
        ++started;
    }
    for (int i = 0; i < started; ++i) pthread_join(lat[i], nullptr);
    if (hog > 0) {
        int st = 0;
        while (waitpid(hog, &st, 0) < 0) {}
        ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    bench::format_window_line(line, sizeof line, false, "wakeup-0");
    emit_line(line);
    Samples* kinds[2] = {&g_timer, &g_msg};
    const char* names[2] = {"timer", "message"};
    bool all = ok;
    for (int k = 0; k < 2; ++k) {
        const bool good = ok && kinds[k]->failed == 0 && kinds[k]->n > 0;
        char out[bench::kResultLineMax];
        if (bench::format_wakeup_line(
                out, sizeof out,
                bench::WakeupLine{"linux", names[k], cpus, cpus, g_tsc_hz, static_cast<uint32_t>(period_us),
                                  kinds[k]->v, kinds[k]->n, kinds[k]->dropped, good}) != 0)
            emit_line(out);
        all = all && good;
    }
    return all ? 0 : 1;
}
