// ring.h - the user side of a per-thread capability ring: submit, enter, reap, tracked calls.
//
// A Ring is the calling thread's view of the SQ/CQ pair the kernel mapped at
// user_ring_addr(index) (capos/abi/ring.h). It is owned by exactly one
// thread and is not synchronised: each thread has its own ring (libcap keeps
// it in thread-local storage, see this_ring() in runtime.h).
//
// Three layers:
//  1. raw queue access: reserve()/publish() SQEs (several reserves, one
//     release store = a batch), pop() CQEs (acquire on cq_tail, release on
//     cq_head), enter() = cap_enter;
//  2. tracked operations: start() gives a submission a libcap-owned tag,
//     reap() drains the CQ and files each completion under its tag, wait()
//     blocks in cap_enter until its own tag has completed (completions of
//     other tracked operations that arrive meanwhile are kept for their
//     owners), poll() checks without blocking;
//  3. call(): start + wait, the synchronous method call every typed helper
//     uses.
// Completions whose tag libcap did not issue (raw submissions by the
// program) are passed to the untracked handler if one is set, otherwise
// counted in stats().untracked and discarded.
//
// Back-pressure (ring.h): when the SQ is full, submission enters the kernel
// with min_complete = 0 so it consumes entries; when the kernel answers
// Status::overflow (no completion space), completions are reaped into the
// tracked table and, if none were waiting, the thread waits for one. The
// CQ-overflow flag needs no action beyond reaping and entering again, which
// every wait does: the kernel flushes parked completions on each enter.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/cap.h"
#include "capos/abi/ring.h"
#include "capos/abi/syscall.h"
#include "libcap/interfaces.h"
#include "libcap/result.h"

namespace cap {

using capos::abi::CapHandle;
using capos::abi::Cqe;
using capos::abi::Sqe;
using capos::abi::kNullCap;
using capos::abi::kTimeoutInfinite;

// How a ring reaches the kernel: cap_enter(min_complete, timeout_ns), with
// the syscall's return convention (count >= 0 or a negative Status). Guest
// rings use the SYSCALL stub; host tests install a simulated kernel.
using EnterFn = int64_t (*)(void* ctx, uint32_t min_complete, uint64_t timeout_ns);

// Receives completions libcap did not issue tags for.
using UntrackedFn = void (*)(void* ctx, const Cqe& cqe);

// The arguments of one method call, as they go into an Sqe.
struct CallArgs {
    CapHandle cap = kNullCap;
    iface::Method method{};
    const void* params = nullptr;  // Cap'n Proto message in stream framing
    uint32_t params_len = 0;
    void* result = nullptr;  // result message buffer
    uint32_t result_max = 0;
    CapHandle* caps = nullptr;  // in-caps, then out-caps (same array, see ring.h)
    uint16_t caps_in = 0;
    uint16_t caps_out_max = 0;
    uint16_t flags = 0;  // kSqeFlag*
};

// Fills an Sqe from CallArgs (user_tag left 0).
Sqe make_sqe(const CallArgs& a);

// The guest EnterFn: the SYSCALL stub from capos/abi/syscall.h. In host
// builds it returns Status::not_supported (tests install their own).
int64_t syscall_enter(void* ctx, uint32_t min_complete, uint64_t timeout_ns);

class Ring {
public:
    // Tracked operations in flight or completed-but-unclaimed per ring. A
    // fixed table: no heap on the call path.
    static constexpr uint32_t kMaxTracked = 64;
    // Tags libcap issues have this bit set; raw submissions must leave it clear.
    static constexpr uint64_t kTrackedTagBit = uint64_t{1} << 63;

    struct Stats {
        uint64_t submitted = 0;     // SQEs published
        uint64_t enters = 0;        // cap_enter calls
        uint64_t reaped = 0;        // CQEs popped
        uint64_t untracked = 0;     // CQEs with a tag libcap did not issue (or a stale one)
        uint64_t overflowed = 0;    // CQEs that came through the kernel overflow list
        uint64_t backpressure = 0;  // enters answered with Status::overflow
        uint64_t sq_full = 0;       // submissions that found the SQ full
    };

    Ring() = default;
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    // Binds to the ring mapped at `base` (`mapped` bytes accessible there) and
    // checks the kernel-written geometry: magic, version, power-of-two sizes
    // within the ABI maxima, masks, offsets as ring.h computes them and
    // ring_size <= mapped. Picks up the current indices (the kernel may start
    // them anywhere). Errors: bad_ring (any check fails), invalid_argument
    // (base null or not page-aligned).
    [[nodiscard]] Result<void> attach(void* base, size_t mapped);

    void set_enter(EnterFn fn, void* ctx) {
        enter_fn_ = fn;
        enter_ctx_ = ctx;
    }
    void set_untracked_handler(UntrackedFn fn, void* ctx) {
        untracked_fn_ = fn;
        untracked_ctx_ = ctx;
    }

    bool attached() const { return hdr_ != nullptr; }
    uint32_t sq_entries() const { return sq_entries_; }
    uint32_t cq_entries() const { return cq_entries_; }
    const Stats& stats() const { return stats_; }
    // The kernel-written header flags (kRingFlag*), for diagnostics.
    uint32_t kernel_flags() const;

    // ---- Layer 1: raw queues --------------------------------------------
    // Free SQ entries, counting reserved-but-unpublished ones as used.
    uint32_t sq_space();
    // The next free SQ entry, zeroed, or nullptr if the SQ is full. Entries
    // from successive reserve() calls are invisible to the kernel until
    // publish(), which releases them all with one store (a batch).
    // (reserve, publish, pop and enter are inline: they are the whole of a
    // ring round trip, and under TCG every call's return costs a lookup.)
    Sqe* reserve() {
        if (local_tail_ - cached_sq_head_ >= sq_entries_) {
            if (sq_space() == 0) return nullptr;  // refreshes cached_sq_head_ (acquire)
        }
        Sqe* e = &sqes_[local_tail_ & sq_mask_];
        *e = Sqe{};
        local_tail_++;
        return e;
    }
    // Publishes every reserved entry (store-release of sq_tail).
    void publish() {
        if (local_tail_ == published_tail_) return;
        stats_.submitted += local_tail_ - published_tail_;
        // Release: the entries' contents are visible before the new tail.
        __atomic_store_n(&hdr_->sq_tail, local_tail_, __ATOMIC_RELEASE);
        published_tail_ = local_tail_;
    }
    // Reserved entries not yet published.
    uint32_t unpublished() const { return local_tail_ - published_tail_; }
    // Completions the kernel has posted that are not popped yet.
    uint32_t cq_ready();
    // Pops the oldest completion; false if the CQ is empty.
    bool pop(Cqe& out) {
        const uint32_t tail = __atomic_load_n(&hdr_->cq_tail, __ATOMIC_ACQUIRE);
        if (tail == cq_head_ || tail - cq_head_ > cq_entries_) return false;
        out = cqes_[cq_head_ & cq_mask_];
        cq_head_++;
        // Release: our read of the entry is done before the kernel may reuse it.
        __atomic_store_n(&hdr_->cq_head, cq_head_, __ATOMIC_RELEASE);
        stats_.reaped++;
        if ((out.flags & capos::abi::kCqeFlagOverflowed) != 0) stats_.overflowed++;
        return true;
    }
    // cap_enter through the installed EnterFn. Returns its raw result.
    int64_t enter(uint32_t min_complete, uint64_t timeout_ns) {
        stats_.enters++;
#if defined(CAPOS_USER)
        // The guest's own entry: the SYSCALL itself, not a call through enter_fn_.
        const int64_t r = enter_fn_ == &syscall_enter ? capos::abi::cap_enter(min_complete, timeout_ns)
                                                      : enter_fn_(enter_ctx_, min_complete, timeout_ns);
#else
        const int64_t r = enter_fn_(enter_ctx_, min_complete, timeout_ns);
#endif
        if (r == static_cast<int64_t>(Status::overflow)) stats_.backpressure++;
        return r;
    }

    // Copies `n` entries into the SQ and publishes them, entering the kernel
    // to make room when the SQ is full (back-pressure as above). The entries
    // are published in batches of as many as fit. Errors: bad_ring, or the
    // error cap_enter returned while making room.
    [[nodiscard]] Result<void> submit(const Sqe* sqes, uint32_t n);

    // ---- Layer 2: tracked operations ----------------------------------------
    // Submits `sqe` under a fresh libcap tag (its user_tag is overwritten) and
    // returns the tag. The buffers it names must stay valid until the tag has
    // been claimed by wait()/poll(). Errors: busy (kMaxTracked operations are
    // outstanding or unclaimed), plus submit()'s errors.
    [[nodiscard]] Result<uint64_t> start(const Sqe& sqe);
    // Like start(), but several submissions in one batch; tags go to `tags`.
    // On error, entries that reached the SQ keep their tags (they complete
    // normally); the tags of the rest are set to 0.
    [[nodiscard]] Result<void> start_batch(Sqe* sqes, uint32_t n, uint64_t* tags);
    // Drains the CQ, filing each completion under its tag. Returns how many.
    uint32_t reap();
    // True (and the completion in `out`, the tag freed) if `tag` has completed.
    bool poll(uint64_t tag, Cqe& out);
    // Waits until `tag` completes or `timeout_ns` passes on one cap_enter.
    // On timeout the operation stays outstanding: wait again, or abandon() it.
    // Errors: invalid_argument (tag not outstanding), timeout, bad_ring, or
    // another error cap_enter returned.
    [[nodiscard]] Result<Cqe> wait(uint64_t tag, uint64_t timeout_ns = kTimeoutInfinite);
    // Gives up on `tag`: its completion, when it arrives, is discarded. The
    // buffers it names must still stay valid until then (the kernel will
    // write them); abandoning is for operations whose buffers are static.
    void abandon(uint64_t tag);
    // Tracked operations started and not yet claimed.
    uint32_t outstanding() const { return outstanding_; }

    // ---- Layer 3: a synchronous call ----------------------------------------
    // Submits the call and waits for its completion. A completion with an
    // error status is returned as that Status; a successful one as the Cqe.
    [[nodiscard]] Result<Cqe> call(const CallArgs& a, uint64_t timeout_ns = kTimeoutInfinite);
    // A ring NOP, waited for without a timeout: the cheapest kernel round
    // trip. With nothing tracked outstanding it skips the tracked table (the
    // entry carries kNopTag and only the fields the kernel reads for a NOP);
    // otherwise it is call() of a NOP. Errors: as for call().
    [[nodiscard]] Result<void> nop();
    // The tag of nop()'s untracked entry (tracked bit, an index no slot has).
    static constexpr uint64_t kNopTag = (uint64_t{1} << 63) | 0xffffffffu;

private:
    enum class SlotState : uint8_t { free, pending, done, abandoned };
    struct Slot {
        Cqe cqe;
        uint32_t generation;
        SlotState state;
    };

    // call() when no tracked operation is outstanding and the SQ has room.
    [[nodiscard]] Result<Cqe> call_lean(const CallArgs& a, uint64_t timeout_ns);
    // Index of the tracked slot `tag` names if it is live, else kMaxTracked.
    uint32_t slot_of(uint64_t tag) const;
    uint64_t tag_of(uint32_t index) const;
    void file(const Cqe& cqe);
    // submit() reporting how many entries reached the SQ before an error.
    [[nodiscard]] Result<void> submit_counted(const Sqe* sqes, uint32_t n, uint32_t& done);
    // Makes progress when the SQ is full: enter, reap, maybe wait.
    [[nodiscard]] Result<void> make_room();

    capos::abi::RingHeader* hdr_ = nullptr;
    Sqe* sqes_ = nullptr;
    Cqe* cqes_ = nullptr;
    uint32_t sq_entries_ = 0;
    uint32_t sq_mask_ = 0;
    uint32_t cq_entries_ = 0;
    uint32_t cq_mask_ = 0;
    uint32_t local_tail_ = 0;      // next SQ index to reserve
    uint32_t published_tail_ = 0;  // last value stored to sq_tail
    uint32_t cached_sq_head_ = 0;  // last sq_head seen (refreshed when full)
    uint32_t cq_head_ = 0;         // next CQ index to pop (we are the only writer)

    EnterFn enter_fn_ = nullptr;
    void* enter_ctx_ = nullptr;
    UntrackedFn untracked_fn_ = nullptr;
    void* untracked_ctx_ = nullptr;

    Slot slots_[kMaxTracked] = {};
    uint32_t free_hint_ = 0;
    uint32_t outstanding_ = 0;
    Stats stats_;
};

}  // namespace cap
