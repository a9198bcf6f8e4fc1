// utest_park.cpp - in-guest tests: Park wait/wake between threads, value mismatch, timeouts, wake counts.
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "libcap/thread.h"

using cap::this_ring;

namespace {
uint32_t g_word = 0;
volatile uint32_t g_waiting = 0;
volatile uint32_t g_woken = 0;

int64_t waiter(void*) {
    __atomic_fetch_add(&g_waiting, 1, __ATOMIC_ACQ_REL);
    auto r = cap::park_wait(this_ring(), cap::start_info().park(), &g_word, 0, 0);
    if (!r.ok()) return -1;
    __atomic_fetch_add(&g_woken, 1, __ATOMIC_ACQ_REL);
    return r.value() ? 1 : 0;
}

void sleep_ms(uint64_t ms) { (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), ms * 1'000'000); }
}  // namespace

CAP_TEST(mismatch_returns_at_once) {
    uint32_t w = 5;
    auto r = cap::park_wait(this_ring(), cap::start_info().park(), &w, 4, 0);
    CAP_CHECK(r.ok() && !r.value());
}

CAP_TEST(timeout_not_woken) {
    uint32_t w = 0;
    auto r = cap::park_wait(this_ring(), cap::start_info().park(), &w, 0, 10'000'000);
    CAP_CHECK(r.ok() && !r.value());
}

CAP_TEST(wake_nobody) {
    uint32_t w = 0;
    auto r = cap::park_wake(this_ring(), cap::start_info().park(), &w, 1);
    CAP_CHECK(r.ok() && r.value() == 0);
}

CAP_TEST(wake_one_then_all) {
    g_word = 0;
    g_waiting = 0;
    g_woken = 0;
    cap::Thread t[3];
    for (auto& th : t) {
        auto r = cap::Thread::spawn(waiter, nullptr, 32 * 1024);
        CAP_REQUIRE(r.ok());
        th = static_cast<cap::Thread&&>(r.value());
    }
    while (g_waiting < 3) sleep_ms(1);
    sleep_ms(20);  // let them park
    CAP_CHECK(g_woken == 0);
    auto one = cap::park_wake(this_ring(), cap::start_info().park(), &g_word, 1);
    CAP_CHECK(one.ok() && one.value() == 1);
    for (int i = 0; i < 200 && g_woken < 1; ++i) sleep_ms(1);
    CAP_CHECK(g_woken == 1);
    uint32_t woken = 0;
    for (int i = 0; i < 200 && woken < 2; ++i) {
        auto all = cap::park_wake(this_ring(), cap::start_info().park(), &g_word, 0xffffffffu);
        if (all.ok()) woken += all.value();
        sleep_ms(1);
    }
    CAP_CHECK(woken == 2);
    for (auto& th : t) {
        auto c = th.join();
        CAP_CHECK(c.ok() && c.value() == 1);
    }
}

CAP_TEST(bad_address) {
    auto r = cap::park_wait(this_ring(), cap::start_info().park(), reinterpret_cast<const uint32_t*>(0x2), 0, 0);
    CAP_CHECK(!r.ok() && r.status() == cap::Status::bad_pointer);
    r = cap::park_wait(this_ring(), cap::start_info().park(), reinterpret_cast<const uint32_t*>(0x10000000), 0, 0);
    CAP_CHECK(!r.ok() && r.status() == cap::Status::bad_pointer);  // unmapped
}

CAP_TEST_MAIN("park")
