// run_queue.h: a per-CPU run queue of schedulable entities (intrusive FIFO).
//
// The queue links entities through a RunQueueLink embedded in them, so
// enqueue, dequeue and remove are O(1) and never allocate. Each link carries
// the entity's weight and slice so a later fair-share policy (driven by the
// placement server) can order or size turns without changing the layout; the
// queue itself is plain FIFO and keeps running totals (count, summed weight,
// the weight of the entity now on the CPU) that dispatch publishes as the
// CPU's load.
//
// Concurrency: none inside. Every call needs the lock of the CPU that owns
// the queue (kern::sched holds it with interrupts off).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"

namespace kern {

class RunQueue;

// Weight of an entity nobody has configured (the unit of load).
inline constexpr uint32_t kDefaultWeight = 1024;

struct RunQueueLink {
    RunQueueLink* next = nullptr;
    RunQueueLink* prev = nullptr;
    RunQueue* owner = nullptr;         // queue holding this entity; nullptr when not queued
    void* entity = nullptr;            // the object this link belongs to (a Thread)
    uint32_t weight = kDefaultWeight;  // share for fair-share policies; must be > 0
    uint32_t slice_ticks = 0;          // timer ticks per turn; 0 = the CPU's default
};

class RunQueue {
public:
    constexpr RunQueue() = default;
    RunQueue(const RunQueue&) = delete;
    RunQueue& operator=(const RunQueue&) = delete;

    // Appends e (it runs after everything already queued).
    // Errors: exists (e is on this or another queue), invalid_argument (weight 0).
    Result<void> push_back(RunQueueLink& e);
    // Puts e at the head (it runs next); same errors as push_back.
    Result<void> push_front(RunQueueLink& e);
    // Removes and returns the head, or nullptr when empty.
    RunQueueLink* pop_front();
    // The head without removing it, or nullptr.
    RunQueueLink* front() const { return head_; }
    // Removes e from the middle of the queue. Errors: not_found (e is not on
    // this queue; a link on another queue is left untouched).
    Result<void> remove(RunQueueLink& e);

    // Changes e's weight, keeping the totals right when e is queued here.
    // Errors: invalid_argument (w == 0), not_owned (e is on another queue).
    Result<void> set_weight(RunQueueLink& e, uint32_t w);

    bool contains(const RunQueueLink& e) const { return e.owner == this; }
    bool empty() const { return count_ == 0; }
    size_t count() const { return count_; }
    // Sum of the weights of queued entities.
    uint64_t queued_weight() const { return queued_weight_; }

    // Weight of the entity running on the CPU (0 while the CPU idles); the
    // dispatcher sets it on every switch.
    void set_running_weight(uint32_t w) { running_weight_ = w; }
    uint32_t running_weight() const { return running_weight_; }
    // The CPU's load in weight units: queued plus running.
    uint64_t load() const { return queued_weight_ + running_weight_; }
    // Entities runnable on this CPU, counting the running one.
    size_t nr_runnable() const { return count_ + (running_weight_ != 0 ? 1 : 0); }

    // Lifetime counters (for tests and statistics).
    uint64_t total_enqueued() const { return total_enqueued_; }

    // Calls f(RunQueueLink&) head to tail; f must not change the queue.
    template <class F>
    void for_each(F&& f) const {
        for (RunQueueLink* l = head_; l != nullptr; l = l->next) f(*l);
    }

    // Walks the list and compares links and totals; for tests.
    // Errors: malformed (an inconsistency).
    Result<void> check() const;

private:
    Result<void> admit(RunQueueLink& e);

    RunQueueLink* head_ = nullptr;
    RunQueueLink* tail_ = nullptr;
    size_t count_ = 0;
    uint64_t queued_weight_ = 0;
    uint32_t running_weight_ = 0;
    uint64_t total_enqueued_ = 0;
};

}  // namespace kern
