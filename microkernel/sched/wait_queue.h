// wait_queue.h - kernel threads blocked until a condition guarded by a spinlock changes.
#pragma once

#include "cpu/spinlock.h"
#include "lib/intrusive_queue.h"

namespace kern {

// Declared, not included: Thread itself holds a WaitQueue (its joiner).
class Thread;
struct ThreadWaitLink;  // object/thread.h: Thread::wait_link_

// Threads waiting for a condition that some spinlock `L` guards (work on a
// list, a flag). The queue has no lock of its own: L protects it as it
// protects the condition, so "look at the condition, then sleep" and "change
// the condition, then wake" are each one critical section of L, and no
// wake-up can fall between a waiter's look and its sleep.
//
//   waiter                                  waker
//   irq_save(); L.lock();                   L.lock();   (or a LockGuard)
//   while (!cond) wq.block_on(L);           make cond true;
//   take the work; L.unlock(); ...          Wakeup w = wq.wake_one();
//                                           L.unlock();
//                                           w.wake();
//
// Why waking is two steps: sched::wake may itself post to L's owner
// (placing a thread reports to the placement server, whose notifier sleeps
// on such a queue), so it must not run under L. The waiter is taken off the
// queue under L and woken only after L is released; only the one who took
// it off wakes it.
//
// There is no wake_all: no condition here has more than one waiter, and
// handing a chain of threads out of the lock would let one of them, woken
// some other way meanwhile, queue itself again through the same link.
class WaitQueue {
public:
    // A thread taken off a queue, to wake once the queue's lock is released.
    class Wakeup {
    public:
        Wakeup() = default;
        explicit Wakeup(Thread* t) : t_(t) {}
        // Makes the thread runnable (sched::wake), if there was one.
        void wake();
        bool empty() const { return t_ == nullptr; }

    private:
        Thread* t_ = nullptr;
    };

    constexpr WaitQueue() = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;

    // Blocks the current thread until a waker takes it off this queue.
    // Call with `lock` held, taken with interrupts already off (irq_save()
    // before lock(); the caller restores them afterwards): the thread is
    // queued and marked blocked before `lock` is released, and interrupts
    // stay off until the switch, so neither a waker nor a tick comes in
    // between. Returns with `lock` held again; the caller looks at its
    // condition again (a wake-up says "look", not "it is true").
    void block_on(SpinLockIrq& lock) CAPOS_REQUIRES(lock);

    // With the lock held: takes the longest waiter off the queue; wake it
    // with the result's wake() after releasing the lock. Empty if none.
    [[nodiscard]] Wakeup wake_one();

    // With the lock held: someone is blocked here.
    bool has_waiters() const { return !waiters_.empty(); }

private:
    IntrusiveQueue<Thread, ThreadWaitLink> waiters_;
};

}  // namespace kern
