// frame_allocator.cpp - physical 4 KiB frame allocator over a caller-placed bitmap.
#include "mm/frame_allocator.h"

namespace kern {
namespace {

constexpr uint64_t kAllOnes = ~uint64_t{0};

uint64_t align_down(uint64_t v) { return v & ~(kFrameSize - 1); }
// Saturates at the highest frame boundary instead of wrapping to 0.
uint64_t align_up(uint64_t v) {
    if (v > kAllOnes - (kFrameSize - 1)) return align_down(kAllOnes);
    return align_down(v + kFrameSize - 1);
}
// base + length without wrapping.
uint64_t range_end(const PhysRange& r) { return r.length > kAllOnes - r.base ? kAllOnes : r.base + r.length; }
size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

// Own popcount: __builtin_popcountll becomes a libgcc call without -mpopcnt,
// and the kernel links no libgcc.
unsigned popcount(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return static_cast<unsigned>((x * 0x0101010101010101ull) >> 56);
}

// Bits [lo, hi) of word-indexed map set to `value`.
void fill_range(uint64_t* map, size_t lo, size_t hi, bool value) {
    while (lo < hi) {
        const size_t w = lo / 64;
        const unsigned bit = static_cast<unsigned>(lo % 64);
        const size_t span = hi - lo < 64 - bit ? hi - lo : 64 - bit;
        const uint64_t mask = (span == 64 ? kAllOnes : ((uint64_t{1} << span) - 1)) << bit;
        if (value) map[w] |= mask;
        else map[w] &= ~mask;
        lo += span;
    }
}

}  // namespace

size_t FrameAllocator::storage_words(uint64_t phys_end) {
    const uint64_t frames = align_up(phys_end) >> kFrameShift;
    return 2 * static_cast<size_t>((frames + 63) / 64);
}

uint64_t FrameAllocator::usable_end(const PhysRange* usable, size_t n_usable) {
    uint64_t end = 0;
    for (size_t i = 0; i < n_usable; ++i) {
        const uint64_t e = align_down(range_end(usable[i]));
        if (e > end) end = e;
    }
    return end;
}

Result<uint64_t> FrameAllocator::place_storage(const PhysRange* usable, size_t n_usable, const PhysRange* reserved,
                                               size_t n_reserved, uint64_t bytes) {
    if (bytes == 0 || (n_usable != 0 && usable == nullptr) || (n_reserved != 0 && reserved == nullptr)) {
        return Error::invalid_argument;
    }
    bytes = align_up(bytes);
    bool found = false;
    uint64_t best = 0;
    for (size_t i = 0; i < n_usable; ++i) {
        const uint64_t end = align_down(range_end(usable[i]));
        uint64_t cand = align_up(usable[i].base);
        while (cand < end && end - cand >= bytes) {
            bool moved = false;
            for (size_t j = 0; j < n_reserved; ++j) {
                const uint64_t rb = reserved[j].base;
                const uint64_t re = range_end(reserved[j]);
                if (reserved[j].length != 0 && rb < cand + bytes && cand < re) {
                    cand = align_up(re);
                    moved = true;
                }
            }
            if (!moved) {
                if (!found || cand < best) best = cand;
                found = true;
                break;
            }
        }
    }
    if (!found) return Error::out_of_memory;
    return best;
}

Result<void> FrameAllocator::init(uint64_t* storage, size_t words, const PhysRange* usable, size_t n_usable,
                                  const PhysRange* reserved, size_t n_reserved) {
    if (initialised_) return Error::exists;
    if (storage == nullptr || words < 2 || (n_usable != 0 && usable == nullptr) ||
        (n_reserved != 0 && reserved == nullptr)) {
        return Error::invalid_argument;
    }
    const size_t per_map = words / 2;
    const uint64_t top_frame = usable_end(usable, n_usable) >> kFrameShift;
    const uint64_t reach = static_cast<uint64_t>(per_map) * 64;
    nframes_ = static_cast<size_t>(top_frame < reach ? top_frame : reach);
    words_ = (nframes_ + 63) / 64;
    usable_ = storage;
    free_ = storage + per_map;
    for (size_t w = 0; w < words_; ++w) usable_[w] = 0;

    for (size_t i = 0; i < n_usable; ++i) {
        const uint64_t lo = align_up(usable[i].base) >> kFrameShift;
        const uint64_t hi = align_down(range_end(usable[i])) >> kFrameShift;
        if (lo >= hi) continue;
        if (hi > nframes_) ignored_count_ += static_cast<size_t>(hi - (lo > nframes_ ? lo : nframes_));
        if (lo < nframes_)
            fill_range(usable_, static_cast<size_t>(lo), static_cast<size_t>(hi < nframes_ ? hi : nframes_), true);
    }
    for (size_t i = 0; i < n_reserved; ++i) {
        if (reserved[i].length == 0) continue;
        const uint64_t lo = align_down(reserved[i].base) >> kFrameShift;
        const uint64_t hi = align_up(range_end(reserved[i])) >> kFrameShift;
        if (lo < nframes_)
            fill_range(usable_, static_cast<size_t>(lo), static_cast<size_t>(hi < nframes_ ? hi : nframes_), false);
    }
    total_count_ = 0;
    for (size_t w = 0; w < words_; ++w) {
        free_[w] = usable_[w];
        total_count_ += popcount(usable_[w]);
    }
    free_count_ = total_count_;
    hint_ = 0;
    initialised_ = true;
    return ok();
}

Result<uint64_t> FrameAllocator::alloc() {
    for (size_t w = hint_; w < words_; ++w) {
        if (free_[w] != 0) {
            const unsigned bit = static_cast<unsigned>(__builtin_ctzll(free_[w]));
            free_[w] &= free_[w] - 1;  // clear lowest set bit
            hint_ = w;
            --free_count_;
            return static_cast<uint64_t>(w * 64 + bit) << kFrameShift;
        }
    }
    hint_ = words_;
    return Error::out_of_memory;
}

size_t FrameAllocator::next_free(size_t pfn) const {
    if (pfn >= nframes_) return nframes_;
    size_t w = pfn / 64;
    uint64_t bits = free_[w] & (kAllOnes << (pfn % 64));
    for (;;) {
        if (bits != 0) return w * 64 + static_cast<size_t>(__builtin_ctzll(bits));
        if (++w >= words_) return nframes_;
        bits = free_[w];
    }
}

Result<uint64_t> FrameAllocator::alloc_contiguous(size_t n, uint64_t align) {
    if (n == 0 || align < kFrameSize || (align & (align - 1)) != 0) return Error::invalid_argument;
    if (n > free_count_) return Error::out_of_memory;
    const uint64_t align_frames64 = align >> kFrameShift;
    // An alignment beyond the managed range can only be met by frame 0.
    const size_t af = align_frames64 > nframes_ ? nframes_ + 1 : static_cast<size_t>(align_frames64);
    size_t pfn = next_free(hint_ * 64);
    while (pfn < nframes_) {
        pfn = round_up(pfn, af);
        if (pfn >= nframes_ || nframes_ - pfn < n) break;
        // Find the first frame of [pfn, pfn + n) that is not free.
        size_t bad = pfn + n;
        for (size_t f = pfn; f < pfn + n;) {
            const size_t w = f / 64;
            const unsigned bit = static_cast<unsigned>(f % 64);
            const uint64_t used = ~free_[w] & (kAllOnes << bit);
            const size_t word_end = (w + 1) * 64;
            if (used != 0) {
                const size_t u = w * 64 + static_cast<size_t>(__builtin_ctzll(used));
                if (u < pfn + n) {
                    bad = u;
                    break;
                }
            }
            f = word_end;
        }
        if (bad == pfn + n) {
            fill_range(free_, pfn, pfn + n, false);
            free_count_ -= n;
            return static_cast<uint64_t>(pfn) << kFrameShift;
        }
        pfn = next_free(bad + 1);
    }
    return Error::out_of_memory;
}

Result<size_t> FrameAllocator::check_free(uint64_t pa) const {
    if (pa % kFrameSize != 0) return Error::misaligned;
    const uint64_t pfn = pa >> kFrameShift;
    if (pfn >= nframes_) return Error::out_of_range;
    if (!test(usable_, static_cast<size_t>(pfn))) return Error::not_owned;
    if (test(free_, static_cast<size_t>(pfn))) return Error::double_free;
    return static_cast<size_t>(pfn);
}

Result<void> FrameAllocator::free(uint64_t pa) {
    const size_t pfn = TRY(check_free(pa));
    set(free_, pfn);
    ++free_count_;
    if (pfn / 64 < hint_) hint_ = pfn / 64;
    return ok();
}

Result<void> FrameAllocator::free_contiguous(uint64_t pa, size_t n) {
    if (n == 0) return Error::invalid_argument;
    if (pa % kFrameSize != 0) return Error::misaligned;
    const uint64_t first = pa >> kFrameShift;
    if (first >= nframes_ || nframes_ - first < n) return Error::out_of_range;
    for (size_t i = 0; i < n; ++i) (void)TRY(check_free(pa + (static_cast<uint64_t>(i) << kFrameShift)));
    fill_range(free_, static_cast<size_t>(first), static_cast<size_t>(first) + n, true);
    free_count_ += n;
    if (first / 64 < hint_) hint_ = static_cast<size_t>(first / 64);
    return ok();
}

bool FrameAllocator::is_allocated(uint64_t pa) const {
    const uint64_t pfn = pa >> kFrameShift;
    return pfn < nframes_ && test(usable_, static_cast<size_t>(pfn)) && !test(free_, static_cast<size_t>(pfn));
}

bool FrameAllocator::is_usable(uint64_t pa) const {
    const uint64_t pfn = pa >> kFrameShift;
    return pfn < nframes_ && test(usable_, static_cast<size_t>(pfn));
}

}  // namespace kern
