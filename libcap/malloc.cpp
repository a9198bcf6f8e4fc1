// malloc.cpp - C allocation functions and the global operator new/delete over cap::global_heap() (guest only).
#include <stddef.h>

#include "libcap/heap.h"

using cap::global_heap;

extern "C" {
void* malloc(size_t n) { return global_heap().alloc(n); }
void free(void* p) { global_heap().free(p); }
void* calloc(size_t count, size_t n) { return global_heap().alloc_zeroed(count, n); }
void* realloc(void* p, size_t n) { return global_heap().realloc(p, n); }
void* aligned_alloc(size_t align, size_t n) { return global_heap().alloc_aligned(align, n); }
}

namespace {
// Without exceptions, a failed new cannot throw bad_alloc; stopping is the
// only behaviour that does not hand out a null object.
void* new_or_trap(size_t n, size_t align = 0) {
    void* p = align > cap::Heap::kAlign ? global_heap().alloc_aligned(align, n == 0 ? 1 : n)
                                        : global_heap().alloc(n == 0 ? 1 : n);
    if (p == nullptr) __builtin_trap();
    return p;
}
}  // namespace

namespace std {
enum class align_val_t : size_t;
struct nothrow_t;
}  // namespace std

void* operator new(size_t n) { return new_or_trap(n); }
void* operator new[](size_t n) { return new_or_trap(n); }
void* operator new(size_t n, std::align_val_t a) { return new_or_trap(n, static_cast<size_t>(a)); }
void* operator new[](size_t n, std::align_val_t a) { return new_or_trap(n, static_cast<size_t>(a)); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return global_heap().alloc(n == 0 ? 1 : n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return global_heap().alloc(n == 0 ? 1 : n); }
void operator delete(void* p) noexcept { global_heap().free(p); }
void operator delete[](void* p) noexcept { global_heap().free(p); }
void operator delete(void* p, size_t) noexcept { global_heap().free(p); }
void operator delete[](void* p, size_t) noexcept { global_heap().free(p); }
void operator delete(void* p, std::align_val_t) noexcept { global_heap().free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { global_heap().free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { global_heap().free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { global_heap().free(p); }
