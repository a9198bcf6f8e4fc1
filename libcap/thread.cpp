// thread.cpp - parking and the futex-style Mutex (host-testable; no kernel calls of its own).
#include "libcap/thread.h"

namespace cap {

namespace {

// No ops installed: spin politely. Correct (waiters re-check the word),
// only slower, so code that locks before start-up still works.
bool spin_wait(void*, const uint32_t* addr, uint32_t expected) {
    for (int i = 0; i < 64 && __atomic_load_n(addr, __ATOMIC_RELAXED) == expected; ++i) __builtin_ia32_pause();
    return false;
}
void no_wake(void*, const uint32_t*, uint32_t) {}

ParkOps g_park{&spin_wait, &no_wake, nullptr};

}  // namespace

void set_park_ops(ParkOps ops) { g_park = ops; }
void park_wait(const uint32_t* addr, uint32_t expected) { (void)g_park.wait(g_park.ctx, addr, expected); }
void park_wake(const uint32_t* addr, uint32_t count) { g_park.wake(g_park.ctx, addr, count); }

bool Mutex::try_lock() CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(&state_, &expected, 1u, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void Mutex::lock() CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(&state_, &c, 1u, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    // Contended: mark "waiters" (2) and park until we are the one that turns
    // 0 into 2. Taking it as 2 (not 1) is conservative: the next unlock wakes
    // someone who may not exist, never forgets someone who does.
    if (c != 2) c = __atomic_exchange_n(&state_, 2u, __ATOMIC_ACQUIRE);
    while (c != 0) {
        park_wait(&state_, 2);
        c = __atomic_exchange_n(&state_, 2u, __ATOMIC_ACQUIRE);
    }
}

void Mutex::unlock() CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    if (__atomic_fetch_sub(&state_, 1u, __ATOMIC_RELEASE) != 1) {
        __atomic_store_n(&state_, 0u, __ATOMIC_RELEASE);
        park_wake(&state_, 1);
    }
}

}  // namespace cap
