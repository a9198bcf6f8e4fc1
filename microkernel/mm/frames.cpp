// frames.cpp: the kernel's frame allocator instance and its lock (frames.h).
#include "mm/frames.h"

#include "cpu/spinlock.h"
#include "debug/fault_inject.h"
#include "debug/panic.h"

namespace kern {
namespace {
// Interrupts off while held: frames are freed from paths that run with
// interrupts disabled. Rank frames: taken under the heap lock (kheap's
// backing), never the other way round.
SpinLockIrq g_frames_lock(LockRank::frames, "frames");
FrameAllocator g_frames CAPOS_GUARDED_BY(g_frames_lock);
using FramesGuard = LockGuard<SpinLockIrq>;
}  // namespace

Result<void> frames_init(uint64_t* storage, size_t words, const PhysRange* usable, size_t n_usable,
                         const PhysRange* reserved, size_t n_reserved) {
    FramesGuard g(g_frames_lock);
    return g_frames.init(storage, words, usable, n_usable, reserved, n_reserved);
}

void frames_rebase_storage(uint64_t* storage) {
    FramesGuard g(g_frames_lock);
    g_frames.rebase_storage(storage);
}

Result<uint64_t> frame_alloc() {
    if (fault::should_fail(fault::Kind::frame)) return Error::out_of_memory;
    FramesGuard g(g_frames_lock);
    return g_frames.alloc();
}

Result<uint64_t> frame_alloc_contiguous(size_t n, uint64_t align) {
    if (fault::should_fail(fault::Kind::frame)) return Error::out_of_memory;
    FramesGuard g(g_frames_lock);
    return g_frames.alloc_contiguous(n, align);
}

void frame_free_contiguous(uint64_t pa, size_t n) {
    Result<void> r = [&] {
        FramesGuard g(g_frames_lock);
        return g_frames.free_contiguous(pa, n);
    }();
    if (!r.ok()) panic("frame_free_contiguous(%#llx): %s", static_cast<unsigned long long>(pa), error_name(r.error()));
}

void frame_free(uint64_t pa) {
    Result<void> r = [&] {
        FramesGuard g(g_frames_lock);
        return g_frames.free(pa);
    }();
    if (!r.ok()) panic("frame_free(%#llx): %s", static_cast<unsigned long long>(pa), error_name(r.error()));
}

size_t frames_free_count() {
    FramesGuard g(g_frames_lock);
    return g_frames.free_count();
}

}  // namespace kern
