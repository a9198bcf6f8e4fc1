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
volatile uint32_t g_go = 0;
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
    if (p[0] == 'c' && p[1] == 'p' && p[2] == 'u' && p[3] == 's' && p[4] == '=') return static_cast<uint32_t>(p[5] - '0');
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

CAP_TEST_MAIN("threads")
