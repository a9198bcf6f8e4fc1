// sched_ring.h: both ends of the placement rings in shared memory
// (layout: capos/abi/sched_ring.h).
//
// The kernel end (RingKernelSide) produces events and consumes decisions
// and treats the shared memory as hostile: its own indices live in kernel
// memory and are only published to the page, never read back from it; the
// server's indices are loaded once per operation and bounds-checked, and an
// entry is copied out word by word before anything looks at it (the server
// may rewrite it meanwhile). A bad index makes the ring unusable (`broken`)
// rather than letting the kernel read or wait on garbage; nothing here
// loops on a value the server controls.
//
// The server end trusts the kernel; it is the placement server's own
// (servers/placement/common/ring_server.h), since user space includes
// nothing from microkernel/ but abi/.
//
// Plain C++ with __atomic builtins on plain words (the page is ordinary
// memory to both sides): host-tested in test/unit/placement.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/sched_ring.h"

namespace kern {

namespace ringabi = capos::abi;

// The three pages as the side that maps them sees them.
struct RingView {
    ringabi::SchedRingHeader* hdr = nullptr;
    ringabi::SchedRingEvent* ev = nullptr;      // kSchedRingEntries
    ringabi::SchedRingDecision* dec = nullptr;  // kSchedRingEntries
    bool ok() const { return hdr != nullptr && ev != nullptr && dec != nullptr; }
};

namespace ring_detail {
template <class T>
void copy_in(T& out, const T* shared) {
    static_assert(sizeof(T) % 8 == 0, "word copy");
    auto* o = reinterpret_cast<uint64_t*>(&out);
    auto* s = reinterpret_cast<const uint64_t*>(shared);
    for (size_t i = 0; i < sizeof(T) / 8; ++i) o[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}
template <class T>
void copy_out(T* shared, const T& in) {
    auto* s = reinterpret_cast<uint64_t*>(shared);
    auto* i8 = reinterpret_cast<const uint64_t*>(&in);
    for (size_t i = 0; i < sizeof(T) / 8; ++i) __atomic_store_n(&s[i], i8[i], __ATOMIC_RELAXED);
}
inline uint64_t load(const uint64_t* w) { return __atomic_load_n(w, __ATOMIC_ACQUIRE); }
inline void store(uint64_t* w, uint64_t v) { __atomic_store_n(w, v, __ATOMIC_RELEASE); }
}  // namespace ring_detail

enum class RingPush : uint8_t { ok = 0, full = 1, broken = 2 };
enum class RingPop : uint8_t { ok = 0, empty = 1, broken = 2 };

// Kernel end. One producer of events and one consumer of decisions at a
// time (the caller serializes: SchedulerControl's ring flag).
class RingKernelSide {
public:
    static constexpr uint64_t N = ringabi::kSchedRingEntries;

    // Initializes the header of a fresh page set (the server may have
    // written anything there before attach).
    void open(const RingView& v, uint64_t epoch) {
        v_ = v;
        ev_tail_ = 0;
        dec_head_ = 0;
        dropped_ = 0;
        refused_ = 0;
        broken_ = false;
        auto* h = v_.hdr;
        h->magic = ringabi::kSchedRingMagic;
        h->version = ringabi::kSchedRingVersion;
        h->entries = static_cast<uint32_t>(N);
        h->epoch = epoch;
        ring_detail::store(&h->ev_tail, 0);
        ring_detail::store(&h->ev_dropped, 0);
        ring_detail::store(&h->dec_refused, 0);
        ring_detail::store(&h->ev_head, 0);
        ring_detail::store(&h->dec_tail, 0);
        ring_detail::store(&h->dec_head, 0);
        __atomic_store_n(&h->state, ringabi::kSchedRingOpen, __ATOMIC_RELEASE);
    }
    // Tells the server it lost placement; the kernel touches the page no more.
    void close() {
        if (v_.hdr != nullptr) __atomic_store_n(&v_.hdr->state, ringabi::kSchedRingClosed, __ATOMIC_RELEASE);
        v_ = RingView{};
    }
    bool is_open() const { return v_.ok(); }
    bool broken() const { return broken_; }

    // Events the server has not consumed (0 when its head is bad).
    uint64_t events_queued() const {
        if (!v_.ok()) return 0;
        uint64_t head = ring_detail::load(&v_.hdr->ev_head);
        return head <= ev_tail_ && ev_tail_ - head <= N ? ev_tail_ - head : 0;
    }

    RingPush push_event(const ringabi::SchedRingEvent& e) {
        if (!v_.ok() || broken_) return RingPush::broken;
        uint64_t head = ring_detail::load(&v_.hdr->ev_head);
        // The server's head may only trail ours by at most N.
        if (head > ev_tail_ || ev_tail_ - head > N) return fail_push();
        if (ev_tail_ - head == N) return RingPush::full;
        ring_detail::copy_out(&v_.ev[ev_tail_ % N], e);
        ++ev_tail_;
        ring_detail::store(&v_.hdr->ev_tail, ev_tail_);
        return RingPush::ok;
    }

    // A decision is waiting (cheap check for the posting paths).
    bool decisions_waiting() const {
        if (!v_.ok() || broken_) return false;
        return ring_detail::load(&v_.hdr->dec_tail) != dec_head_;
    }

    // Copies the oldest decision out. `broken` when the server's tail is
    // impossible (ahead by more than N, or behind us): counted once, and the
    // ring is dead from then on (the caller demotes the server).
    RingPop pop_decision(ringabi::SchedRingDecision& out) {
        if (!v_.ok() || broken_) return RingPop::broken;
        uint64_t tail = ring_detail::load(&v_.hdr->dec_tail);
        if (tail == dec_head_) return RingPop::empty;
        if (tail < dec_head_ || tail - dec_head_ > N) {
            broken_ = true;
            count_refused();
            return RingPop::broken;
        }
        ring_detail::copy_in(out, &v_.dec[dec_head_ % N]);
        ++dec_head_;
        ring_detail::store(&v_.hdr->dec_head, dec_head_);
        return RingPop::ok;
    }

    // A decision entry that failed the kernel's checks (counted in the page).
    void count_refused() {
        ++refused_;
        if (v_.ok()) ring_detail::store(&v_.hdr->dec_refused, refused_);
    }
    // An event the kernel had to drop (its own buffer full).
    void count_dropped() {
        ++dropped_;
        if (v_.ok()) ring_detail::store(&v_.hdr->ev_dropped, dropped_);
    }
    uint64_t refused() const { return refused_; }
    uint64_t dropped() const { return dropped_; }
    uint64_t events_pushed() const { return ev_tail_; }

private:
    RingPush fail_push() {
        broken_ = true;
        return RingPush::broken;
    }
    RingView v_;
    uint64_t ev_tail_ = 0;  // the kernel's own copies: never read back from the page
    uint64_t dec_head_ = 0;
    uint64_t dropped_ = 0, refused_ = 0;
    bool broken_ = false;
};

}  // namespace kern
