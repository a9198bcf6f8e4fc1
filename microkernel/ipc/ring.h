// ring.h - kernel side of a per-thread capability ring (host-testable logic).
//
// KernelRing owns the kernel's private view of one ring in shared memory
// (capos/abi/ring.h). It never trusts a shared field: its own sq_head,
// cq_tail, sizes and masks are private; the user-written sq_tail and cq_head
// are read, checked and then used only through the private copies.
//
// Completion credit. Every consumed submission must be able to post its
// completion, even if the user never reads the CQ. The ring therefore
// consumes a submission only when it can reserve a completion place:
//     in_flight < cq_free + overflow_free
// where in_flight counts consumed submissions not yet completed, cq_free is
// the CQ space the user has released (it can only grow by user action;
// a cq_head that moves backwards or past cq_tail is ignored) and
// overflow_free is room on the kernel-private overflow list. Posting uses
// the reservation, so post() cannot fail and nothing is ever dropped. When
// no place is left, consume() stops (back-pressure) and sets
// kRingFlagBackpressure; the SQ entries stay where they are.
//
// Locking: not internally synchronised. The owner (the thread object) keeps
// a KernelRing behind its ring lock; consume() runs on the owning thread's
// CPU in cap_enter, post() may run on any CPU under the same lock.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/ring.h"
#include "capos/abi/status.h"
#include "lib/result.h"

namespace kern {

// The single Error -> ABI Status translation at the ring boundary.
capos::abi::Status to_status(Error e);

class KernelRing {
public:
    using Sqe = capos::abi::Sqe;
    using Cqe = capos::abi::Cqe;

    struct Counters {
        uint64_t sq_consumed = 0;      // submissions copied out of the SQ
        uint64_t cq_posted = 0;        // completions written into the CQ
        uint64_t overflow_parked = 0;  // completions that went to the overflow list
        uint64_t backpressure = 0;     // consume() calls stopped for lack of completion space
        uint64_t bad_sq_tail = 0;      // times sq_tail was more than sq_entries ahead
        uint64_t bad_cq_head = 0;      // times cq_head was outside [seen head, cq_tail]
    };

    KernelRing() = default;
    KernelRing(const KernelRing&) = delete;
    KernelRing& operator=(const KernelRing&) = delete;

    // Sets up a ring in `mem` (the kernel's mapping of the shared region,
    // `mem_size` bytes, 64-byte aligned) and writes the header geometry.
    // `overflow` is kernel-private storage for `overflow_capacity` parked
    // completions (the per-thread overflow quota; may be 0). All four indices
    // start at `first_index` (user space reads its start from the header; a
    // start near 2^32 exercises wraparound in tests).
    // Errors: invalid_argument (entries not a power of two or above the ABI
    // maximum, mem null or misaligned), truncated (mem_size < ring_size).
    [[nodiscard]] Result<void> init(void* mem, size_t mem_size, uint32_t sq_entries, uint32_t cq_entries, Cqe* overflow,
                                    uint32_t overflow_capacity, uint32_t first_index = 0);

    // Number of submissions the user has published and the kernel has not yet
    // consumed. Error::bad_ring if sq_tail is more than sq_entries ahead of the
    // kernel's head (sets kRingFlagCorrupt; nothing is consumed).
    [[nodiscard]] Result<uint32_t> sq_pending() {
        const uint32_t pending = __atomic_load_n(&hdr_->sq_tail, __ATOMIC_ACQUIRE) - sq_head_;  // mod 2^32
        if (pending > sq_entries_ || (flags_ & capos::abi::kRingFlagCorrupt) != 0) return sq_pending_slow(pending);
        return pending;
    }

    // Copies up to `max` submissions, in order, into `out` (kernel memory; each
    // entry is read from shared memory exactly once) and advances sq_head.
    // Each consumed entry holds a completion reservation until post().
    // Returns the number consumed; fewer than pending means back-pressure
    // (kRingFlagBackpressure is set) or `max` was reached.
    // Errors: bad_ring as for sq_pending().
    [[nodiscard]] Result<uint32_t> consume(Sqe* out, uint32_t max);

    // Posts the completion of a consumed submission; uses its reservation.
    // Order is preserved: if completions are parked, this one is parked behind
    // them. Calling it with no submission in flight is a kernel bug (trap).
    void post(const Cqe& cqe) {
        // The common case inline (under TCG a call's return costs a
        // translation-block lookup): a reservation, nothing parked, CQ room.
        if (in_flight_ != 0 && parked_count_ == 0) {
            refresh_cq_head();
            if (cq_free() > 0) {
                in_flight_--;
                write_cqe(cqe);
                return;
            }
        }
        post_slow(cqe);
    }

    // Moves parked completions into the CQ as far as the user has freed space,
    // oldest first. Returns how many moved. Called by cap_enter.
    uint32_t flush_overflow() { return parked_count_ == 0 ? 0 : flush_overflow_slow(); }

    // Completions in the CQ the user has not consumed (by the checked cq_head).
    uint32_t cq_ready() {
        refresh_cq_head();
        return cq_tail_ - cq_head_seen_;
    }

    uint32_t in_flight() const { return in_flight_; }
    uint32_t parked() const { return parked_count_; }
    uint32_t sq_entries() const { return sq_entries_; }
    uint32_t cq_entries() const { return cq_entries_; }
    const Counters& counters() const { return counters_; }

private:
    void refresh_cq_head() {
        const uint32_t head = __atomic_load_n(&hdr_->cq_head, __ATOMIC_ACQUIRE);
        // Accept only heads in [cq_head_seen_, cq_tail_]: the user may release
        // entries, never un-release them or release ones not yet posted. This
        // keeps cq_free() monotonic between posts, which the credit rule needs.
        if (head - cq_head_seen_ <= cq_tail_ - cq_head_seen_) {
            cq_head_seen_ = head;
        } else {
            counters_.bad_cq_head++;
        }
    }
    [[nodiscard]] Result<uint32_t> sq_pending_slow(uint32_t pending);
    void post_slow(const Cqe& cqe);
    uint32_t flush_overflow_slow();
    uint32_t cq_free() const { return cq_entries_ - (cq_tail_ - cq_head_seen_); }
    void write_cqe(const Cqe& cqe) {
        // Every field is a relaxed atomic store: the user may read the slot at
        // any time from another CPU.
        Cqe* dst = &cqes_[cq_tail_ & cq_mask_];
        __atomic_store_n(&dst->user_tag, cqe.user_tag, __ATOMIC_RELAXED);
        __atomic_store_n(&dst->status, cqe.status, __ATOMIC_RELAXED);
        __atomic_store_n(&dst->result_len, cqe.result_len, __ATOMIC_RELAXED);
        __atomic_store_n(&dst->caps_out_count, cqe.caps_out_count, __ATOMIC_RELAXED);
        __atomic_store_n(&dst->flags, cqe.flags, __ATOMIC_RELAXED);
        __atomic_store_n(&dst->detail, cqe.detail, __ATOMIC_RELAXED);
        __atomic_store_n(&dst->value, cqe.value, __ATOMIC_RELAXED);
        cq_tail_++;
        counters_.cq_posted++;
        // Release: the entry is visible before the user can see the new tail.
        __atomic_store_n(&hdr_->cq_tail, cq_tail_, __ATOMIC_RELEASE);
        __atomic_store_n(&hdr_->cq_posted_total, counters_.cq_posted, __ATOMIC_RELAXED);
    }
    void publish_flags();

    capos::abi::RingHeader* hdr_ = nullptr;
    Sqe* sqes_ = nullptr;
    Cqe* cqes_ = nullptr;
    uint32_t sq_entries_ = 0;
    uint32_t sq_mask_ = 0;
    uint32_t cq_entries_ = 0;
    uint32_t cq_mask_ = 0;
    uint32_t sq_head_ = 0;       // private: next index to consume
    uint32_t cq_tail_ = 0;       // private: next index to fill
    uint32_t cq_head_seen_ = 0;  // last cq_head value that passed the check
    uint32_t in_flight_ = 0;     // consumed, not yet posted
    uint32_t flags_ = 0;         // mirror of the header flags

    Cqe* overflow_ = nullptr;  // circular FIFO of parked completions
    uint32_t overflow_capacity_ = 0;
    uint32_t parked_head_ = 0;  // index of the oldest parked entry
    uint32_t parked_count_ = 0;

    Counters counters_;
};

}  // namespace kern
