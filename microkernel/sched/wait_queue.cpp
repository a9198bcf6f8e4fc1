// wait_queue.cpp - WaitQueue: block under the condition's lock, wake after it.
#include "sched/wait_queue.h"

#include "object/thread.h"
#include "sched/sched.h"

namespace kern {

void WaitQueue::block_on(SpinLockIrq& lock) {
    Thread* me = Thread::current();
    waiters_.push_back(me);
    // Blocked while still under `lock`: a waker takes the lock after us, so
    // it finds us queued, and its sched::wake (compare blocked -> runnable)
    // finds us blocked even if we have not switched away yet.
    atomic_store(&me->state_, Thread::State::blocked, MemOrder::release);
    lock.unlock();  // interrupts stay off: the caller disabled them before lock()
    sched::block();
    lock.lock();
    // Woken some other way (not taken off by wake_one): leave the queue, so
    // that no later wake_one picks a thread that no longer waits here.
    (void)waiters_.remove(me);
}

WaitQueue::Wakeup WaitQueue::wake_one() { return Wakeup(waiters_.pop_front()); }

void WaitQueue::Wakeup::wake() {
    if (t_ != nullptr) (void)sched::wake(*t_);
    t_ = nullptr;
}

}  // namespace kern
