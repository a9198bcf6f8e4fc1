// run_queue.cpp: per-CPU run queue ordered by weighted virtual runtime.
#include "sched/run_queue.h"

namespace kern {

WakePreempt wake_preempt(uint64_t cur_v, uint64_t cur_ran, uint64_t woken_v, uint64_t min_gran) {
    if (!vruntime_before(woken_v, cur_v)) return WakePreempt::no;
    if (cur_ran < min_gran) return WakePreempt::later;
    return WakePreempt::now;
}

Result<void> RunQueue::admit(RunQueueLink& e) {
    if (e.owner != nullptr) return Error::exists;
    if (e.weight == 0) return Error::invalid_argument;
    e.owner = this;
    ++count_;
    queued_weight_ += e.weight;
    ++total_enqueued_;
    return ok();
}

// From the tail: a requeued entity usually belongs near the end.
void RunQueue::insert_sorted(RunQueueLink& e) {
    if (fifo_ && tail_ != nullptr && vruntime_before(e.vruntime, tail_->vruntime)) e.vruntime = tail_->vruntime;
    RunQueueLink* after = tail_;
    while (after != nullptr && vruntime_before(e.vruntime, after->vruntime)) after = after->prev;
    e.prev = after;
    e.next = after != nullptr ? after->next : head_;
    if (e.next != nullptr) e.next->prev = &e;
    else tail_ = &e;
    if (after != nullptr) after->next = &e;
    else head_ = &e;
}

void RunQueue::insert_head(RunQueueLink& e) {
    if (head_ != nullptr && vruntime_before(head_->vruntime, e.vruntime)) e.vruntime = head_->vruntime;
    e.prev = nullptr;
    e.next = head_;
    if (head_ != nullptr) head_->prev = &e;
    else tail_ = &e;
    head_ = &e;
}

uint64_t RunQueue::join_vruntime(const RunQueueLink& e, uint64_t now) const {
    const int64_t floor = -static_cast<int64_t>(wake_credit_);
    int64_t off = e.lag;
    if (e.slept_at != 0 && now > e.slept_at) {
        const uint64_t slept = now - e.slept_at;
        // Past the floor anyway: saturate rather than overflow the subtraction.
        off = slept >= wake_credit_ + static_cast<uint64_t>(off < 0 ? 0 : off) ? floor
                                                                               : off - static_cast<int64_t>(slept);
    }
    return min_vruntime_ + static_cast<uint64_t>(off < floor ? floor : off);
}

Result<void> RunQueue::enqueue(RunQueueLink& e) {
    TRY(admit(e));
    e.joined = false;
    insert_sorted(e);
    update_min();
    return ok();
}

Result<void> RunQueue::join(RunQueueLink& e, uint64_t now) { return add(e, true, false, now); }

Result<void> RunQueue::push_front(RunQueueLink& e, bool joining, uint64_t now) { return add(e, joining, true, now); }

Result<void> RunQueue::add(RunQueueLink& e, bool joining, bool at_head, uint64_t now) {
    TRY(admit(e));
    if (joining) {
        charge(now);  // the minimum must include the running entity's open turn
        e.vruntime = join_vruntime(e, now);
    }
    e.slept_at = 0;
    e.joined = joining;
    if (at_head) insert_head(e);
    else insert_sorted(e);
    update_min();
    return ok();
}

void RunQueue::unlink(RunQueueLink& e) {
    if (e.prev != nullptr) e.prev->next = e.next;
    else head_ = e.next;
    if (e.next != nullptr) e.next->prev = e.prev;
    else tail_ = e.prev;
    e.next = e.prev = nullptr;
    e.owner = nullptr;
    --count_;
    queued_weight_ -= e.weight;
}

RunQueueLink* RunQueue::pop_front() {
    RunQueueLink* e = head_;
    if (e == nullptr) return nullptr;
    unlink(*e);
    return e;
}

Result<void> RunQueue::remove(RunQueueLink& e) {
    if (e.owner != this) return Error::not_found;
    unlink(e);
    e.lag = static_cast<int64_t>(e.vruntime - min_vruntime_);
    e.slept_at = 0;  // waiting runnable is not sleeping: its lag says what it is owed
    e.joined = false;
    update_min();
    return ok();
}

// min_vruntime follows the lowest of the running and the head entity, but
// never moves back: joiners are placed relative to it.
void RunQueue::update_min() {
    bool have = false;
    uint64_t m = 0;
    if (running_ != nullptr) {
        m = running_->vruntime;
        have = true;
    }
    if (head_ != nullptr && (!have || vruntime_before(head_->vruntime, m))) {
        m = head_->vruntime;
        have = true;
    }
    if (have && vruntime_before(min_vruntime_, m)) min_vruntime_ = m;
}

void RunQueue::charge(uint64_t now) {
    if (running_ == nullptr) return;
    const uint64_t ran = now > running_since_ ? now - running_since_ : 0;
    running_since_ = now;
    running_->vruntime += weighted_cycles(ran, running_->weight);
    update_min();
}

void RunQueue::set_running(RunQueueLink* e, uint64_t now) {
    running_ = e;
    running_since_ = running_start_ = now;
    running_weight_ = e != nullptr ? e->weight : 0;
    if (e != nullptr) e->joined = false;
    update_min();
}

void RunQueue::leave(RunQueueLink& e, uint64_t now, bool asleep) {
    e.lag = static_cast<int64_t>(e.vruntime - min_vruntime_);
    e.slept_at = asleep ? (now != 0 ? now : 1) : 0;
    e.joined = false;
    if (running_ == &e) {
        running_ = nullptr;
        running_weight_ = 0;
    }
}

WakePreempt RunQueue::check_preempt(uint64_t now) const {
    if (running_ == nullptr || head_ == nullptr || !head_->joined) return WakePreempt::no;
    const uint64_t open = now > running_since_ ? now - running_since_ : 0;
    const uint64_t ran = now > running_start_ ? now - running_start_ : 0;
    const uint64_t cur_v = running_->vruntime + weighted_cycles(open, running_->weight);
    return wake_preempt(cur_v, ran, head_->vruntime, min_granularity_);
}

Result<void> RunQueue::set_weight(RunQueueLink& e, uint32_t w) {
    if (w == 0) return Error::invalid_argument;
    if (e.owner != nullptr && e.owner != this) return Error::not_owned;
    if (e.owner == this) queued_weight_ = queued_weight_ - e.weight + w;
    e.weight = w;
    if (running_ == &e) running_weight_ = w;
    return ok();
}

Result<void> RunQueue::check() const {
    size_t n = 0;
    uint64_t w = 0;
    const RunQueueLink* prev = nullptr;
    for (const RunQueueLink* l = head_; l != nullptr; l = l->next) {
        if (l->owner != this || l->prev != prev) return Error::malformed;
        if (prev != nullptr && vruntime_before(l->vruntime, prev->vruntime)) return Error::malformed;
        if (++n > count_) return Error::malformed;  // also stops on a cycle
        w += l->weight;
        prev = l;
    }
    if (prev != tail_ || n != count_ || w != queued_weight_) return Error::malformed;
    return ok();
}

}  // namespace kern
