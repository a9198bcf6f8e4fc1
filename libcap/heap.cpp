// heap.cpp - the user heap: size classes, large page runs, a spin lock, and the process-wide instance.
#include "libcap/heap.h"

namespace cap {

namespace {

constexpr uint32_t kLiveMagic = 0xa110c8edu;
constexpr uint32_t kFreeMagic = 0xf4eeb10cu;
constexpr uint32_t kAlignedMagic = 0xa1196eedu;  // shim before an over-aligned block
constexpr uint16_t kLargeClass = 0xffff;
constexpr size_t kPage = 4096;

// Usable sizes of the small classes; each is a multiple of 16 so that
// header + block strides keep every block 16-byte aligned.
constexpr size_t kClassSizes[Heap::kClassCount] = {16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048};

// 16 bytes in front of every block.
struct Header {
    uint32_t magic;
    uint16_t cls;  // size class, or kLargeClass
    uint16_t reserved;
    uint64_t size;  // usable bytes (small: class size; large: run - header); shim: offset back
};
static_assert(sizeof(Header) == 16);

Header* header_of(const void* p) { return reinterpret_cast<Header*>(reinterpret_cast<uintptr_t>(p) - sizeof(Header)); }

size_t round_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

}  // namespace

// ---- backing / lock ---------------------------------------------------------

ArenaBacking::ArenaBacking(void* base, size_t size) {
    // Trim to whole pages so every grow() result is page-aligned.
    const uintptr_t b = reinterpret_cast<uintptr_t>(base);
    const uintptr_t aligned = round_up(b, kPage);
    base_ = reinterpret_cast<unsigned char*>(aligned);
    size_ = size > aligned - b ? (size - (aligned - b)) & ~(kPage - 1) : 0;
}

void* ArenaBacking::grow_thunk(void* ctx, size_t bytes) {
    auto* a = static_cast<ArenaBacking*>(ctx);
    if (bytes > a->size_ - a->used_) return nullptr;
    void* p = a->base_ + a->used_;
    a->used_ += bytes;
    return p;
}

void SpinLock::lock() CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    for (;;) {
        if (__atomic_exchange_n(&locked_, 1u, __ATOMIC_ACQUIRE) == 0) return;
        while (__atomic_load_n(&locked_, __ATOMIC_RELAXED) != 0) __builtin_ia32_pause();
    }
}

// ---- Heap ---------------------------------------------------------------------

uint32_t Heap::class_of(size_t size) {
    for (uint32_t c = 0; c < kClassCount; ++c)
        if (size <= kClassSizes[c]) return c;
    return kClassCount;
}

size_t Heap::class_size(uint32_t cls) { return cls < kClassCount ? kClassSizes[cls] : 0; }

void Heap::set_backing(HeapBacking b) {
    lock_.lock();
    backing_ = b;
    chunk_cur_ = nullptr;  // the old chunk's tail is simply abandoned
    chunk_left_ = 0;
    lock_.unlock();
}

bool Heap::refill_locked(uint32_t cls) {
    const size_t stride = sizeof(Header) + kClassSizes[cls];
    if (chunk_left_ < stride) {
        if (backing_.grow == nullptr) return false;
        void* c = backing_.grow(backing_.ctx, kChunk);
        if (c == nullptr) return false;
        stats_.backing_bytes += kChunk;
        chunk_cur_ = static_cast<unsigned char*>(c);
        chunk_left_ = kChunk;
    }
    // Carve a handful of blocks at once (at least one); the rest of the
    // chunk stays for other classes.
    size_t n = chunk_left_ / stride;
    if (n > 16) n = 16;
    for (size_t i = 0; i < n; ++i) {
        auto* h = reinterpret_cast<Header*>(chunk_cur_);
        h->magic = kFreeMagic;
        h->cls = static_cast<uint16_t>(cls);
        h->reserved = 0;
        h->size = kClassSizes[cls];
        auto* fb = reinterpret_cast<FreeBlock*>(chunk_cur_ + sizeof(Header));
        fb->next = free_[cls];
        free_[cls] = fb;
        chunk_cur_ += stride;
        chunk_left_ -= stride;
    }
    return true;
}

void* Heap::alloc_large_locked(size_t size) {
    if (size > (size_t{1} << 46)) return nullptr;  // no user range is that large
    const size_t need = round_up(size + sizeof(Header), kPage);
    Run** link = &runs_;
    unsigned char* mem = nullptr;
    size_t bytes = 0;
    for (Run* r = runs_; r != nullptr; link = &r->next, r = r->next) {
        if (r->bytes >= need) {
            *link = r->next;
            mem = reinterpret_cast<unsigned char*>(r);
            bytes = r->bytes;
            if (bytes - need >= kPage) {  // split: keep the tail on the list
                auto* tail = reinterpret_cast<Run*>(mem + need);
                tail->bytes = bytes - need;
                tail->next = runs_;
                runs_ = tail;
                bytes = need;
            }
            break;
        }
    }
    if (mem == nullptr) {
        if (backing_.grow == nullptr) return nullptr;
        mem = static_cast<unsigned char*>(backing_.grow(backing_.ctx, need));
        if (mem == nullptr) return nullptr;
        stats_.backing_bytes += need;
        bytes = need;
    }
    auto* h = reinterpret_cast<Header*>(mem);
    h->magic = kLiveMagic;
    h->cls = kLargeClass;
    h->reserved = 0;
    h->size = bytes - sizeof(Header);
    return mem + sizeof(Header);
}

void* Heap::alloc_locked(size_t size) {
    if (size == 0) return nullptr;
    void* p = nullptr;
    const uint32_t cls = class_of(size);
    if (cls < kClassCount) {
        if (free_[cls] == nullptr && !refill_locked(cls)) return nullptr;
        FreeBlock* b = free_[cls];
        free_[cls] = b->next;
        Header* h = header_of(b);
        if (h->magic != kFreeMagic) __builtin_trap();  // free list corrupted (use after free?)
        h->magic = kLiveMagic;
        p = b;
    } else {
        p = alloc_large_locked(size);
        if (p == nullptr) return nullptr;
    }
    stats_.live_blocks++;
    stats_.live_bytes += header_of(p)->size;
    return p;
}

void Heap::free_locked(void* p) {
    Header* h = header_of(p);
    if (h->magic == kAlignedMagic) {
        p = static_cast<unsigned char*>(p) - h->size;
        h = header_of(p);
    }
    if (h->magic != kLiveMagic) __builtin_trap();  // double free or foreign pointer
    stats_.live_blocks--;
    stats_.live_bytes -= h->size;
    if (h->cls == kLargeClass) {
        h->magic = kFreeMagic;
        auto* r = reinterpret_cast<Run*>(h);
        r->bytes = h->size + sizeof(Header);
        r->next = runs_;
        runs_ = r;
        return;
    }
    if (h->cls >= kClassCount) __builtin_trap();
    h->magic = kFreeMagic;
    auto* fb = static_cast<FreeBlock*>(p);
    fb->next = free_[h->cls];
    free_[h->cls] = fb;
}

void* Heap::alloc(size_t size) {
    lock_.lock();
    void* p = alloc_locked(size);
    if (p == nullptr) stats_.failed++;
    lock_.unlock();
    return p;
}

void* Heap::alloc_aligned(size_t align, size_t size) {
    if (align <= kAlign) return alloc(size);
    if ((align & (align - 1)) != 0 || align > kPage || size == 0) return nullptr;
    void* raw = alloc(size + align);
    if (raw == nullptr) return nullptr;
    const uintptr_t r = reinterpret_cast<uintptr_t>(raw);
    if ((r & (align - 1)) == 0) return raw;
    // raw is 16-aligned and align > 16, so the aligned address is at least
    // 16 bytes in: room for the shim header that leads free() back to raw.
    const uintptr_t a = round_up(r, align);
    auto* shim = reinterpret_cast<Header*>(a - sizeof(Header));
    shim->magic = kAlignedMagic;
    shim->cls = 0;
    shim->reserved = 0;
    shim->size = a - r;
    return reinterpret_cast<void*>(a);
}

void* Heap::alloc_zeroed(size_t count, size_t size) {
    if (size != 0 && count > ~size_t{0} / size) return nullptr;
    const size_t n = count * size;
    void* p = alloc(n);
    if (p != nullptr) __builtin_memset(p, 0, n);
    return p;
}

size_t Heap::usable_size(const void* p) const {
    if (p == nullptr) return 0;
    const Header* h = header_of(p);
    if (h->magic == kAlignedMagic) {
        const size_t off = h->size;
        const void* raw = static_cast<const unsigned char*>(p) - off;
        return header_of(raw)->size - off;
    }
    return h->size;
}

void* Heap::realloc(void* p, size_t size) {
    if (p == nullptr) return alloc(size);
    if (size == 0) {
        free(p);
        return nullptr;
    }
    const size_t have = usable_size(p);
    if (size <= have) return p;
    void* q = alloc(size);
    if (q == nullptr) return nullptr;  // the old block stays valid (C semantics)
    __builtin_memcpy(q, p, have);
    free(p);
    return q;
}

void Heap::free(void* p) {
    if (p == nullptr) return;
    lock_.lock();
    free_locked(p);
    lock_.unlock();
}

Heap::Stats Heap::stats() {
    lock_.lock();
    Stats s = stats_;
    lock_.unlock();
    return s;
}

// ---- the process-wide heap -----------------------------------------------------

namespace {

alignas(4096) unsigned char g_arena[kDefaultArenaBytes];
size_t g_arena_used = 0;   // only touched under the global heap's lock
HeapBacking g_fallback{};  // likewise

void* default_arena_grow(void*, size_t bytes) {
    if (bytes > kDefaultArenaBytes - g_arena_used)
        return g_fallback.grow != nullptr ? g_fallback.grow(g_fallback.ctx, bytes) : nullptr;
    void* p = g_arena + g_arena_used;
    g_arena_used += bytes;
    return p;
}

// constinit: malloc may run in global constructors, before any dynamic
// initialisation, so the heap must be usable from the first instruction.
constinit Heap g_heap{HeapBacking{&default_arena_grow, nullptr}};

}  // namespace

Heap& global_heap() { return g_heap; }

void set_global_heap_fallback(HeapBacking b) {
    // Start-up only (one thread), so no lock: grow() runs under the heap lock
    // of later allocations, which happen after this store.
    g_fallback = b;
}

}  // namespace cap
