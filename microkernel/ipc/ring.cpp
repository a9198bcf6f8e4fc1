// ring.cpp - kernel side of a per-thread capability ring.
#include "ipc/ring.h"

namespace kern {

namespace abi = capos::abi;

namespace {

// Shared-memory accessors. The user may write any of these fields at any
// time from another CPU, so every access is an atomic one (relaxed unless
// it publishes or observes an index) and each field is read once.
template <class T>
T shared_load(const T* p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
template <class T>
void shared_store(T* p, T v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
void store_release(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

}  // namespace

abi::Status to_status(Error e) {
    switch (e) {
        case Error::none:
            return abi::Status::ok;
        case Error::invalid_argument:
            return abi::Status::invalid_argument;
        case Error::out_of_memory:
            return abi::Status::no_memory;
        case Error::malformed:
            return abi::Status::malformed_message;
        case Error::truncated:
            return abi::Status::malformed_message;
        case Error::out_of_range:
            return abi::Status::invalid_argument;
        case Error::misaligned:
            return abi::Status::invalid_argument;
        case Error::overflow:
            return abi::Status::invalid_argument;
        case Error::not_found:
            return abi::Status::invalid_argument;
        case Error::exists:
            return abi::Status::invalid_argument;
        case Error::busy:
            return abi::Status::busy;
        case Error::unsupported:
            return abi::Status::not_supported;
        case Error::capacity:
            return abi::Status::no_memory;
        case Error::invalid_slot:
            return abi::Status::invalid_slot;
        case Error::stale_slot:
            return abi::Status::stale_slot;
        case Error::no_rights:
            return abi::Status::rights;
        case Error::quota:
            return abi::Status::quota_exceeded;
        case Error::bad_ring:
            return abi::Status::bad_ring;
        case Error::bad_pointer:
            return abi::Status::bad_pointer;
        case Error::bad_checksum:
        case Error::double_free:
        case Error::not_owned:
            return abi::Status::internal;
    }
    return abi::Status::internal;
}

Result<void> KernelRing::init(void* mem, size_t mem_size, uint32_t sq_entries, uint32_t cq_entries, Cqe* overflow,
                              uint32_t overflow_capacity, uint32_t first_index) {
    if (mem == nullptr || (reinterpret_cast<uintptr_t>(mem) & 63) != 0) return Error::invalid_argument;
    if (!abi::is_pow2(sq_entries) || sq_entries > abi::kRingMaxSqEntries) return Error::invalid_argument;
    if (!abi::is_pow2(cq_entries) || cq_entries > abi::kRingMaxCqEntries) return Error::invalid_argument;
    if (overflow_capacity != 0 && overflow == nullptr) return Error::invalid_argument;
    const uint32_t size = abi::ring_size(sq_entries, cq_entries);
    if (mem_size < size) return Error::truncated;

    auto* base = static_cast<unsigned char*>(mem);
    hdr_ = reinterpret_cast<abi::RingHeader*>(base);
    sqes_ = reinterpret_cast<Sqe*>(base + abi::ring_sq_offset());
    cqes_ = reinterpret_cast<Cqe*>(base + abi::ring_cq_offset(sq_entries));
    sq_entries_ = sq_entries;
    sq_mask_ = sq_entries - 1;
    cq_entries_ = cq_entries;
    cq_mask_ = cq_entries - 1;
    sq_head_ = first_index;
    cq_tail_ = first_index;
    cq_head_seen_ = first_index;
    in_flight_ = 0;
    flags_ = 0;
    overflow_ = overflow;
    overflow_capacity_ = overflow_capacity;
    parked_head_ = 0;
    parked_count_ = 0;
    counters_ = Counters{};

    // The region is fresh (not yet mapped to the user), so plain stores are fine.
    *hdr_ = abi::RingHeader{};
    hdr_->magic = abi::kRingMagic;
    hdr_->version = abi::kRingVersion;
    hdr_->sq_entries = sq_entries;
    hdr_->sq_mask = sq_mask_;
    hdr_->cq_entries = cq_entries;
    hdr_->cq_mask = cq_mask_;
    hdr_->sq_offset = abi::ring_sq_offset();
    hdr_->cq_offset = abi::ring_cq_offset(sq_entries);
    hdr_->ring_size = size;
    hdr_->sq_tail = first_index;
    hdr_->cq_head = first_index;
    hdr_->sq_head = first_index;
    hdr_->cq_tail = first_index;
    return ok();
}

void KernelRing::publish_flags() {
    shared_store(&hdr_->flags, flags_);
    shared_store(&hdr_->cq_parked, parked_count_);
}

Result<uint32_t> KernelRing::sq_pending_slow(uint32_t pending) {
    if (pending > sq_entries_) {
        counters_.bad_sq_tail++;
        flags_ |= abi::kRingFlagCorrupt;
        publish_flags();
        return Error::bad_ring;
    }
    // A good tail after a bad one: the flag goes again.
    flags_ &= ~abi::kRingFlagCorrupt;
    publish_flags();
    return pending;
}

Result<uint32_t> KernelRing::consume(Sqe* out, uint32_t max) {
    const uint32_t pending = TRY(sq_pending());
    refresh_cq_head();
    // Completion places not yet promised to an in-flight submission.
    const uint64_t places = uint64_t{cq_free()} + (overflow_capacity_ - parked_count_);
    const uint64_t credit = places > in_flight_ ? places - in_flight_ : 0;

    uint32_t n = pending < max ? pending : max;
    bool starved = false;
    if (n > credit) {
        n = static_cast<uint32_t>(credit);
        starved = true;
    }

    for (uint32_t i = 0; i < n; i++) {
        // The private mask bounds the index whatever the user wrote.
        const Sqe* src = &sqes_[(sq_head_ + i) & sq_mask_];
        Sqe& dst = out[i];
        dst.user_tag = shared_load(&src->user_tag);
        dst.interface_id = shared_load(&src->interface_id);
        dst.cap = shared_load(&src->cap);
        dst.method = shared_load(&src->method);
        dst.flags = shared_load(&src->flags);
        dst.caps_in_count = shared_load(&src->caps_in_count);
        dst.caps_out_max = shared_load(&src->caps_out_max);
        dst.params_addr = shared_load(&src->params_addr);
        dst.params_len = shared_load(&src->params_len);
        dst.result_len_max = shared_load(&src->result_len_max);
        dst.result_addr = shared_load(&src->result_addr);
        dst.caps_addr = shared_load(&src->caps_addr);
    }
    sq_head_ += n;
    in_flight_ += n;
    counters_.sq_consumed += n;
    // Release: our reads of the entries happen before the user may reuse them.
    store_release(&hdr_->sq_head, sq_head_);
    __atomic_store_n(&hdr_->sq_consumed_total, counters_.sq_consumed, __ATOMIC_RELAXED);

    const uint32_t old_flags = flags_;
    if (starved) {
        counters_.backpressure++;
        flags_ |= abi::kRingFlagBackpressure;
    } else {
        flags_ &= ~abi::kRingFlagBackpressure;
    }
    if (flags_ != old_flags) publish_flags();
    return n;
}

uint32_t KernelRing::flush_overflow_slow() {
    refresh_cq_head();
    uint32_t moved = 0;
    while (parked_count_ > 0 && cq_free() > 0) {
        write_cqe(overflow_[parked_head_]);
        parked_head_ = parked_head_ + 1 == overflow_capacity_ ? 0 : parked_head_ + 1;
        parked_count_--;
        moved++;
    }
    if (parked_count_ == 0) flags_ &= ~abi::kRingFlagCqOverflow;
    publish_flags();
    return moved;
}

void KernelRing::post_slow(const Cqe& cqe) {
    // A post without a reservation would break the never-drop guarantee.
    if (in_flight_ == 0) __builtin_trap();
    in_flight_--;
    if (parked_count_ > 0) flush_overflow();
    if (parked_count_ == 0) {
        refresh_cq_head();
        if (cq_free() > 0) {
            write_cqe(cqe);
            return;
        }
    }
    // The reservation guarantees room here: in_flight + 1 <= cq_free + overflow_free.
    if (parked_count_ >= overflow_capacity_) __builtin_trap();
    uint32_t slot = parked_head_ + parked_count_;
    if (slot >= overflow_capacity_) slot -= overflow_capacity_;
    overflow_[slot] = cqe;
    overflow_[slot].flags = static_cast<uint16_t>(overflow_[slot].flags | abi::kCqeFlagOverflowed);
    parked_count_++;
    counters_.overflow_parked++;
    __atomic_store_n(&hdr_->cq_overflow_total, counters_.overflow_parked, __ATOMIC_RELAXED);
    flags_ |= abi::kRingFlagCqOverflow;
    publish_flags();
}

}  // namespace kern
