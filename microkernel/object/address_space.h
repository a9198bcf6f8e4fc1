// address_space.h: the AddressSpace kernel object (skeleton): a PML4 whose
// upper half is the kernel's, a PCID, the CPUs that may cache its
// translations, and 4 KiB map/unmap with TLB shootdown. The user-space issue
// extends it (user mappings, page faults, memory objects).
#pragma once

#include <stdint.h>

#include "cpu/spinlock.h"
#include "lib/result.h"
#include "mm/shootdown.h"

namespace kern {

class AddressSpace {
public:
    // Lowest address above the lower half (exclusive end of what map takes).
    static constexpr uint64_t kLowerHalfEnd = 0x0000800000000000ull;

    // A fresh address space: empty lower half, the kernel's upper half, a
    // PCID of its own (0 when PCIDs are off).
    // Errors: out_of_memory (PML4 frame or object), capacity (PCIDs used up).
    static Result<AddressSpace*> create();

    // Flushes it from every CPU, frees its page tables (not the mapped
    // frames) and its PCID. No thread may run in it any more.
    void destroy();

    // Maps va -> pa (4 KiB) with flags (kPte* bits; present is implied).
    // Errors: misaligned, out_of_range (va in the upper half), exists (va
    // already mapped), out_of_memory (a page table).
    Result<void> map(uint64_t va, uint64_t pa, uint64_t flags);
    // Points an existing mapping of va at new_pa, shoots down the old
    // translation everywhere and returns the old frame (now unreachable).
    // Errors: misaligned, out_of_range, not_found.
    Result<uint64_t> remap(uint64_t va, uint64_t new_pa, uint64_t flags);
    // Removes the mapping of va, shoots it down everywhere and returns the
    // frame (now unreachable). Errors: misaligned, out_of_range, not_found.
    Result<uint64_t> unmap(uint64_t va);
    // Removes [va, va + pages * 4 KiB) with one batched shootdown (a full
    // flush past kShootdownMaxPages). Unmapped pages in the range are
    // skipped. Returns how many were mapped.
    Result<uint64_t> unmap_range(uint64_t va, uint64_t pages);
    // Unmaps each page of [va, va + pages * 4 KiB) that is mapped (one
    // shootdown each) and frees its frame; returns how many were mapped.
    // For memory the kernel gave a process privately (TLS, stacks).
    uint64_t unmap_and_free(uint64_t va, uint64_t pages);

    // The leaf entry for va (0 if unmapped).
    uint64_t lookup(uint64_t va) const;
    // Page-table frames of the lower half, the root included: they stay
    // until destroy(), so leak checks count them with the free frames.
    uint64_t table_frames() const;

    // Loads it on this CPU (interrupts off; the scheduler does this on a switch).
    void activate();

    uint64_t root() const { return root_; }
    uint16_t pcid() const { return pcid_; }
    TlbCpuMask& cpus() { return cpus_; }

private:
    AddressSpace() = default;
    static Result<void> check_va(uint64_t va);

    uint64_t root_ = 0;  // PML4 physical address
    uint16_t pcid_ = 0;
    TlbCpuMask cpus_;
    // Guards the page tables. Shootdowns run after it is released (targets
    // might otherwise spin on it with interrupts off and never take the IPI).
    mutable SpinLockIrq lock_{LockRank::address_space, "address_space"};
};

}  // namespace kern
