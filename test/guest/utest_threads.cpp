// utest_threads.cpp - in-guest tests: thread create/join, threads running on different CPUs, exit codes.
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "libcap/thread.h"

namespace {

constexpr int kThreads = 4;
volatile uint32_t g_started = 0;
uint32_t g_cpu_seen[kThreads];

int64_t spinner(void* arg) {
    const auto i = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    __atomic_fetch_add(&g_started, 1, __ATOMIC_ACQ_REL);
    // Spin (no system calls) until every thread is running, then record the
    // CPU: with more than one CPU the threads must overlap somewhere.
    uint64_t spins = 0;
    while (__atomic_load_n(&g_started, __ATOMIC_ACQUIRE) < kThreads && spins < 2'000'000'000ull) ++spins;
    uint32_t mask = 0;
    for (int k = 0; k < 2000; ++k) mask |= 1u << (guest::cpu_now() & 31);
    g_cpu_seen[i] = mask;
    return 100 + i;
}

int bits(uint32_t v) {
    int n = 0;
    for (; v != 0; v &= v - 1) ++n;
    return n;
}

uint32_t cpu_count() {
    // The kernel's timer tick count is per CPU; cheaper: count distinct CPUs the
    // threads saw, compared against the processor count from CPUID leaf 1 is not
    // reliable under QEMU, so the test takes the args: "cpus=<n>".
    const char* a = cap::start_info().args();
    for (const char* p = a; *p != '\0'; ++p) {
        if (p[0] == 'c' && p[1] == 'p' && p[2] == 'u' && p[3] == 's' && p[4] == '=')
            return static_cast<uint32_t>(p[5] - '0');
    }
    return 0;
}

}  // namespace

CAP_TEST(create_join_exit_codes) {
    cap::Thread t[kThreads];
    g_started = 0;
    for (int i = 0; i < kThreads; ++i) {
        auto r = cap::Thread::spawn(spinner, reinterpret_cast<void*>(static_cast<uintptr_t>(i)), 64 * 1024);
        CAP_REQUIRE(r.ok());
        t[i] = static_cast<cap::Thread&&>(r.value());
    }
    for (int i = 0; i < kThreads; ++i) {
        auto code = t[i].join();
        CAP_CHECK(code.ok() && code.value() == 100 + i);
    }
}

CAP_TEST(threads_on_different_cpus) {
    // Repeat until the threads were seen on more than one CPU (or give up).
    uint32_t all = 0;
    for (int round = 0; round < 5; ++round) {
        cap::Thread t[kThreads];
        g_started = 0;
        for (int i = 0; i < kThreads; ++i) {
            auto r = cap::Thread::spawn(spinner, reinterpret_cast<void*>(static_cast<uintptr_t>(i)), 64 * 1024);
            CAP_REQUIRE(r.ok());
            t[i] = static_cast<cap::Thread&&>(r.value());
        }
        for (int i = 0; i < kThreads; ++i) CAP_CHECK(t[i].join().ok());
        for (int i = 0; i < kThreads; ++i) all |= g_cpu_seen[i];
        if (bits(all) > 1) break;
    }
    cap::print("[utest-threads] cpus seen mask %#x\n", all);
    const uint32_t cpus = cpu_count();
    if (cpus > 1) CAP_CHECK(bits(all) > 1);
    else CAP_CHECK(all != 0);
}

CAP_TEST(join_twice_and_self) {
    auto r = cap::Thread::spawn(spinner, nullptr, 64 * 1024);
    CAP_REQUIRE(r.ok());
    cap::Thread t = static_cast<cap::Thread&&>(r.value());
    g_started = kThreads;  // let it run straight through
    CAP_CHECK(t.join().ok());
    CAP_CHECK(!t.join().ok());  // libcap refuses a second join
}

CAP_TEST(many_short_threads) {
    // Create and join 40 threads one after another: thread slots, rings and
    // TLS must be released and reused.
    bool ok = true;
    for (int i = 0; i < 40 && ok; ++i) {
        g_started = kThreads;
        auto r = cap::Thread::spawn(spinner, nullptr, 16 * 1024);
        ok = r.ok();
        if (ok) ok = r.value().join().ok();
    }
    CAP_CHECK(ok);
}

namespace {
volatile uint64_t* g_va = nullptr;
volatile uint32_t g_phase = 0;  // 0 pause, 1 read, 2 stop
volatile uint32_t g_ack = 0;    // reader: last phase it saw
volatile uint64_t g_seen = 0;
volatile uint32_t g_reader_cpu = 0;

int64_t reader(void*) {
    for (;;) {
        const uint32_t ph = g_phase;
        g_ack = ph;
        if (ph == 2) return 0;
        if (ph == 1) {
            g_seen = *g_va;  // keeps the translation in this CPU's TLB
            g_reader_cpu = guest::cpu_now();
        }
    }
}

void sleep_ms(uint64_t ms) { (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), ms * 1'000'000); }
}  // namespace

CAP_TEST(unmap_shoots_down_other_cpus) {
    // A reader thread on (ideally) another CPU caches the translation of va ->
    // object 1. The main thread unmaps va and maps object 2 there. If the
    // unmap did not shoot down the reader CPU's TLB, the reader would keep
    // seeing object 1's value.
    cap::Ring& r = cap::this_ring();
    const auto proc = cap::start_info().process();
    auto m1 = cap::process_allocate(r, proc, 4096);
    auto m2 = cap::process_allocate(r, proc, 4096);
    CAP_REQUIRE(m1.ok() && m2.ok());
    const uint64_t va = cap::reserve_va(4096);
    CAP_REQUIRE(cap::process_map(r, proc, m2.value(), va, 0, 4096, true, false).ok());
    *reinterpret_cast<volatile uint64_t*>(va) = 2;
    CAP_REQUIRE(cap::process_unmap(r, proc, va, 4096).ok());
    CAP_REQUIRE(cap::process_map(r, proc, m1.value(), va, 0, 4096, true, false).ok());
    *reinterpret_cast<volatile uint64_t*>(va) = 1;
    g_va = reinterpret_cast<volatile uint64_t*>(va);
    g_phase = 1;
    auto t = cap::Thread::spawn(reader, nullptr, 32 * 1024);
    CAP_REQUIRE(t.ok());
    for (int i = 0; i < 2000 && g_seen != 1; ++i) sleep_ms(1);
    CAP_REQUIRE(g_seen == 1);
    g_phase = 0;
    while (g_ack != 0) {}
    CAP_REQUIRE(cap::process_unmap(r, proc, va, 4096).ok());
    CAP_REQUIRE(cap::process_map(r, proc, m2.value(), va, 0, 4096, true, false).ok());
    g_phase = 1;
    for (int i = 0; i < 500 && g_seen != 2; ++i) sleep_ms(1);
    cap::print("[utest-threads] shootdown: reader on cpu %u, main on cpu %u, reader sees %llu\n", g_reader_cpu,
               guest::cpu_now(), static_cast<unsigned long long>(g_seen));
    CAP_CHECK(g_seen == 2);
    g_phase = 2;
    CAP_CHECK(t.value().join().ok());
}

CAP_TEST_MAIN("threads")
