// wait_queue_test.cpp - WaitQueue against a scripted scheduler: the order of
// queue, blocked state and unlock in block_on, FIFO wake-ups, and a waiter
// woken some other way.
#include <catch2/catch_test_macros.hpp>

#include <deque>
#include <functional>
#include <vector>

#include "object/thread.h"
#include "sched/wait_queue.h"

// The three scheduler entry points WaitQueue calls, scripted: block() runs
// the next queued action (what other CPUs do while this thread is switched
// away) and returns, as if woken; wake() records whom it made runnable.
namespace {
kern::Thread* g_current = nullptr;
std::deque<std::function<void()>> g_while_blocked;
std::vector<kern::Thread*> g_woken;

void reset() {
    g_current = nullptr;
    g_while_blocked.clear();
    g_woken.clear();
}
}  // namespace

namespace kern {
Thread* Thread::current() { return g_current; }
namespace sched {
void block() {
    REQUIRE_FALSE(g_while_blocked.empty());
    auto f = std::move(g_while_blocked.front());
    g_while_blocked.pop_front();
    f();
}
bool wake(Thread& t) {
    Thread::State expected = Thread::State::blocked;
    g_woken.push_back(&t);
    return kern::atomic_cas(&t.state_, expected, Thread::State::runnable, kern::MemOrder::acq_rel,
                            kern::MemOrder::acquire);
}
}  // namespace sched
}  // namespace kern

using kern::SpinLockIrq;
using kern::Thread;
using kern::WaitQueue;

TEST_CASE("block_on queues and blocks before unlocking, and returns with the lock held", "[wait_queue]") {
    reset();
    SpinLockIrq lock;
    WaitQueue wq;
    Thread a;
    g_current = &a;
    bool cond = false;
    g_while_blocked.push_back([&] {
        // What a waker on another CPU finds once the lock is free.
        CHECK_FALSE(lock.is_locked());
        CHECK(a.state() == Thread::State::blocked);
        lock.lock();
        CHECK(wq.has_waiters());
        cond = true;
        WaitQueue::Wakeup w = wq.wake_one();
        CHECK_FALSE(w.empty());
        CHECK_FALSE(wq.has_waiters());
        lock.unlock();
        CHECK(g_woken.empty());  // nothing is woken under the lock
        w.wake();
    });
    lock.lock();
    while (!cond) wq.block_on(lock);
    CHECK(lock.is_locked());
    lock.unlock();
    REQUIRE(g_woken == std::vector<Thread*>{&a});
    CHECK(a.state() == Thread::State::runnable);
    CHECK(g_while_blocked.empty());  // blocked exactly once
}

TEST_CASE("wake_one takes the longest waiter first and is empty when none waits", "[wait_queue]") {
    reset();
    SpinLockIrq lock;
    WaitQueue wq;
    Thread a, b;
    lock.lock();
    CHECK(wq.wake_one().empty());
    g_current = &a;
    g_while_blocked.push_back([&] {
        // a is queued; b queues behind it.
        g_current = &b;
        lock.lock();
        wq.block_on(lock);
        lock.unlock();
        g_current = &a;
    });
    g_while_blocked.push_back([&] {
        // b is blocked too: wake both, oldest first.
        lock.lock();
        WaitQueue::Wakeup first = wq.wake_one();
        WaitQueue::Wakeup second = wq.wake_one();
        CHECK(wq.wake_one().empty());
        lock.unlock();
        first.wake();
        second.wake();
    });
    wq.block_on(lock);
    lock.unlock();
    // b's block() ran the second action; a's returned after b's did.
    REQUIRE(g_woken == std::vector<Thread*>{&a, &b});
    CHECK_FALSE(wq.has_waiters());
}

TEST_CASE("a waiter woken some other way leaves the queue", "[wait_queue]") {
    reset();
    SpinLockIrq lock;
    WaitQueue wq;
    Thread a;
    g_current = &a;
    g_while_blocked.push_back([] {});  // e.g. a tick or a kill woke it
    lock.lock();
    wq.block_on(lock);
    CHECK(lock.is_locked());
    CHECK_FALSE(wq.has_waiters());
    WaitQueue::Wakeup w = wq.wake_one();
    lock.unlock();
    CHECK(w.empty());
    w.wake();
    CHECK(g_woken.empty());
}

TEST_CASE("a Wakeup wakes its thread once", "[wait_queue]") {
    reset();
    SpinLockIrq lock;
    WaitQueue wq;
    Thread a;
    g_current = &a;
    WaitQueue::Wakeup w;
    g_while_blocked.push_back([&] {
        lock.lock();
        w = wq.wake_one();
        lock.unlock();
        w.wake();
        w.wake();  // already used: no second wake-up
    });
    lock.lock();
    wq.block_on(lock);
    lock.unlock();
    CHECK(g_woken == std::vector<Thread*>{&a});
}
