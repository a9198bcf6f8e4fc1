// run_queue.cpp: intrusive FIFO run queue.
#include "lib/run_queue.h"

namespace kern {

Result<void> RunQueue::admit(RunQueueLink& e) {
    if (e.owner != nullptr) return Error::exists;
    if (e.weight == 0) return Error::invalid_argument;
    e.owner = this;
    ++count_;
    queued_weight_ += e.weight;
    ++total_enqueued_;
    return ok();
}

Result<void> RunQueue::push_back(RunQueueLink& e) {
    TRY(admit(e));
    e.next = nullptr;
    e.prev = tail_;
    if (tail_ != nullptr) tail_->next = &e;
    else head_ = &e;
    tail_ = &e;
    return ok();
}

Result<void> RunQueue::push_front(RunQueueLink& e) {
    TRY(admit(e));
    e.prev = nullptr;
    e.next = head_;
    if (head_ != nullptr) head_->prev = &e;
    else tail_ = &e;
    head_ = &e;
    return ok();
}

RunQueueLink* RunQueue::pop_front() {
    RunQueueLink* e = head_;
    if (e == nullptr) return nullptr;
    (void)remove(*e);  // cannot fail: e is our head
    return e;
}

Result<void> RunQueue::remove(RunQueueLink& e) {
    if (e.owner != this) return Error::not_found;
    if (e.prev != nullptr) e.prev->next = e.next;
    else head_ = e.next;
    if (e.next != nullptr) e.next->prev = e.prev;
    else tail_ = e.prev;
    e.next = e.prev = nullptr;
    e.owner = nullptr;
    --count_;
    queued_weight_ -= e.weight;
    return ok();
}

Result<void> RunQueue::set_weight(RunQueueLink& e, uint32_t w) {
    if (w == 0) return Error::invalid_argument;
    if (e.owner != nullptr && e.owner != this) return Error::not_owned;
    if (e.owner == this) queued_weight_ = queued_weight_ - e.weight + w;
    e.weight = w;
    return ok();
}

Result<void> RunQueue::check() const {
    size_t n = 0;
    uint64_t w = 0;
    const RunQueueLink* prev = nullptr;
    for (const RunQueueLink* l = head_; l != nullptr; l = l->next) {
        if (l->owner != this || l->prev != prev) return Error::malformed;
        if (++n > count_) return Error::malformed;  // also stops on a cycle
        w += l->weight;
        prev = l;
    }
    if (prev != tail_ || n != count_ || w != queued_weight_) return Error::malformed;
    return ok();
}

}  // namespace kern
