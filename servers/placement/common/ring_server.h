// ring_server.h: the placement server's end of the shared rings
// (layout: capos/abi/sched_ring.h; the kernel's end is
// microkernel/sched/sched_ring.h, which user space does not include).
//
// The server consumes events and produces decisions. It trusts the kernel's
// indices (the kernel is the one that checks: it keeps its own copies and
// refuses impossible values from the page). Plain C++ with __atomic
// builtins on plain words: host-tested beside the kernel end in
// test/unit/placement/sched_ring_test.cpp.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/sched_ring.h"

namespace placement {

// The three pages as the server maps them.
struct RingPages {
    capos::abi::SchedRingHeader* hdr = nullptr;
    capos::abi::SchedRingEvent* ev = nullptr;      // kSchedRingEntries
    capos::abi::SchedRingDecision* dec = nullptr;  // kSchedRingEntries
    bool ok() const { return hdr != nullptr && ev != nullptr && dec != nullptr; }
};

class RingServer {
public:
    static constexpr uint64_t N = capos::abi::kSchedRingEntries;

    // False if the kernel has not initialized the page as rings.
    bool open(const RingPages& p) {
        p_ = p;
        return p_.ok() && __atomic_load_n(&p_.hdr->magic, __ATOMIC_ACQUIRE) == capos::abi::kSchedRingMagic &&
               p_.hdr->version == capos::abi::kSchedRingVersion && p_.hdr->entries == N;
    }
    bool closed() const { return __atomic_load_n(&p_.hdr->state, __ATOMIC_ACQUIRE) != capos::abi::kSchedRingOpen; }

    // The oldest event not taken yet, copied out word by word; false if none.
    bool pop_event(capos::abi::SchedRingEvent& out) {
        const uint64_t head = __atomic_load_n(&p_.hdr->ev_head, __ATOMIC_RELAXED);
        if (acquire(&p_.hdr->ev_tail) == head) return false;
        copy(&out, &p_.ev[head % N]);
        __atomic_store_n(&p_.hdr->ev_head, head + 1, __ATOMIC_RELEASE);
        return true;
    }
    bool events_waiting() const {
        return acquire(&p_.hdr->ev_tail) != __atomic_load_n(&p_.hdr->ev_head, __ATOMIC_RELAXED);
    }
    // False when the ring is full (the kernel has not taken N decisions yet).
    bool push_decision(const capos::abi::SchedRingDecision& d) {
        const uint64_t tail = __atomic_load_n(&p_.hdr->dec_tail, __ATOMIC_RELAXED);
        if (tail - acquire(&p_.hdr->dec_head) >= N) return false;
        copy(&p_.dec[tail % N], &d);
        __atomic_store_n(&p_.hdr->dec_tail, tail + 1, __ATOMIC_RELEASE);
        return true;
    }
    // Decisions published that the kernel has not taken yet.
    uint64_t decisions_unconsumed() const {
        return __atomic_load_n(&p_.hdr->dec_tail, __ATOMIC_RELAXED) - acquire(&p_.hdr->dec_head);
    }
    uint64_t dropped() const { return acquire(&p_.hdr->ev_dropped); }
    uint64_t refused() const { return acquire(&p_.hdr->dec_refused); }

private:
    static uint64_t acquire(const uint64_t* w) { return __atomic_load_n(w, __ATOMIC_ACQUIRE); }
    // Entry copies word by word with relaxed atomics: the other side may
    // touch neighbouring words at any time; the index stores order them.
    template <class T>
    static void copy(T* to, const T* from) {
        static_assert(sizeof(T) % 8 == 0, "entries are whole words");
        auto* t = reinterpret_cast<uint64_t*>(to);
        auto* f = reinterpret_cast<const uint64_t*>(from);
        for (size_t i = 0; i < sizeof(T) / 8; ++i)
            __atomic_store_n(&t[i], __atomic_load_n(&f[i], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    }

    RingPages p_;
};

}  // namespace placement
