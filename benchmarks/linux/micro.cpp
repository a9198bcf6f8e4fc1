// benchmarks/linux/micro.cpp — Linux equivalents of the capOS micro-benchmarks (ninja benchmark-micro).
//
// Runs inside the Linux baseline initramfs (capos.bench=micro) and prints one
// line per case, the format harness/bench_micro.py parses:
//   [micro] os=linux name=<case> median_cycles=<c> median_ns=<n> samples=<k> cpus=<a>,<b>
// Cases (nearest equivalents of the capOS rows, see docs/micro-benchmarks.md):
//   syscall_getppid            one trivial system call (the ring NOP analogue)
//   futex_rtt_{same,cross}_cpu ping-pong through a shared futex word between two processes
//   pipe_rtt_{same,cross}_cpu  ping-pong of one byte through two pipes between two processes
//   pthread_create_join        pthread_create of an empty thread + pthread_join
//   mmap_touch_munmap_shootdown  mmap one page, touch it here and on another CPU (a spinning
//                                thread of this process), munmap (TLB shootdown IPI)
// "same_cpu": both sides pinned to CPU 0; "cross_cpu": CPU 0 and CPU 1
// (sched_setaffinity). Each sample is timed with lfence;rdtsc; ns use the TSC
// rate measured against CLOCK_MONOTONIC.
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <new>

#include "linux_common.h"

namespace {

using namespace bench::linux_baseline;
using bench::cycles_now;

uint64_t g_tsc_hz = 0;
constexpr uint32_t kMaxSamples = 20000;
uint64_t g_samples[kMaxSamples];

bool pin_to(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return sched_setaffinity(0, sizeof(s), &s) == 0;
}

int cpu_now() { return sched_getcpu(); }

void report(const char* name, uint32_t n, uint64_t divisor, int cpu_a, int cpu_b) {
    std::sort(g_samples, g_samples + n);
    const uint64_t med = g_samples[n / 2] / divisor;
    const uint64_t ns =
        g_tsc_hz ? static_cast<uint64_t>(static_cast<unsigned __int128>(med) * 1'000'000'000u / g_tsc_hz) : 0;
    char line[256];
    snprintf(line, sizeof line, "[micro] os=linux name=%s median_cycles=%llu median_ns=%llu samples=%u cpus=%d,%d",
             name, static_cast<unsigned long long>(med), static_cast<unsigned long long>(ns), n, cpu_a, cpu_b);
    emit_line(line);
}

long futex(std::atomic<uint32_t>* w, int op, uint32_t val) {
    return syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), op, val, nullptr, nullptr, 0);
}

// Waits until *w != v (shared futex: the two processes share the page).
void futex_wait_ne(std::atomic<uint32_t>* w, uint32_t v) {
    while (w->load(std::memory_order_acquire) == v) futex(w, FUTEX_WAIT, v);
}

void futex_set_wake(std::atomic<uint32_t>* w, uint32_t v) {
    w->store(v, std::memory_order_release);
    futex(w, FUTEX_WAKE, 1);
}

// Two processes; the parent pins to cpu_a, the child to cpu_b. Word: 0 = the
// child's turn is over (parent may go), 1 = ping sent.
bool futex_rtt(const char* name, int cpu_a, int cpu_b, uint32_t iters) {
    void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    auto* w = new (m) std::atomic<uint32_t>(0);
    auto* child_cpu = reinterpret_cast<std::atomic<int>*>(static_cast<char*>(m) + 64);
    const uint32_t warm = 200;
    const pid_t pid = fork();
    if (pid == 0) {
        pin_to(cpu_b);
        child_cpu->store(cpu_now());
        for (uint32_t i = 0; i < iters + warm; ++i) {
            futex_wait_ne(w, 0);   // wait for the ping
            futex_set_wake(w, 0);  // pong
        }
        _exit(0);
    }
    pin_to(cpu_a);
    for (uint32_t i = 0; i < iters + warm; ++i) {
        const uint64_t t0 = cycles_now();
        futex_set_wake(w, 1);
        futex_wait_ne(w, 1);
        if (i >= warm) g_samples[i - warm] = cycles_now() - t0;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    const int cb = child_cpu->load();
    munmap(m, 4096);
    report(name, iters, 1, cpu_now(), cb);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

bool pipe_rtt(const char* name, int cpu_a, int cpu_b, uint32_t iters) {
    int ab[2], ba[2], cpu_pipe[2];
    if (pipe(ab) != 0 || pipe(ba) != 0 || pipe(cpu_pipe) != 0) return false;
    const uint32_t warm = 200;
    const pid_t pid = fork();
    if (pid == 0) {
        pin_to(cpu_b);
        int c = cpu_now();
        if (write(cpu_pipe[1], &c, sizeof c) != sizeof c) _exit(2);
        char b = 0;
        for (uint32_t i = 0; i < iters + warm; ++i) {
            if (read(ab[0], &b, 1) != 1 || write(ba[1], &b, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    pin_to(cpu_a);
    int cb = -1;
    if (read(cpu_pipe[0], &cb, sizeof cb) != sizeof cb) return false;
    char b = 'x';
    bool ok = true;
    for (uint32_t i = 0; i < iters + warm && ok; ++i) {
        const uint64_t t0 = cycles_now();
        ok = write(ab[1], &b, 1) == 1 && read(ba[0], &b, 1) == 1;
        if (i >= warm) g_samples[i - warm] = cycles_now() - t0;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    for (int fd : {ab[0], ab[1], ba[0], ba[1], cpu_pipe[0], cpu_pipe[1]}) close(fd);
    if (!ok) return false;
    report(name, iters, 1, cpu_now(), cb);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

void* empty_thread(void*) { return nullptr; }

bool thread_create_join(uint32_t iters) {
    // Unpinned (as on capOS, where the new thread goes where default placement puts it): a pinned
    // creator would make every new thread inherit its single-CPU mask.
    cpu_set_t all;
    CPU_ZERO(&all);
    for (uint32_t c = 0; c < 64; ++c) CPU_SET(c, &all);
    sched_setaffinity(0, sizeof all, &all);
    for (uint32_t i = 0; i < iters; ++i) {
        pthread_t t;
        const uint64_t t0 = cycles_now();
        if (pthread_create(&t, nullptr, empty_thread, nullptr) != 0) return false;
        pthread_join(t, nullptr);
        g_samples[i] = cycles_now() - t0;
    }
    report("pthread_create_join", iters, 1, -1, -1);
    return true;
}

// Shootdown case: a helper thread pinned to another CPU spins in user mode
// (so this mm stays live there) and reads the page whenever asked.
struct Toucher {
    std::atomic<uint64_t> addr{0};  // page to read; 0 = nothing
    std::atomic<uint32_t> acked{0};
    std::atomic<bool> stop{false};
    std::atomic<int> cpu{-1};
    int want_cpu = 1;
    uint64_t sum = 0;
};

void* toucher(void* arg) {
    auto* t = static_cast<Toucher*>(arg);
    pin_to(t->want_cpu);
    t->cpu.store(cpu_now());
    while (!t->stop.load(std::memory_order_acquire)) {
        const uint64_t a = t->addr.load(std::memory_order_acquire);
        if (a != 0) {
            t->sum += *reinterpret_cast<volatile uint64_t*>(a);
            t->addr.store(0, std::memory_order_relaxed);
            t->acked.fetch_add(1, std::memory_order_release);
        } else {
            __builtin_ia32_pause();
        }
    }
    return nullptr;
}

bool map_touch_unmap(uint32_t iters, int cpu_a, int cpu_b) {
    pin_to(cpu_a);
    Toucher t;
    t.want_cpu = cpu_b;
    pthread_t th;
    if (pthread_create(&th, nullptr, toucher, &t) != 0) return false;
    while (t.cpu.load() < 0) __builtin_ia32_pause();
    const uint32_t warm = 50;
    bool ok = true;
    for (uint32_t i = 0; i < iters + warm; ++i) {
        const uint64_t t0 = cycles_now();
        void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            ok = false;
            break;
        }
        *static_cast<volatile uint64_t*>(p) = i;
        const uint32_t before = t.acked.load(std::memory_order_relaxed);
        t.addr.store(reinterpret_cast<uint64_t>(p), std::memory_order_release);
        while (t.acked.load(std::memory_order_acquire) == before) __builtin_ia32_pause();
        munmap(p, 4096);
        if (i >= warm) g_samples[i - warm] = cycles_now() - t0;
    }
    t.stop.store(true, std::memory_order_release);
    pthread_join(th, nullptr);
    if (!ok) return false;
    report("mmap_touch_munmap_shootdown", iters, 1, cpu_now(), t.cpu.load());
    return true;
}

bool getppid_nop(uint32_t iters) {
    pin_to(0);
    for (uint32_t i = 0; i < iters; ++i) {
        const uint64_t t0 = cycles_now();
        (void)syscall(SYS_getppid);
        g_samples[i] = cycles_now() - t0;
    }
    report("syscall_getppid", iters, 1, cpu_now(), -1);
    // Batched analogue: 32 system calls per sample, reported per call.
    for (uint32_t i = 0; i < iters / 4; ++i) {
        const uint64_t t0 = cycles_now();
        for (int k = 0; k < 32; ++k) (void)syscall(SYS_getppid);
        g_samples[i] = cycles_now() - t0;
    }
    report("syscall_getppid_x32_per_op", iters / 4, 32, cpu_now(), -1);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    uint32_t iters = 2000;
    for (int i = 1; i < argc; ++i) {
        uint32_t v = 0;
        if (parse_u32_arg(argc, argv, i, "--iters", v) && v > 0 && v <= kMaxSamples) iters = v;
    }
    g_tsc_hz = measure_tsc_hz();
    const uint32_t ncpu = online_cpus();
    char line[128];
    snprintf(line, sizeof line, "[micro] os=linux env cpus=%u tsc_khz=%llu", ncpu,
             static_cast<unsigned long long>(g_tsc_hz / 1000));
    emit_line(line);
    const int other = ncpu > 1 ? 1 : 0;
    bool ok = getppid_nop(iters * 5 > kMaxSamples ? kMaxSamples : iters * 5);
    ok = futex_rtt("futex_rtt_same_cpu", 0, 0, iters) && ok;
    ok = pipe_rtt("pipe_rtt_same_cpu", 0, 0, iters) && ok;
    if (ncpu > 1) {
        ok = futex_rtt("futex_rtt_cross_cpu", 0, other, iters) && ok;
        ok = pipe_rtt("pipe_rtt_cross_cpu", 0, other, iters) && ok;
    }
    ok = thread_create_join(iters / 4 > 0 ? iters / 4 : 1) && ok;
    if (ncpu > 1) ok = map_touch_unmap(iters / 2 > 0 ? iters / 2 : 1, 0, other) && ok;
    emit_line(ok ? "[micro] os=linux done status=ok" : "[micro] os=linux done status=fail");
    return ok ? 0 : 1;
}
