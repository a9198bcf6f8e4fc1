// utest_timer.cpp - in-guest tests: Timer.now against the TSC, sleep accuracy, sleepUntil, cap_enter timeouts.
#include "capos/abi/syscall.h"
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "libcap/thread.h"

namespace abi = capos::abi;
using cap::this_ring;

namespace {
uint64_t now() { return cap::timer_now(this_ring(), cap::start_info().timer()).value(); }

uint32_t g_never = 0;  // nobody wakes it: the park wait below ends by its timeout
volatile uint32_t g_parked = 0;
volatile uint64_t g_park_ns = 0;

// Waits 300 ms on a word nobody wakes; returns 1 if it timed out (not woken).
int64_t long_waiter(void*) {
    const uint64_t t0 = now();
    __atomic_store_n(&g_parked, 1, __ATOMIC_RELEASE);
    auto r = cap::park_wait(this_ring(), cap::start_info().park(), &g_never, 0, 300'000'000);
    g_park_ns = now() - t0;
    return r.ok() && !r.value() ? 1 : 0;
}
}  // namespace

CAP_TEST(sleep_accuracy) {
    // Never early; late by at most 3 ticks (12 ms at 250 Hz) plus TCG slack.
    const uint64_t kMs = 1'000'000;
    const uint64_t cases[] = {1 * kMs, 10 * kMs, 25 * kMs, 50 * kMs};
    for (uint64_t ns : cases) {
        const uint64_t t0 = now();
        CAP_CHECK(cap::timer_sleep(this_ring(), cap::start_info().timer(), ns).ok());
        const uint64_t dt = now() - t0;
        cap::print("[utest-timer] sleep %llu us took %llu us\n", static_cast<unsigned long long>(ns / 1000),
                   static_cast<unsigned long long>(dt / 1000));
        CAP_CHECK(dt >= ns);
        CAP_CHECK(dt < ns + 30 * kMs);
    }
}

CAP_TEST(sleep_until_past_returns_at_once) {
    alignas(8) uint8_t p[32];
    const uint64_t past = 1;
    const uint32_t n = guest::words_msg(p, sizeof p, &past, 1);
    const uint64_t t0 = now();
    guest::Raw r = guest::raw_call(cap::start_info().timer(), guest::kTimer, 2, p, n);
    CAP_CHECK(r.cqe.status == 0);
    CAP_CHECK(now() - t0 < 5'000'000);
}

CAP_TEST(cap_enter_timeout) {
    // Nothing submitted, wait for one completion with a 20 ms deadline.
    const uint64_t t0 = now();
    const int64_t r = abi::cap_enter(1, 20'000'000);
    const uint64_t dt = now() - t0;
    CAP_CHECK(r == static_cast<int64_t>(abi::Status::timeout));
    CAP_CHECK(dt >= 20'000'000);
    CAP_CHECK(dt < 60'000'000);
    // Zero timeout never sleeps.
    CAP_CHECK(abi::cap_enter(1, 0) == 0);
    // More than the CQ holds is an argument error.
    CAP_CHECK(abi::cap_enter(1u << 20, 0) == static_cast<int64_t>(abi::Status::invalid_argument));
}

CAP_TEST(short_deadline_behind_a_long_one) {
    // The timekeeper sleeps until the earliest deadline it saw (the other
    // thread's 300 ms park timeout); a 20 ms sleep armed after it must end
    // that sleep early, and the 300 ms timeout must still fire on time.
    auto th = cap::Thread::spawn(long_waiter, nullptr, 32 * 1024);
    CAP_REQUIRE(th.ok());
    while (__atomic_load_n(&g_parked, __ATOMIC_ACQUIRE) == 0)
        (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 1'000'000);
    (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 20'000'000);  // it is parked by now
    const uint64_t t0 = now();
    CAP_CHECK(cap::timer_sleep(this_ring(), cap::start_info().timer(), 20'000'000).ok());
    const uint64_t dt = now() - t0;
    cap::print("[utest-timer] 20 ms sleep behind a 300 ms deadline took %llu us (bound 20000-50000)\n",
               static_cast<unsigned long long>(dt / 1000));
    CAP_CHECK(dt >= 20'000'000);
    CAP_CHECK(dt < 50'000'000);
    auto c = th.value().join();
    CAP_CHECK(c.ok() && c.value() == 1);
    cap::print("[utest-timer] 300 ms park timeout took %llu us (bound 300000-340000)\n",
               static_cast<unsigned long long>(g_park_ns / 1000));
    CAP_CHECK(g_park_ns >= 300'000'000);
    CAP_CHECK(g_park_ns < 340'000'000);
}

CAP_TEST(resolution) {
    guest::Raw r = guest::raw_call(cap::start_info().timer(), guest::kTimer, 3);
    CAP_CHECK(r.cqe.status == 0 && r.cqe.value > 0 && r.cqe.value <= 10'000'000);
}

CAP_TEST_MAIN("timer")
