// ring.cpp - the user side of a per-thread capability ring.
#include "libcap/ring.h"

#include "capos/abi/layout.h"

namespace cap {

namespace abi = capos::abi;

namespace {

uint32_t load_acquire(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

// Generations are 31 bits so a tag is bit 63 | generation << 32 | index.
constexpr uint32_t kGenerationMask = 0x7fffffffu;

}  // namespace

int64_t syscall_enter(void*, uint32_t min_complete, uint64_t timeout_ns) {
#if defined(CAPOS_USER)
    return abi::cap_enter(min_complete, timeout_ns);
#else
    (void)min_complete;
    (void)timeout_ns;
    return static_cast<int64_t>(Status::not_supported);
#endif
}

Sqe make_sqe(const CallArgs& a) {
    Sqe s{};
    s.interface_id = a.method.interface_id;
    s.cap = a.cap;
    s.method = a.method.ordinal;
    s.flags = a.flags;
    s.caps_in_count = a.caps_in;
    s.caps_out_max = a.caps_out_max;
    s.params_addr = reinterpret_cast<uint64_t>(a.params);
    s.params_len = a.params_len;
    s.result_len_max = a.result_max;
    s.result_addr = reinterpret_cast<uint64_t>(a.result);
    s.caps_addr = reinterpret_cast<uint64_t>(a.caps);
    return s;
}

Result<void> Ring::attach(void* base, size_t mapped) {
    if (base == nullptr || (reinterpret_cast<uintptr_t>(base) & (abi::kPageSize - 1)) != 0)
        return Status::invalid_argument;
    if (mapped < sizeof(abi::RingHeader)) return Status::bad_ring;
    auto* h = static_cast<abi::RingHeader*>(base);
    // Geometry is written once before the thread runs; plain loads suffice.
    const uint32_t sq = h->sq_entries;
    const uint32_t cq = h->cq_entries;
    if (h->magic != abi::kRingMagic || h->version != abi::kRingVersion) return Status::bad_ring;
    if (!abi::is_pow2(sq) || sq > abi::kRingMaxSqEntries) return Status::bad_ring;
    if (!abi::is_pow2(cq) || cq > abi::kRingMaxCqEntries) return Status::bad_ring;
    if (h->sq_mask != sq - 1 || h->cq_mask != cq - 1) return Status::bad_ring;
    if (h->sq_offset != abi::ring_sq_offset() || h->cq_offset != abi::ring_cq_offset(sq)) return Status::bad_ring;
    if (h->ring_size != abi::ring_size(sq, cq) || h->ring_size > mapped) return Status::bad_ring;

    // The kernel starts all four indices at the same value.
    const uint32_t sq_tail = h->sq_tail;
    const uint32_t sq_head = load_acquire(&h->sq_head);
    const uint32_t cq_head = h->cq_head;
    const uint32_t cq_tail = load_acquire(&h->cq_tail);
    if (sq_tail - sq_head > sq || cq_tail - cq_head > cq) return Status::bad_ring;

    auto* bytes = static_cast<unsigned char*>(base);
    hdr_ = h;
    sqes_ = reinterpret_cast<Sqe*>(bytes + h->sq_offset);
    cqes_ = reinterpret_cast<Cqe*>(bytes + h->cq_offset);
    sq_entries_ = sq;
    sq_mask_ = sq - 1;
    cq_entries_ = cq;
    cq_mask_ = cq - 1;
    local_tail_ = sq_tail;
    published_tail_ = sq_tail;
    cached_sq_head_ = sq_head;
    cq_head_ = cq_head;
    if (enter_fn_ == nullptr) enter_fn_ = syscall_enter;
    return ok();
}

uint32_t Ring::kernel_flags() const { return hdr_ == nullptr ? 0 : __atomic_load_n(&hdr_->flags, __ATOMIC_RELAXED); }

uint32_t Ring::sq_space() {
    cached_sq_head_ = load_acquire(&hdr_->sq_head);
    const uint32_t used = local_tail_ - cached_sq_head_;
    // A head beyond our tail would be a kernel bug; report no space rather
    // than overwrite entries the kernel may still be reading.
    return used > sq_entries_ ? 0 : sq_entries_ - used;
}

uint32_t Ring::cq_ready() {
    const uint32_t tail = load_acquire(&hdr_->cq_tail);
    const uint32_t n = tail - cq_head_;
    return n > cq_entries_ ? 0 : n;
}

Result<void> Ring::make_room() {
    stats_.sq_full++;
    for (;;) {
        const int64_t r = enter(0, 0);
        const uint32_t got = reap();
        if (r >= 0 || r == static_cast<int64_t>(Status::timeout)) {
            if (sq_space() > 0) return ok();
            // The kernel consumed nothing and did not say why; wait for a
            // completion to free credit rather than spin.
            if (got == 0) {
                const int64_t w = enter(1, kTimeoutInfinite);
                reap();
                if (w < 0 && w != static_cast<int64_t>(Status::overflow) && w != static_cast<int64_t>(Status::timeout))
                    return static_cast<Status>(w);
            }
            continue;
        }
        if (r == static_cast<int64_t>(Status::overflow)) {
            // No completion space: reaping above freed CQ entries; if there was
            // nothing to reap every place is promised to in-flight calls, so wait
            // until one of them completes.
            if (got == 0) {
                const int64_t w = enter(1, kTimeoutInfinite);
                reap();
                if (w < 0 && w != static_cast<int64_t>(Status::overflow) && w != static_cast<int64_t>(Status::timeout))
                    return static_cast<Status>(w);
            }
            if (sq_space() > 0) return ok();
            continue;
        }
        return static_cast<Status>(r);
    }
}

Result<void> Ring::submit(const Sqe* sqes, uint32_t n) {
    uint32_t done = 0;
    return submit_counted(sqes, n, done);
}

Result<void> Ring::submit_counted(const Sqe* sqes, uint32_t n, uint32_t& done) {
    done = 0;
    while (done < n) {
        Sqe* e = reserve();
        if (e == nullptr) {
            // Publish what we have so the kernel can consume it, then make room.
            publish();
            Result<void> r = make_room();
            if (!r.ok()) return r;
            continue;
        }
        *e = sqes[done++];
    }
    publish();
    return ok();
}

uint64_t Ring::tag_of(uint32_t index) const {
    return kTrackedTagBit | (uint64_t{slots_[index].generation} << 32) | index;
}

uint32_t Ring::slot_of(uint64_t tag) const {
    if ((tag & kTrackedTagBit) == 0) return kMaxTracked;
    const uint32_t index = static_cast<uint32_t>(tag);
    const uint32_t gen = static_cast<uint32_t>(tag >> 32) & kGenerationMask;
    if (index >= kMaxTracked) return kMaxTracked;
    const Slot& s = slots_[index];
    if (s.state == SlotState::free || s.generation != gen) return kMaxTracked;
    return index;
}

Result<uint64_t> Ring::start(const Sqe& sqe) {
    uint64_t tag = 0;
    Sqe copy = sqe;
    Result<void> r = start_batch(&copy, 1, &tag);
    if (!r.ok()) return r.status();
    return tag;
}

Result<void> Ring::start_batch(Sqe* sqes, uint32_t n, uint64_t* tags) {
    if (n > kMaxTracked - outstanding_) return Status::busy;
    // Allocate all slots first so a batch is all-or-nothing for the table.
    for (uint32_t k = 0; k < n; ++k) {
        uint32_t idx = free_hint_;
        while (slots_[idx].state != SlotState::free) idx = (idx + 1) % kMaxTracked;
        free_hint_ = (idx + 1) % kMaxTracked;
        Slot& s = slots_[idx];
        s.generation = (s.generation + 1) & kGenerationMask;
        s.state = SlotState::pending;
        outstanding_++;
        tags[k] = tag_of(idx);
        sqes[k].user_tag = tags[k];
    }
    uint32_t done = 0;
    Result<void> r = submit_counted(sqes, n, done);
    if (!r.ok()) {
        // Entries [0, done) are published and will complete normally; the rest
        // never reached the SQ, so their slots are released and tags zeroed.
        for (uint32_t k = done; k < n; ++k) {
            slots_[slot_of(tags[k])].state = SlotState::free;
            outstanding_--;
            tags[k] = 0;
        }
    }
    return r;
}

void Ring::file(const Cqe& cqe) {
    const uint32_t idx = slot_of(cqe.user_tag);
    if (idx == kMaxTracked) {
        stats_.untracked++;
        if (untracked_fn_ != nullptr) untracked_fn_(untracked_ctx_, cqe);
        return;
    }
    Slot& s = slots_[idx];
    if (s.state == SlotState::abandoned) {
        s.state = SlotState::free;
        outstanding_--;
        return;
    }
    if (s.state != SlotState::pending) {
        // A second completion for one tag: the kernel never does this; treat it
        // like a foreign tag rather than overwrite the first.
        stats_.untracked++;
        if (untracked_fn_ != nullptr) untracked_fn_(untracked_ctx_, cqe);
        return;
    }
    s.cqe = cqe;
    s.state = SlotState::done;
}

uint32_t Ring::reap() {
    uint32_t n = 0;
    Cqe c;
    while (pop(c)) {
        file(c);
        n++;
    }
    return n;
}

bool Ring::poll(uint64_t tag, Cqe& out) {
    const uint32_t idx = slot_of(tag);
    if (idx == kMaxTracked) return false;
    Slot& s = slots_[idx];
    if (s.state != SlotState::done) {
        reap();
        if (s.state != SlotState::done) return false;
    }
    out = s.cqe;
    s.state = SlotState::free;
    outstanding_--;
    return true;
}

Result<Cqe> Ring::wait(uint64_t tag, uint64_t timeout_ns) {
    const uint32_t idx = slot_of(tag);
    if (idx == kMaxTracked || slots_[idx].state == SlotState::abandoned) return Status::invalid_argument;
    Cqe out;
    for (;;) {
        if (poll(tag, out)) return out;
        // Everything posted so far has been reaped, so min_complete = 1 waits
        // for a new completion (or flushes a parked one).
        const int64_t r = enter(1, timeout_ns);
        if (r >= 0 || r == static_cast<int64_t>(Status::overflow)) continue;
        if (r == static_cast<int64_t>(Status::timeout)) {
            if (poll(tag, out)) return out;
            return Status::timeout;
        }
        return static_cast<Status>(r);
    }
}

void Ring::abandon(uint64_t tag) {
    const uint32_t idx = slot_of(tag);
    if (idx == kMaxTracked) return;
    Slot& s = slots_[idx];
    if (s.state == SlotState::done) {
        s.state = SlotState::free;
        outstanding_--;
    } else if (s.state == SlotState::pending) {
        s.state = SlotState::abandoned;
    }
}

Result<Cqe> Ring::call_lean(const CallArgs& a, uint64_t timeout_ns) {
    // No tracked operation is outstanding, so every slot is free: take the
    // hint slot, write the entry straight into the SQ, and reap directly.
    Sqe* e = reserve();
    const uint32_t idx = free_hint_;
    free_hint_ = (idx + 1) % kMaxTracked;
    Slot& s = slots_[idx];
    s.generation = (s.generation + 1) & kGenerationMask;
    s.state = SlotState::pending;
    outstanding_++;
    const uint64_t tag = tag_of(idx);
    e->user_tag = tag;
    e->interface_id = a.method.interface_id;
    e->cap = a.cap;
    e->method = a.method.ordinal;
    e->flags = a.flags;
    e->caps_in_count = a.caps_in;
    e->caps_out_max = a.caps_out_max;
    e->params_addr = reinterpret_cast<uint64_t>(a.params);
    e->params_len = a.params_len;
    e->result_len_max = a.result_max;
    e->result_addr = reinterpret_cast<uint64_t>(a.result);
    e->caps_addr = reinterpret_cast<uint64_t>(a.caps);
    publish();
    for (;;) {
        const int64_t r = enter(1, timeout_ns);
        Cqe c;
        while (pop(c)) file(c);
        if (s.state == SlotState::done) {
            s.state = SlotState::free;
            outstanding_--;
            if (s.cqe.status != 0) return static_cast<Status>(s.cqe.status);
            return s.cqe;
        }
        if (r >= 0 || r == static_cast<int64_t>(Status::overflow)) continue;
        if (r == static_cast<int64_t>(Status::timeout)) abandon(tag);
        return static_cast<Status>(r);
    }
}

Result<void> Ring::nop() {
    static_assert((kNopTag & kTrackedTagBit) != 0 && static_cast<uint32_t>(kNopTag) >= kMaxTracked);
    if (outstanding_ != 0 || local_tail_ - cached_sq_head_ >= sq_entries_) {
        CallArgs a;
        a.method = iface::Method{capos::abi::kInterfaceKernelRing, capos::abi::kMethodNop};
        Result<Cqe> c = call(a);
        return c.ok() ? ok() : Result<void>(c.status());
    }
    // Nothing else outstanding: the NOP's completion is the one we wait for,
    // and any other completion (an untracked tag) goes where file() sends it.
    Sqe* e = reserve();
    e->user_tag = kNopTag;
    e->interface_id = capos::abi::kInterfaceKernelRing;
    e->cap = capos::abi::kNullCap;
    e->method = capos::abi::kMethodNop;
    e->flags = 0;
    publish();
    for (;;) {
        const int64_t r = enter(1, kTimeoutInfinite);
        Cqe c;
        bool done = false;
        int32_t status = 0;
        while (pop(c)) {
            if (c.user_tag == kNopTag && !done) {
                done = true;
                status = c.status;
            } else {
                file(c);
            }
        }
        if (done) return status == 0 ? ok() : Result<void>(static_cast<Status>(status));
        if (r >= 0 || r == static_cast<int64_t>(Status::overflow)) continue;
        return static_cast<Status>(r);
    }
}

Result<Cqe> Ring::call(const CallArgs& a, uint64_t timeout_ns) {
    // Lean path for the common synchronous case: nothing else tracked and
    // room in the SQ (the general path copies the entry three times and
    // re-looks-up the tag on every step).
    if (outstanding_ == 0 && local_tail_ - cached_sq_head_ < sq_entries_) return call_lean(a, timeout_ns);
    Result<uint64_t> tag = start(make_sqe(a));
    if (!tag.ok()) return tag.status();
    Result<Cqe> c = wait(tag.value(), timeout_ns);
    if (!c.ok()) {
        // Do not leak the tracked slot; see abandon() for the buffer caveat.
        if (c.status() == Status::timeout) abandon(tag.value());
        return c;
    }
    if (c.value().status != 0) return static_cast<Status>(c.value().status);
    return c;
}

}  // namespace cap
