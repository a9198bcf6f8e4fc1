// heap.h - the user heap: size-class free lists over memory from a pluggable backing, behind a spin lock.
//
// Small blocks (<= kMaxSmall bytes) come from per-size-class free lists
// carved out of 64 KiB chunks; larger blocks are whole page runs with a
// header, kept on a first-fit free list when freed (never returned to the
// backing: the heap only grows). Every block is 16-byte aligned; a block's
// 16-byte header records its class (or run size) so free() needs no size.
//
// The backing is the only thing that knows where memory comes from:
//  - ArenaBacking: a fixed static arena (the default until the kernel can
//    map memory; also what host tests use);
//  - libcap's MemoryObjectBacking (runtime.cpp): Process.allocate +
//    Process.map at increasing addresses in [kUserHeapBase, kUserHeapEnd).
// Thread safety: one spin lock per Heap (test-and-test-and-set with pause);
// allocation is not a hot path in capOS servers (rings and messages use
// caller buffers), so a lock per size class is not worth its complexity.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/sync/thread_safety.h"

namespace cap {

// Where heap memory comes from. grow() returns `bytes` (a multiple of
// 4096) of fresh zeroed-or-not memory, 4096-aligned, or nullptr when out of
// memory. Memory is never given back.
struct HeapBacking {
    void* (*grow)(void* ctx, size_t bytes);
    void* ctx;
};

// A bump allocator over one caller-provided buffer.
class ArenaBacking {
public:
    ArenaBacking(void* base, size_t size);
    HeapBacking backing() { return HeapBacking{&ArenaBacking::grow_thunk, this}; }
    size_t used() const { return used_; }
    size_t size() const { return size_; }

private:
    static void* grow_thunk(void* ctx, size_t bytes);
    unsigned char* base_;
    size_t size_;
    size_t used_ = 0;
};

class CAPOS_CAPABILITY("spinlock") SpinLock {
public:
    void lock() CAPOS_ACQUIRE();
    void unlock() CAPOS_RELEASE() { __atomic_store_n(&locked_, 0u, __ATOMIC_RELEASE); }

private:
    uint32_t locked_ = 0;
};

class Heap {
public:
    static constexpr size_t kAlign = 16;
    static constexpr size_t kMaxSmall = 2048;
    static constexpr size_t kChunk = 64 * 1024;
    static constexpr uint32_t kClassCount = 14;

    struct Stats {
        size_t backing_bytes = 0;  // obtained from the backing
        size_t live_blocks = 0;    // allocated and not freed
        size_t live_bytes = 0;     // requested bytes of live blocks
        size_t failed = 0;         // allocations that returned null
    };

    constexpr Heap() = default;
    explicit constexpr Heap(HeapBacking b) : backing_(b) {}
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;

    void set_backing(HeapBacking b);
    bool has_backing() const { return backing_.grow != nullptr; }

    // malloc semantics: nullptr on failure or for size 0 (so every non-null
    // block can be freed). Aligned to kAlign.
    void* alloc(size_t size);
    // Alignment up to 4096 (power of two); larger alignments fail.
    void* alloc_aligned(size_t align, size_t size);
    void* alloc_zeroed(size_t count, size_t size);
    void* realloc(void* p, size_t size);
    // free(nullptr) is a no-op. Freeing a pointer this heap did not hand out,
    // or freeing twice, is detected where the header shows it and traps.
    void free(void* p);
    // Usable bytes of a live block.
    size_t usable_size(const void* p) const;

    Stats stats();

    // The size class index for `size` (<= kMaxSmall), and its block size.
    static uint32_t class_of(size_t size);
    static size_t class_size(uint32_t cls);

private:
    struct FreeBlock {
        FreeBlock* next;
    };
    struct Run {  // a free large run
        Run* next;
        size_t bytes;  // whole run incl. header
    };

    void* alloc_locked(size_t size) CAPOS_REQUIRES(lock_);
    void free_locked(void* p) CAPOS_REQUIRES(lock_);
    bool refill_locked(uint32_t cls) CAPOS_REQUIRES(lock_);
    void* alloc_large_locked(size_t size) CAPOS_REQUIRES(lock_);

    HeapBacking backing_{};
    SpinLock lock_{};
    FreeBlock* free_[kClassCount] CAPOS_GUARDED_BY(lock_) = {};
    Run* runs_ CAPOS_GUARDED_BY(lock_) = nullptr;
    unsigned char* chunk_cur_ CAPOS_GUARDED_BY(lock_) = nullptr;  // unused tail of the current small chunk
    size_t chunk_left_ CAPOS_GUARDED_BY(lock_) = 0;
    Stats stats_ CAPOS_GUARDED_BY(lock_){};
};

// The process-wide heap behind malloc/new. Starts on a static arena of
// kDefaultArenaBytes; runtime start-up may switch it to MemoryObject backing.
Heap& global_heap();
// Where the global heap's static arena turns to when it is exhausted
// (runtime start-up installs MemoryObject backing here).
void set_global_heap_fallback(HeapBacking b);
inline constexpr size_t kDefaultArenaBytes = 1024 * 1024;

}  // namespace cap
