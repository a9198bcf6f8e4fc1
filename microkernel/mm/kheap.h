// kheap.h: the kernel heap (mm/heap over physically contiguous frames in
// the direct map), and the global operator new/delete built on it.
#pragma once

#include <stddef.h>

#include "mm/heap.h"
#include "lib/result.h"

namespace kern {

// Must run after paging_init (the heap hands out direct-map addresses).
void kheap_init();

// Allocation for kernel objects: out of memory is an error, not a crash.
Result<void*> kmalloc(size_t size, size_t align = 16);
void kfree(void* p);
HeapStats kheap_stats();

}  // namespace kern
