// shootdown.cpp: TLB shootdown batching and the request board.
#include "mm/shootdown.h"

namespace kern {

void ShootdownBatch::add_page(uint64_t va) {
    if (full_) return;
    uint64_t page = va & ~(kPageSize4K - 1);
    for (size_t i = 0; i < count_; ++i) {
        if (pages_[i] == page) return;
    }
    if (count_ == kShootdownMaxPages) {
        full_ = true;
        return;
    }
    pages_[count_++] = page;
}

void ShootdownBatch::add_range(uint64_t va, uint64_t pages) {
    if (pages > kShootdownMaxPages) {
        full_ = true;
        return;
    }
    for (uint64_t i = 0; i < pages && !full_; ++i) add_page(va + i * kPageSize4K);
}

uint64_t ShootdownBoard::post(unsigned self, const ShootdownRequest& req, CpuMask targets) {
    Slot& s = slots_[self];
    s.req = req;
    uint64_t gen = s.gen + 1;
    __atomic_store_n(&s.gen, gen, __ATOMIC_RELEASE);
    targets.clear(self);
    targets.for_each([&](unsigned t) { __atomic_fetch_or(&inbox_[t].pending, uint64_t{1} << self, __ATOMIC_ACQ_REL); });
    return gen;
}

CpuMask ShootdownBoard::unacked(unsigned self, uint64_t gen, CpuMask targets) const {
    CpuMask out;
    targets.clear(self);
    targets.for_each([&](unsigned t) {
        if (acked(self, t) < gen) out.set(t);
    });
    return out;
}

void ShootdownBoard::acknowledge(unsigned initiator, unsigned target, uint64_t gen) {
    // Generations only grow: a stale acknowledgement never lowers the mark.
    uint64_t cur = __atomic_load_n(&acked_[initiator][target], __ATOMIC_RELAXED);
    while (cur < gen && !__atomic_compare_exchange_n(&acked_[initiator][target], &cur, gen, true, __ATOMIC_RELEASE,
                                                     __ATOMIC_RELAXED)) {}
}

}  // namespace kern
