// heap.h - kernel heap: power-of-two size classes carved from 64 KiB chunks,
// larger blocks as whole pages, all memory obtained through a backend callback.
//
// Small blocks (16..2048 bytes) come from chunks of kChunkSize bytes, each
// aligned to kChunkSize, whose first bytes hold a header (class, free list,
// an allocated-bit per block). A block of class 2^k is aligned to 2^k, so an
// alignment request up to 2048 is met by picking the class. Larger or more
// strictly aligned requests map whole pages. Every chunk and large block is
// recorded in a small hash table keyed by its base address, so free() of a
// pointer the heap never handed out is detected without touching memory
// outside what the heap owns; double frees of small blocks are caught by the
// allocated bit, of large blocks by the table.
//
// Concurrency: none inside; the caller holds the heap's lock around every
// call (the kernel wraps it in a SpinLock). The backend is called with that
// lock held, so it must not allocate from this heap.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"

namespace kern {

struct HeapBackend {
    // Returns `bytes` (a multiple of 4096) of writable memory aligned to `align`
    // (a power of two >= 4096: kChunkSize for chunks, the caller's alignment
    // for large blocks), or nullptr when out of memory. In the kernel: frames
    // from FrameAllocator::alloc_contiguous seen through the direct map.
    void* (*map)(void* ctx, size_t bytes, size_t align);
    // Gives back exactly a range map() returned.
    void (*unmap)(void* ctx, void* base, size_t bytes);
    void* ctx;
};

struct HeapStats {
    size_t bytes_in_use;  // block bytes handed out (rounded to class / pages)
    size_t allocations;   // live allocations
    size_t bytes_mapped;  // memory held from the backend (chunks, large, table)
    size_t chunks;        // small-block chunks held
    size_t large_blocks;  // live large allocations
    size_t alloc_calls;
    size_t free_calls;
    size_t failed_allocs;   // allocs that returned an error
    size_t rejected_frees;  // frees that returned an error
};

class Heap {
public:
    static constexpr size_t kChunkSize = 64 * 1024;
    static constexpr size_t kPageSize = 4096;
    static constexpr size_t kMinBlock = 16;
    static constexpr size_t kMaxSmall = 2048;
    static constexpr unsigned kClasses = 8;  // 16, 32, ..., 2048

    constexpr Heap() = default;
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;

    // Sets the backend. Errors: invalid_argument (null map/unmap), exists
    // (already initialised).
    Result<void> init(const HeapBackend& backend);

    // A block of at least `size` bytes aligned to `align` (a power of two; 0
    // means the default 16). size 0 gets a unique 16-byte block.
    // Errors: invalid_argument (align not a power of two, not initialised),
    // overflow (size too large to round), out_of_memory (backend refused).
    Result<void*> alloc(size_t size, size_t align = kMinBlock);

    // Frees a block from alloc(). Errors: invalid_argument (null), not_owned (a
    // pointer this heap did not hand out, including interior pointers),
    // double_free (a small block already free). Nothing changes on error.
    Result<void> free(void* p);

    // Usable size of a live block (class size or page-rounded size).
    // Errors as free(), without changing anything.
    Result<size_t> usable_size(const void* p) const;

    HeapStats stats() const { return stats_; }

    // Walks every chunk and compares free lists, bits and counters; for tests
    // and debug builds. Errors: malformed (an inconsistency).
    Result<void> check() const;

private:
    struct Chunk;
    struct Slot {
        uintptr_t key;    // base address; 0 = empty
        uintptr_t value;  // small: 0; large: byte size
    };
    struct ClassList {
        Chunk* partial = nullptr;  // chunks with at least one free block
    };

    Result<void*> alloc_small(unsigned cls);
    Result<void*> alloc_large(size_t size, size_t align);
    Result<Chunk*> new_chunk(unsigned cls);
    void release_chunk(Chunk* c);
    Result<Chunk*> find_small(const void* p, size_t* index) const;

    // Registry (open addressing, linear probing, backward-shift delete).
    Result<void> reg_insert(uintptr_t key, uintptr_t value);
    const Slot* reg_find(uintptr_t key) const;
    void reg_erase(uintptr_t key);
    Result<void> reg_grow();
    size_t reg_index(uintptr_t key) const;

    HeapBackend backend_ = {nullptr, nullptr, nullptr};
    bool initialised_ = false;
    ClassList classes_[kClasses] = {};
    Slot* table_ = nullptr;
    size_t table_cap_ = 0;  // power of two, or 0
    size_t table_used_ = 0;
    HeapStats stats_ = {};
};

}  // namespace kern
