// paging.h (arch interface): the kernel's view of memory: the direct map of
// physical memory, page-table edits for address spaces, and the page-table
// entry bits generic code composes (values from arch/x86_64/paging.h,
// checked below).
//
// None of these take locks: callers serialise edits of one tree (the owning
// AddressSpace's lock) and do the TLB maintenance (arch/interface/tlb.h).
#pragma once

#include <stdint.h>

#include "lib/result.h"

namespace kern::arch {

// Physical to kernel-virtual. Before paging_init() only the first GiB is
// reachable (through the boot mapping; kBootMapLimit); afterwards all of
// the direct map. Any CPU, any context.
void* phys_to_virt(uint64_t pa);
template <class T>
T* phys_to(uint64_t pa) {
    return static_cast<T*>(phys_to_virt(pa));
}
// Inverse for direct-map and kernel-image addresses.
uint64_t virt_to_phys(const void* va);

// Hands out one zeroed-or-not 4 KiB frame for a page table.
using FrameAlloc = Result<uint64_t> (*)();

// Boot CPU, once: builds and loads the kernel page tables: direct map of
// [0, phys_end) (at least 4 GiB, so firmware tables and local APIC MMIO are
// reachable), kernel text RX, rodata R, data RW (NX everywhere but text), no
// identity map. Frames for tables come from alloc and must lie below
// kBootMapLimit.
Result<void> paging_init(uint64_t phys_end, FrameAlloc alloc);
// End of the direct map (exclusive physical address); 0 before paging_init.
uint64_t direct_map_end();
// Physical address of the kernel's top-level table (its kernel half is
// shared by every address space).
uint64_t kernel_pml4();

// Maps one kPageSize page in the tree rooted at pml4_pa, allocating tables
// as needed. Fails with Error::exists if va is already mapped by a huge page.
Result<void> map_page(uint64_t pml4_pa, uint64_t va, uint64_t pa, uint64_t flags, FrameAlloc alloc);
// Removes the mapping at va; returns the old physical address.
Result<uint64_t> unmap_page(uint64_t pml4_pa, uint64_t va);
// Returns the leaf entry for va (0 if unmapped).
uint64_t lookup_pte(uint64_t pml4_pa, uint64_t va);

// CPU features the page tables depend on (boot CPU's CPUID).
bool cpu_has_nx();
bool cpu_has_1g_pages();

}  // namespace kern::arch

// The constants: kPageSize, kDirectMapBase, kBootMapLimit, kPte*.
#include "arch/x86_64/paging.h"

namespace kern::arch {
// What generic code relies on: 4 KiB pages (mm/ and object/ count in them),
// 64-bit entries whose permission bits are distinct single bits that a
// frame address (kPteAddrMask) never overlaps, and a page-aligned direct map.
static_assert(kPageSize == 4096);
static_assert(__is_same(decltype(kDirectMapBase), const uint64_t) && kDirectMapBase % kPageSize == 0);
static_assert(__is_same(decltype(kPteAddrMask), const uint64_t) && (kPteAddrMask & (kPageSize - 1)) == 0);
static_assert(kBootMapLimit >= 16ull << 20, "boot information and early frames live in the boot map");
inline constexpr uint64_t kPteBits[] = {kPtePresent, kPteWrite, kPteUser,   kPteWriteThrough,
                                        kPteNoCache, kPteHuge,  kPteGlobal, kPteNx};
consteval bool pte_bits_ok() {
    uint64_t seen = 0;
    for (uint64_t b : kPteBits) {
        if (b == 0 || (b & (b - 1)) != 0 || (b & seen) != 0 || (b & kPteAddrMask) != 0) return false;
        seen |= b;
    }
    return true;
}
static_assert(pte_bits_ok(), "PTE permission bits: one bit each, distinct, outside the address field");
}  // namespace kern::arch
