// frames.h: the kernel's one physical frame allocator. A FrameAllocator
// (mm/frame_allocator.h: the bitmap logic, host-tested) behind its lock,
// with the allocation fault hook (debug/fault_inject.h) in front of it.
// kmain sets it up from the firmware's memory map (boot/main.cpp,
// init_frames) and moves its bitmap's address to the direct map once paging
// is on; everything else only allocates and frees.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"
#include "mm/frame_allocator.h"

namespace kern {

// --- set-up (kmain, one CPU) ----------------------------------------------------
// The bitmap at `storage` (words 64-bit words) over the usable ranges, with
// the reserved ranges taken. Errors as FrameAllocator::init.
Result<void> frames_init(uint64_t* storage, size_t words, const PhysRange* usable, size_t n_usable,
                         const PhysRange* reserved, size_t n_reserved);
// The same bitmap seen at another address (the direct map after paging_init).
void frames_rebase_storage(uint64_t* storage);

// --- use (any CPU, any context that may take a SpinLockIrq) --------------------
Result<uint64_t> frame_alloc();
void frame_free(uint64_t pa);
// n contiguous frames aligned to align bytes (the kernel heap's backing).
Result<uint64_t> frame_alloc_contiguous(size_t n, uint64_t align);
void frame_free_contiguous(uint64_t pa, size_t n);
// Frames free now (leak checks, KernelStats).
size_t frames_free_count();

}  // namespace kern
