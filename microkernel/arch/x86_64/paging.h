// paging.h: the kernel's page tables: direct map of physical memory and the
// kernel image mapped with per-section permissions.
#pragma once

#include <stdint.h>

#include "lib/result.h"

namespace kern::arch {

inline constexpr uint64_t kDirectMapBase = 0xffff800000000000ull;
inline constexpr uint64_t kKernelVma = 0xffffffff80000000ull;
inline constexpr uint64_t kBootMapLimit = 1ull << 30;  // boot.S maps the first GiB

// Page table entry bits.
inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWrite = 1ull << 1;
inline constexpr uint64_t kPteUser = 1ull << 2;
inline constexpr uint64_t kPteWriteThrough = 1ull << 3;
inline constexpr uint64_t kPteNoCache = 1ull << 4;
inline constexpr uint64_t kPteHuge = 1ull << 7;
inline constexpr uint64_t kPteGlobal = 1ull << 8;
inline constexpr uint64_t kPteNx = 1ull << 63;
inline constexpr uint64_t kPteAddrMask = 0x000ffffffffff000ull;

// Physical to kernel-virtual. Before paging_init() only the first GiB is
// reachable (through the boot mapping at kKernelVma); afterwards all of the
// direct map.
void* phys_to_virt(uint64_t pa);
template <class T>
T* phys_to(uint64_t pa) {
    return static_cast<T*>(phys_to_virt(pa));
}
// Inverse for direct-map and kernel-image addresses.
uint64_t virt_to_phys(const void* va);

using FrameAlloc = Result<uint64_t> (*)();

// Builds and loads the kernel page tables: direct map of [0, phys_end) (at
// least 4 GiB, so firmware tables and local APIC MMIO are reachable), kernel
// text RX, rodata R, data RW (NX everywhere but text), no identity map.
// Frames for tables come from alloc and must lie below kBootMapLimit.
Result<void> paging_init(uint64_t phys_end, FrameAlloc alloc);

// End of the direct map (exclusive physical address); 0 before paging_init.
uint64_t direct_map_end();

// Physical address of the kernel PML4 (the top half is shared by every
// address space).
uint64_t kernel_pml4();

// Maps one 4 KiB page in the tree rooted at pml4_pa, allocating tables as
// needed. Fails with Error::exists if va is already mapped by a huge page.
Result<void> map_page(uint64_t pml4_pa, uint64_t va, uint64_t pa, uint64_t flags, FrameAlloc alloc);
// Removes the 4 KiB mapping at va; returns the old physical address.
Result<uint64_t> unmap_page(uint64_t pml4_pa, uint64_t va);
// Returns the leaf entry for va (0 if unmapped).
uint64_t lookup_pte(uint64_t pml4_pa, uint64_t va);

bool cpu_has_nx();
bool cpu_has_1g_pages();

}  // namespace kern::arch
