// run_queue.h: a per-CPU run queue of schedulable entities, ordered by
// weighted virtual runtime.
//
// Each entity carries a vruntime: the CPU cycles it ran, scaled by
// kDefaultWeight / weight, so a thread of weight 2048 ages half as fast as
// one of 1024. The queue is kept sorted by vruntime (ties in arrival order)
// and dispatch runs its head, the entity that is owed the most CPU; over
// many turns each runnable entity gets CPU time in proportion to its weight.
// Equal weights (everyone at the default) reduce to round robin.
//
// vruntimes are only comparable within one queue. The queue's minimum
// (min_vruntime) only moves forward; an entity that leaves the CPU's clock
// (blocks, exits, is taken to another CPU) keeps its distance from that
// minimum as `lag`, and rejoins any queue at that queue's minimum plus its
// lag, less the time it slept (as if the minimum had advanced one cycle per
// cycle meanwhile, as it does behind one default-weight CPU hog), but never
// more than `wake_credit` below the minimum: a sleeper is owed at most that
// much, however long it slept, so it runs soon after waking and cannot
// monopolise the CPU with time it banked while asleep. A new entity (lag 0,
// never slept) starts at the minimum; one moved between queues while
// runnable keeps its lag.
//
// The links are intrusive: enqueue is O(queued) (a sorted insert; queues
// are short), dequeue and remove O(1), and nothing allocates. Running
// totals (count, summed weight, the weight of the entity now on the CPU)
// are what dispatch publishes as the CPU's load.
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
    uint32_t weight = kDefaultWeight;  // share of CPU time relative to others; must be > 0
    uint32_t slice_ticks = 0;          // timer ticks per turn; 0 = the CPU's default
    uint64_t vruntime = 0;             // weighted cycles on its queue's clock (wraps; compare by difference)
    int64_t lag = 0;                   // vruntime - min_vruntime when it last left a queue's clock
    uint64_t slept_at = 0;             // TSC it blocked at (leave); 0: not asleep (new, or moved while runnable)
    bool joined = false;               // woke/arrived and has not run since: may preempt (wake_preempt)
};

// True if vruntime a is before b (wrap-safe).
inline bool vruntime_before(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b) < 0; }

// vruntime of `cycles` of CPU time at weight w (> 0).
inline uint64_t weighted_cycles(uint64_t cycles, uint32_t w) {
    // Split so a long turn at weight 1 does not overflow the product (and
    // no 128-bit division, which the freestanding kernel has no helper for).
    return cycles / w * kDefaultWeight + cycles % w * kDefaultWeight / w;
}

// What a wake-up does to the thread running on its CPU.
enum class WakePreempt : uint8_t {
    no,     // the running thread is not behind the woken one: it keeps its slice
    later,  // it is, but ran less than the minimum granularity: ask again at the next tick
    now,    // switch to the woken thread at once
};

// The wake-up preemption rule: the woken thread (vruntime woken_v) takes
// the CPU from the running one (vruntime cur_v, its open turn included)
// once that one has run at least min_gran cycles of its turn (cur_ran) and
// is further along than the woken thread. The granularity keeps a stream of
// wake-ups from cutting a CPU-bound thread's turns into slivers.
WakePreempt wake_preempt(uint64_t cur_v, uint64_t cur_ran, uint64_t woken_v, uint64_t min_gran);

class RunQueue {
public:
    constexpr RunQueue() = default;
    RunQueue(const RunQueue&) = delete;
    RunQueue& operator=(const RunQueue&) = delete;

    // Cycles: the most a joining entity may start below min_vruntime, and
    // the least a running one keeps the CPU before a wake-up preempts it.
    void set_params(uint64_t wake_credit, uint64_t min_granularity) {
        wake_credit_ = wake_credit;
        min_granularity_ = min_granularity;
    }
    uint64_t wake_credit() const { return wake_credit_; }
    // FIFO mode: enqueue and join append at the tail (raising the vruntime
    // to the tail's so the order holds), as before weights: a placement
    // server that sets slices owns the shares and the round order, and a
    // vruntime order would count the weights twice. Charging goes on, so
    // leaving FIFO mode needs no catch-up.
    void set_fifo(bool on) { fifo_ = on; }
    bool fifo() const { return fifo_; }
    uint64_t min_granularity() const { return min_granularity_; }

    // Queues e, which ran on this CPU and is still runnable, at its vruntime.
    // Errors: exists (e is on this or another queue), invalid_argument (weight 0).
    Result<void> enqueue(RunQueueLink& e);
    // Queues e arriving from off this CPU's clock (created, woken, moved
    // here) at TSC `now`: vruntime = min_vruntime + max(lag - slept,
    // -wake_credit), slept being the cycles since it blocked. Same errors.
    Result<void> join(RunQueueLink& e, uint64_t now);
    // Puts e at the head (it runs next), lowering its vruntime to the head's
    // if need be so the order holds. joining: e arrives from off this CPU's
    // clock at `now` (as join) rather than being requeued. Same errors.
    Result<void> push_front(RunQueueLink& e, bool joining = false, uint64_t now = 0);
    // Removes and returns the head (lowest vruntime), or nullptr when empty.
    RunQueueLink* pop_front();
    // The head without removing it, or nullptr.
    RunQueueLink* front() const { return head_; }
    // Takes e out of the middle of the queue (it moves to another CPU; its
    // lag is kept). Errors: not_found (e is not on this queue; a link on
    // another queue is left untouched).
    Result<void> remove(RunQueueLink& e);

    // --- the entity on the CPU (not queued while it runs) ------------------
    // Charges the running entity for the cycles since it started (or was
    // last charged) up to TSC `now`.
    void charge(uint64_t now);
    // e (nullptr: idle) runs from `now` on. The previous one must have been
    // charged and requeued or left; e is not queued.
    void set_running(RunQueueLink* e, uint64_t now);
    RunQueueLink* running() const { return running_; }
    // The running entity leaves this CPU's clock at TSC `now`: records its
    // lag and clears running. asleep: it blocks (its sleep earns credit up
    // to wake_credit) rather than moving to another CPU runnable or exiting.
    // Charge first.
    void leave(RunQueueLink& e, uint64_t now, bool asleep);
    // Whether the head, if it just joined, should preempt the running
    // entity as of TSC `now` (wake_preempt with this queue's granularity).
    // no when there is nothing running, nothing queued, or the head is an
    // entity that already ran here (it waits for the end of the turn).
    WakePreempt check_preempt(uint64_t now) const;
    uint64_t min_vruntime() const { return min_vruntime_; }

    // Changes e's weight, keeping the totals right when e is queued here.
    // Errors: invalid_argument (w == 0), not_owned (e is on another queue).
    Result<void> set_weight(RunQueueLink& e, uint32_t w);

    bool contains(const RunQueueLink& e) const { return e.owner == this; }
    bool empty() const { return count_ == 0; }
    size_t count() const { return count_; }
    // Sum of the weights of queued entities.
    uint64_t queued_weight() const { return queued_weight_; }

    // Weight of the entity running on the CPU (0 while the CPU idles);
    // set_running keeps it, tests may set it directly.
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

    // Walks the list and compares links, order and totals; for tests.
    // Errors: malformed (an inconsistency).
    Result<void> check() const;

private:
    Result<void> admit(RunQueueLink& e);
    // join and push_front: admit e, start its clock at `now` if joining,
    // and queue it in order or at the head.
    Result<void> add(RunQueueLink& e, bool joining, bool at_head, uint64_t now);
    void insert_sorted(RunQueueLink& e);
    void insert_head(RunQueueLink& e);
    void unlink(RunQueueLink& e);
    void update_min();
    uint64_t join_vruntime(const RunQueueLink& e, uint64_t now) const;

    RunQueueLink* head_ = nullptr;
    RunQueueLink* tail_ = nullptr;
    size_t count_ = 0;
    uint64_t queued_weight_ = 0;
    uint32_t running_weight_ = 0;
    uint64_t total_enqueued_ = 0;
    RunQueueLink* running_ = nullptr;
    uint64_t running_since_ = 0;  // TSC of the running entity's last charge
    uint64_t running_start_ = 0;  // TSC it started this turn (granularity)
    uint64_t min_vruntime_ = 0;
    uint64_t wake_credit_ = 0;
    uint64_t min_granularity_ = 0;
    bool fifo_ = false;
};

}  // namespace kern
