// shootdown.h: TLB shootdown bookkeeping, independent of the hardware.
//
// Protocol (docs/scheduling.md has the full story):
//  * Every address space has a TlbCpuMask: the CPUs that may hold its
//    translations. A CPU sets its bit before it loads the address space and
//    clears it only lazily, when a shootdown reaches it while it runs
//    something else (it then flushes that address space's PCID, or marks it
//    to be flushed on the next load, and drops out of the mask).
//  * The initiator changes page tables, collects the pages in a
//    ShootdownBatch (more than kShootdownMaxPages degrades to a full flush of
//    the address space), posts one request on the ShootdownBoard for every
//    CPU in the mask but itself, interrupts them, handles its own CPU, and
//    waits until every target acknowledged the request's generation.
//  * Each CPU has exactly one outstanding request of its own (a slot with a
//    generation number) and an inbox bit per initiator. Targets acknowledge
//    by writing the generation they handled, so a late or repeated
//    acknowledgement can never complete a newer request.
//  * While it waits, the initiator keeps servicing its own inbox, so two
//    CPUs shooting each other down at once both make progress even with
//    interrupts disabled.
//
// Concurrency: lock-free. post/done/wait for initiator CPU c run only on c
// (with preemption off); service for CPU c runs only on c.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"
#include "sched/placement.h"

namespace kern {

// Pages one request names before it degrades to a full flush.
inline constexpr size_t kShootdownMaxPages = 32;
inline constexpr uint64_t kPageSize4K = 4096;

// Pages to invalidate in one address space (or all of it).
class ShootdownBatch {
public:
    // Adds the page holding va. Beyond kShootdownMaxPages distinct pages the
    // batch becomes a full flush; adding a page already present is a no-op.
    void add_page(uint64_t va);
    // Adds [va, va + pages * 4 KiB).
    void add_range(uint64_t va, uint64_t pages);
    void set_full() { full_ = true; }
    void clear() {
        count_ = 0;
        full_ = false;
    }

    bool full() const { return full_; }
    bool empty() const { return !full_ && count_ == 0; }
    // Pages listed (meaningless once full()).
    size_t count() const { return count_; }
    uint64_t page(size_t i) const { return pages_[i]; }

private:
    uint64_t pages_[kShootdownMaxPages] = {};
    size_t count_ = 0;
    bool full_ = false;
};

// CPUs that may hold translations of one address space.
class TlbCpuMask {
public:
    // Before loading the address space on cpu. Sequentially consistent: an
    // initiator that changed a PTE and then read the mask either sees this
    // bit or this CPU's page walk sees the new PTE.
    void note_loaded(unsigned cpu) { __atomic_fetch_or(&bits_, bit(cpu), __ATOMIC_SEQ_CST); }
    // cpu holds no translations any more (it flushed them).
    void note_dropped(unsigned cpu) { __atomic_fetch_and(&bits_, ~bit(cpu), __ATOMIC_SEQ_CST); }
    CpuMask snapshot() const { return CpuMask{__atomic_load_n(&bits_, __ATOMIC_SEQ_CST)}; }
    bool has(unsigned cpu) const { return snapshot().has(cpu); }

private:
    static uint64_t bit(unsigned cpu) { return cpu < 64 ? uint64_t{1} << cpu : 0; }
    uint64_t bits_ = 0;
};

struct ShootdownRequest {
    uint64_t root = 0;           // page-table root identifying the address space
    uint16_t pcid = 0;           // its PCID (0 when PCIDs are off)
    TlbCpuMask* mask = nullptr;  // its CPU mask, so a target not running it can drop out
    ShootdownBatch batch;
};

class ShootdownBoard {
public:
    constexpr ShootdownBoard() = default;
    ShootdownBoard(const ShootdownBoard&) = delete;
    ShootdownBoard& operator=(const ShootdownBoard&) = delete;

    // Publishes req as self's request and marks it pending on every CPU in
    // targets except self. Returns its generation (>= 1). The caller then
    // interrupts the targets and waits (wait()). self's previous request
    // must be complete.
    uint64_t post(unsigned self, const ShootdownRequest& req, CpuMask targets);

    // Targets of self's request gen that have not acknowledged it yet.
    CpuMask unacked(unsigned self, uint64_t gen, CpuMask targets) const;
    bool done(unsigned self, uint64_t gen, CpuMask targets) const { return unacked(self, gen, targets).empty(); }

    // Initiators with a request pending on cpu (a snapshot).
    CpuMask pending(unsigned cpu) const { return CpuMask{__atomic_load_n(&inbox_[cpu].pending, __ATOMIC_ACQUIRE)}; }

    // Handles every request pending on self: handle(const ShootdownRequest&)
    // for each, then acknowledges its generation. Returns how many.
    template <class F>
    unsigned service(unsigned self, F&& handle) {
        const CpuMask from{__atomic_exchange_n(&inbox_[self].pending, 0, __ATOMIC_ACQ_REL)};
        unsigned n = 0;
        from.for_each([&](unsigned i) {
            uint64_t gen = __atomic_load_n(&slots_[i].gen, __ATOMIC_ACQUIRE);
            handle(static_cast<const ShootdownRequest&>(slots_[i].req));
            acknowledge(i, self, gen);
            ++n;
        });
        return n;
    }

    // Spins until every target acknowledged gen, servicing self's inbox with
    // handle meanwhile and calling relax() (e.g. pause) between polls.
    template <class F, class R>
    void wait(unsigned self, uint64_t gen, CpuMask targets, F&& handle, R&& relax) {
        targets.clear(self);
        while (!done(self, gen, targets)) {
            service(self, handle);
            relax();
        }
    }

    // Generation of self's latest request (0 before the first).
    uint64_t generation(unsigned self) const { return __atomic_load_n(&slots_[self].gen, __ATOMIC_ACQUIRE); }
    // Last generation of initiator's requests that target acknowledged.
    uint64_t acked(unsigned initiator, unsigned target) const {
        return __atomic_load_n(&acked_[initiator][target], __ATOMIC_ACQUIRE);
    }

private:
    void acknowledge(unsigned initiator, unsigned target, uint64_t gen);

    struct alignas(64) Slot {
        ShootdownRequest req;
        uint64_t gen = 0;  // generation of req, published after req is written
    };
    struct alignas(64) Inbox {
        uint64_t pending = 0;  // bit i: initiator i has a request for this CPU
    };
    Slot slots_[kMaxCpus] = {};
    Inbox inbox_[kMaxCpus] = {};
    uint64_t acked_[kMaxCpus][kMaxCpus] = {};  // [initiator][target]: last acknowledged generation
};

}  // namespace kern
