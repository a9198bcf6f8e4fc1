// kheap.cpp: kernel heap glue. Backing memory comes from contiguous frames
// reached through the direct map; the heap's own logic is mm/heap (host-
// tested). One lock for now: allocation is not on a dispatch hot path (its
// contention is reported by KernelStats as lock "kheap").
#include "mm/kheap.h"

#include <new>

#include "arch/interface/paging.h"
#include "mm/frames.h"
#include "debug/fault_inject.h"
#include "ktest/ktest.h"
#include "debug/panic.h"
#include "cpu/spinlock.h"

namespace kern {
namespace {
// Interrupts off while held (a kfree from an interrupt path must not find
// the heap taken by the code it interrupted). A SpinLock, so the heap gets
// the owner/site report, the hold limit, the rank check and the KernelStats
// contention figures like every other shared lock.
SpinLockIrq g_heap_lock{LockRank::heap, "kheap"};
Heap g_heap CAPOS_GUARDED_BY(g_heap_lock);
using HeapGuard = LockGuard<SpinLockIrq>;

void* backend_map(void*, size_t bytes, size_t align) {
    size_t pages = (bytes + 4095) / 4096;
    uint64_t a = align < 4096 ? 4096 : align;
    auto r = frame_alloc_contiguous(pages, a);  // lock order: heap lock, then frames lock
    if (!r.ok()) return nullptr;
    return arch::phys_to_virt(r.value());
}

void backend_unmap(void*, void* base, size_t bytes) {
    size_t pages = (bytes + 4095) / 4096;
    frame_free_contiguous(arch::virt_to_phys(base), pages);
}
}  // namespace

void kheap_init() {
    HeapBackend b{&backend_map, &backend_unmap, nullptr};
    HeapGuard g(g_heap_lock);
    auto r = g_heap.init(b);
    if (!r.ok()) panic("kheap init: %s", error_name(r.error()));
}

Result<void*> kmalloc(size_t size, size_t align) {
    if (fault::should_fail(fault::Kind::heap)) return Error::out_of_memory;
    HeapGuard g(g_heap_lock);
    return g_heap.alloc(size, align);
}

void kfree(void* p) {
    if (p == nullptr) return;
    HeapGuard g(g_heap_lock);
    auto r = g_heap.free(p);
    if (!r.ok()) panic("kfree(%p): %s", p, error_name(r.error()));
}

HeapStats kheap_stats() {
    HeapGuard g(g_heap_lock);
    return g_heap.stats();
}

KTEST("kheap", "kernel heap: small and large blocks, alignment, reuse, no leak") {
    HeapStats before = kheap_stats();
    void* ptrs[64];
    for (int i = 0; i < 64; ++i) {
        size_t sz = static_cast<size_t>(8 + i * 97);
        auto r = kmalloc(sz, i % 3 == 0 ? 64 : 16);
        if (!r.ok()) return ktest_fail("kmalloc failed");
        ptrs[i] = r.value();
        if (i % 3 == 0 && (reinterpret_cast<uintptr_t>(ptrs[i]) & 63) != 0) return ktest_fail("alignment");
        __builtin_memset(ptrs[i], i, sz);
    }
    for (int i = 0; i < 64; ++i) {
        auto* b = static_cast<unsigned char*>(ptrs[i]);
        size_t sz = static_cast<size_t>(8 + i * 97);
        for (size_t k = 0; k < sz; ++k) {
            if (b[k] != static_cast<unsigned char>(i)) return ktest_fail("blocks overlap");
        }
    }
    auto big = kmalloc(3 * 4096 + 5);
    if (!big.ok()) return ktest_fail("large kmalloc failed");
    kfree(big.value());
    for (void* p : ptrs) kfree(p);
    if (kheap_stats().allocations != before.allocations) return ktest_fail("allocation count not restored");
    return ktest_ok();
}

}  // namespace kern

// Global new/delete for kernel objects. Plain new panics on exhaustion; use
// new (std::nothrow) or a factory returning Result where failure is normal.
void* operator new(size_t size) {
    auto r = kern::kmalloc(size);
    if (!r.ok()) kern::panic("operator new(%zu): out of memory", size);
    return r.value();
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
    auto r = kern::kmalloc(size);
    return r.ok() ? r.value() : nullptr;
}
void* operator new[](size_t size, const std::nothrow_t& t) noexcept { return operator new(size, t); }
void operator delete(void* p) noexcept { kern::kfree(p); }
void operator delete[](void* p) noexcept { kern::kfree(p); }
void operator delete(void* p, size_t) noexcept { kern::kfree(p); }
void operator delete[](void* p, size_t) noexcept { kern::kfree(p); }
