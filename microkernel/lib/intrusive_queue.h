// intrusive_queue.h - a doubly linked FIFO of objects that carry their own link.
#pragma once

#include <stddef.h>

namespace kern {

// The link an element embeds, one per queue it can be on at a time.
template <class T>
struct QueueLink {
    T* next = nullptr;
    T* prev = nullptr;
};

// A queue of T threaded through a QueueLink<T> inside each element. Nothing
// is allocated: push and pop only rewrite links, so it can be used with
// interrupts off and under any spinlock.
//
// Link names the link: a type with `static QueueLink<T>& of(T&)`. It is a
// type rather than a member pointer so that a header can declare a queue of
// a type it only forward-declares (the queue's layout does not depend on T).
//
// Locking: none of its own. Every call (and every element's link while it
// is queued) is protected by the lock of whatever owns the queue, which the
// caller holds; the owner's declaration names that lock. The one exception
// is peek_unlocked(): head_ is always written with a release store, so a
// lock-free reader can test for emptiness and then take the lock.
//
// An element is on at most one queue per link at a time and must be taken
// off (pop_front, erase, remove, take_all, splice_back) before it is freed or queued
// elsewhere through the same link.
template <class T, class Link>
class IntrusiveQueue {
public:
    constexpr IntrusiveQueue() = default;
    IntrusiveQueue(const IntrusiveQueue&) = delete;
    IntrusiveQueue& operator=(const IntrusiveQueue&) = delete;
    IntrusiveQueue(IntrusiveQueue&& o) : head_(o.head_), tail_(o.tail_) { o.reset(); }

    bool empty() const { return head_ == nullptr; }
    T* front() const { return head_; }
    // Without the owner's lock: a snapshot, true if something may be queued.
    // A caller that acts on it takes the lock and looks again.
    bool peek_unlocked() const { return __atomic_load_n(&head_, __ATOMIC_ACQUIRE) != nullptr; }

    void push_back(T* x) {
        QueueLink<T>& l = Link::of(*x);
        l.next = nullptr;
        l.prev = tail_;
        if (tail_ != nullptr) Link::of(*tail_).next = x;
        else set_head(x);
        tail_ = x;
    }

    void push_front(T* x) {
        QueueLink<T>& l = Link::of(*x);
        l.prev = nullptr;
        l.next = head_;
        if (head_ != nullptr) Link::of(*head_).prev = x;
        else tail_ = x;
        set_head(x);
    }

    // The oldest element, unlinked, or null when empty.
    T* pop_front() {
        T* x = head_;
        if (x != nullptr) erase(x);
        return x;
    }

    // Unlinks x, which must be on this queue. O(1).
    void erase(T* x) {
        QueueLink<T>& l = Link::of(*x);
        if (l.prev != nullptr) Link::of(*l.prev).next = l.next;
        else set_head(l.next);
        if (l.next != nullptr) Link::of(*l.next).prev = l.prev;
        else tail_ = l.prev;
        l.next = l.prev = nullptr;
    }

    // Unlinks x if it is on this queue; true if it was. O(length): for
    // callers that do not know which queue, if any, x is on.
    bool remove(T* x) {
        if (!contains(x)) return false;
        erase(x);
        return true;
    }

    bool contains(const T* x) const {
        for (T* p = head_; p != nullptr; p = Link::of(*p).next) {
            if (p == x) return true;
        }
        return false;
    }

    // The first element for which pred is true, or null (left queued).
    template <class P>
    T* find(P&& pred) const {
        for (T* p = head_; p != nullptr; p = Link::of(*p).next) {
            if (pred(*p)) return p;
        }
        return nullptr;
    }

    // f(T&) on each element, oldest first. f may erase the element it is
    // given (the next one is read before the call), nothing else.
    template <class F>
    void for_each(F&& f) {
        for (T* p = head_; p != nullptr;) {
            T* next = Link::of(*p).next;
            f(*p);
            p = next;
        }
    }

    // Moves every element to the returned queue and leaves this one empty,
    // in O(1): the usual "detach under the lock, complete them outside it".
    IntrusiveQueue take_all() { return IntrusiveQueue(static_cast<IntrusiveQueue&&>(*this)); }

    // Appends every element of o, in order, after this queue's and leaves o
    // empty, in O(1) (several queues detached under one lock hold).
    void splice_back(IntrusiveQueue& o) {
        if (o.head_ == nullptr) return;
        if (tail_ != nullptr) {
            Link::of(*tail_).next = o.head_;
            Link::of(*o.head_).prev = tail_;
        } else {
            set_head(o.head_);
        }
        tail_ = o.tail_;
        o.reset();
    }

private:
    void set_head(T* x) { __atomic_store_n(&head_, x, __ATOMIC_RELEASE); }
    void reset() {
        set_head(nullptr);
        tail_ = nullptr;
    }

    T* head_ = nullptr;
    T* tail_ = nullptr;
};

}  // namespace kern
