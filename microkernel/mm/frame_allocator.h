// frame_allocator.h - physical 4 KiB frame allocator over a caller-placed bitmap.
//
// Two bitmaps of one bit per frame, from physical address 0 up to the end of
// the highest usable range: `usable` (this allocator manages the frame) and
// `free` (it may be handed out). free is always a subset of usable, so a free
// of a frame that was never usable, or is already free, is caught and
// reported instead of corrupting the state. The storage is the caller's:
// the kernel carves it from physical memory (see place_storage()) and passes
// a pointer through its direct map; host tests pass a vector.
//
// Concurrency: none inside. Every method that changes state requires the
// caller to hold the lock that protects this allocator (the kernel wraps it
// in a SpinLock); const methods need it too for a consistent answer.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"

namespace kern {

inline constexpr uint64_t kFrameSize = 4096;
inline constexpr unsigned kFrameShift = 12;

// Half-open physical range [base, base + length).
struct PhysRange {
    uint64_t base;
    uint64_t length;
};

class FrameAllocator {
public:
    // 64-bit words of storage needed to manage physical addresses below
    // `phys_end` (both bitmaps).
    static size_t storage_words(uint64_t phys_end);

    // Highest end address of `usable`, rounded down to a frame.
    static uint64_t usable_end(const PhysRange* usable, size_t n_usable);

    // Finds `bytes` of usable memory that overlaps no reserved range, 4 KiB
    // aligned, lowest address first. Used by the kernel to place the bitmap
    // storage; the caller then passes the returned range as reserved to init().
    // Errors: out_of_memory (no hole large enough), invalid_argument (bytes 0).
    static Result<uint64_t> place_storage(const PhysRange* usable, size_t n_usable, const PhysRange* reserved,
                                          size_t n_reserved, uint64_t bytes);

    // Manages every whole frame inside a usable range that overlaps no reserved
    // range (partial frames at range edges are dropped; reserved ranges are
    // widened to whole frames). Frames at or above what `words` of storage can
    // describe are ignored and counted in ignored_count().
    // Errors: invalid_argument (null storage with words > 0, null range list
    // with a non-zero count, storage too small for even one word per bitmap),
    // exists (init called twice).
    Result<void> init(uint64_t* storage, size_t words, const PhysRange* usable, size_t n_usable,
                      const PhysRange* reserved, size_t n_reserved);

    // One free frame, lowest address first from the search hint.
    // Errors: out_of_memory.
    Result<uint64_t> alloc();

    // `n` physically contiguous free frames starting at a multiple of `align`
    // bytes (a power of two, at least 4096).
    // Errors: invalid_argument (n == 0, bad align), out_of_memory.
    Result<uint64_t> alloc_contiguous(size_t n, uint64_t align);

    // Returns one frame. Errors: misaligned (pa not frame aligned), out_of_range
    // (above the managed range), not_owned (never usable: reserved or a hole),
    // double_free (already free). The state is unchanged on error.
    Result<void> free(uint64_t pa);

    // Returns `n` frames from pa; all-or-nothing: if any frame would fail as in
    // free(), nothing is freed and that frame's error is returned.
    Result<void> free_contiguous(uint64_t pa, size_t n);

    // Points the allocator at the same bitmap storage through another
    // mapping (the kernel moves from the boot map to the direct map). The
    // bitmap contents are not touched; `storage` must alias the old storage.
    void rebase_storage(uint64_t* storage) {
        free_ = storage + (free_ - usable_);
        usable_ = storage;
    }

    // True when pa's frame is managed and currently handed out.
    bool is_allocated(uint64_t pa) const;
    // True when pa's frame is managed (usable and not reserved).
    bool is_usable(uint64_t pa) const;

    size_t free_count() const { return free_count_; }
    size_t total_count() const { return total_count_; }
    // Usable frames beyond the storage's reach (not managed).
    size_t ignored_count() const { return ignored_count_; }
    // One past the highest frame address the bitmap can describe.
    uint64_t managed_end() const { return static_cast<uint64_t>(nframes_) << kFrameShift; }

private:
    bool test(const uint64_t* map, size_t pfn) const { return (map[pfn / 64] >> (pfn % 64)) & 1; }
    void set(uint64_t* map, size_t pfn) { map[pfn / 64] |= uint64_t{1} << (pfn % 64); }
    void clear(uint64_t* map, size_t pfn) { map[pfn / 64] &= ~(uint64_t{1} << (pfn % 64)); }
    Result<size_t> check_free(uint64_t pa) const;
    // First free frame at or after pfn, or nframes_.
    size_t next_free(size_t pfn) const;

    uint64_t* usable_ = nullptr;
    uint64_t* free_ = nullptr;
    size_t words_ = 0;    // per bitmap
    size_t nframes_ = 0;  // frames the bitmaps describe
    size_t hint_ = 0;     // no free frame lives in a word below this one
    size_t free_count_ = 0;
    size_t total_count_ = 0;
    size_t ignored_count_ = 0;
    bool initialised_ = false;
};

}  // namespace kern
