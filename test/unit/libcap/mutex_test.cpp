// mutex_test.cpp - cap::Mutex over ParkOps backed by a real Linux futex, under contention.
#include <catch2/catch_test_macros.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "libcap/thread.h"

namespace {

std::atomic<uint64_t> g_waits{0};
std::atomic<uint64_t> g_wakes{0};

bool futex_wait(void*, const uint32_t* addr, uint32_t expected) {
    g_waits++;
    return syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0) == 0;
}
void futex_wake(void*, const uint32_t* addr, uint32_t count) {
    g_wakes++;
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, count > 0x7fffffffu ? 0x7fffffff : count, nullptr, nullptr, 0);
}

// The lock games these tests play on purpose (a try_lock inside CHECK, an
// unlock in another statement) are outside what clang's thread-safety
// analysis follows; these two keep them out of it.
bool try_lock_unchecked(cap::Mutex& m) CAPOS_NO_THREAD_SAFETY_ANALYSIS { return m.try_lock(); }
void unlock_unchecked(cap::Mutex& m) CAPOS_NO_THREAD_SAFETY_ANALYSIS { m.unlock(); }

}  // namespace

TEST_CASE("try_lock / unlock without contention never parks", "[libcap][mutex]") {
    cap::set_park_ops(cap::ParkOps{&futex_wait, &futex_wake, nullptr});
    g_waits = 0;
    g_wakes = 0;
    cap::Mutex m;
    CHECK(try_lock_unchecked(m));
    CHECK_FALSE(try_lock_unchecked(m));
    unlock_unchecked(m);
    for (int i = 0; i < 1000; ++i) {
        cap::LockGuard g(m);
    }
    CHECK(try_lock_unchecked(m));
    unlock_unchecked(m);
    CHECK(g_waits == 0);
    CHECK(g_wakes == 0);
}

TEST_CASE("four threads incrementing under the mutex lose no update", "[libcap][mutex]") {
    cap::set_park_ops(cap::ParkOps{&futex_wait, &futex_wake, nullptr});
    cap::Mutex m;
    uint64_t counter = 0;  // deliberately non-atomic: the mutex must protect it
    constexpr int kThreads = 4;
    constexpr int kIters = 50000;
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
        ts.emplace_back([&] {
            for (int i = 0; i < kIters; ++i) {
                cap::LockGuard g(m);
                uint64_t v = counter;
                if (i % 64 == 0) std::this_thread::yield();  // widen the critical section
                counter = v + 1;
            }
        });
    for (auto& t : ts) t.join();
    CHECK(counter == uint64_t{kThreads} * kIters);
    CHECK(try_lock_unchecked(m));  // left unlocked
    unlock_unchecked(m);
}

TEST_CASE("without park ops installed the mutex still excludes (spinning)", "[libcap][mutex]") {
    cap::set_park_ops(cap::ParkOps{[](void*, const uint32_t*, uint32_t) { return false; },
                                   [](void*, const uint32_t*, uint32_t) {}, nullptr});
    cap::Mutex m;
    uint64_t counter = 0;
    std::vector<std::thread> ts;
    for (int t = 0; t < 2; ++t)
        ts.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                cap::LockGuard g(m);
                counter++;
            }
        });
    for (auto& t : ts) t.join();
    CHECK(counter == 40000);
}
