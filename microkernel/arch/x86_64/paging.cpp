// paging.cpp: kernel page-table construction and 4 KiB map/unmap helpers.
#include "arch/interface/paging.h"
#include "arch/x86_64/implements.h"

#include "arch/x86_64/asm.h"

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __data_end[];

namespace kern::arch {
namespace {
bool g_direct_map_ready = false;
uint64_t g_kernel_pml4 = 0;
uint64_t g_nx_bit = 0;
uint64_t g_direct_map_end = 0;

uint64_t* table(uint64_t pa) { return phys_to<uint64_t>(pa); }

Result<uint64_t> new_table(FrameAlloc alloc) {
    uint64_t pa = TRY(alloc());
    if (!g_direct_map_ready && pa + 4096 > kBootMapLimit) return Error::out_of_range;
    uint64_t* t = table(pa);
    for (int i = 0; i < 512; ++i) t[i] = 0;
    return pa;
}

// Returns the table one level down from entry, creating it if absent.
Result<uint64_t> next_level(uint64_t* entry, FrameAlloc alloc, bool user) {
    if ((*entry & kPtePresent) != 0) {
        if ((*entry & kPteHuge) != 0) return Error::exists;
        if (user) *entry |= kPteUser;
        return *entry & kPteAddrMask;
    }
    uint64_t pa = TRY(new_table(alloc));
    *entry = pa | kPtePresent | kPteWrite | (user ? kPteUser : 0);
    return pa;
}

unsigned idx(uint64_t va, int level) { return static_cast<unsigned>((va >> (12 + 9 * level)) & 511); }
}  // namespace

bool cpu_has_nx() { return (cpuid(0x80000001).edx & (1u << 20)) != 0; }
bool cpu_has_1g_pages() { return (cpuid(0x80000001).edx & (1u << 26)) != 0; }

void* phys_to_virt(uint64_t pa) {
    if (g_direct_map_ready) return reinterpret_cast<void*>(kDirectMapBase + pa);
    return reinterpret_cast<void*>(kKernelVma + pa);
}

uint64_t virt_to_phys(const void* va) {
    auto v = reinterpret_cast<uint64_t>(va);
    if (v >= kKernelVma) return v - kKernelVma;
    return v - kDirectMapBase;
}

uint64_t kernel_pml4() { return g_kernel_pml4; }
uint64_t direct_map_end() { return g_direct_map_end; }

Result<void> map_page(uint64_t pml4_pa, uint64_t va, uint64_t pa, uint64_t flags, FrameAlloc alloc) {
    bool user = (flags & kPteUser) != 0;
    uint64_t t = pml4_pa;
    for (int level = 3; level > 0; --level) {
        uint64_t* e = &table(t)[idx(va, level)];
        t = TRY(next_level(e, alloc, user));
    }
    uint64_t* pte = &table(t)[idx(va, 0)];
    if ((flags & kPteNx) != 0) flags = (flags & ~kPteNx) | g_nx_bit;
    *pte = (pa & kPteAddrMask) | flags | kPtePresent;
    return {};
}

uint64_t lookup_pte(uint64_t pml4_pa, uint64_t va) {
    uint64_t t = pml4_pa;
    for (int level = 3; level >= 0; --level) {
        uint64_t e = table(t)[idx(va, level)];
        if ((e & kPtePresent) == 0) return 0;
        if (level == 0 || (e & kPteHuge) != 0) return e;
        t = e & kPteAddrMask;
    }
    return 0;
}

Result<uint64_t> unmap_page(uint64_t pml4_pa, uint64_t va) {
    uint64_t t = pml4_pa;
    for (int level = 3; level > 0; --level) {
        uint64_t e = table(t)[idx(va, level)];
        if ((e & kPtePresent) == 0) return Error::not_found;
        if ((e & kPteHuge) != 0) return Error::unsupported;
        t = e & kPteAddrMask;
    }
    uint64_t* pte = &table(t)[idx(va, 0)];
    if ((*pte & kPtePresent) == 0) return Error::not_found;
    uint64_t old = *pte & kPteAddrMask;
    *pte = 0;
    return old;
}

Result<void> paging_init(uint64_t phys_end, FrameAlloc alloc) {
    g_nx_bit = cpu_has_nx() ? kPteNx : 0;
    uint64_t pml4 = TRY(new_table(alloc));
    uint64_t* root = table(pml4);

    // Direct map with the largest pages the CPU has.
    constexpr uint64_t k4G = 4ull << 30;
    uint64_t end = phys_end < k4G ? k4G : phys_end;
    bool gb = cpu_has_1g_pages();
    uint64_t step = gb ? (1ull << 30) : (2ull << 20);
    for (uint64_t pa = 0; pa < end; pa += step) {
        uint64_t va = kDirectMapBase + pa;
        uint64_t pdpt = TRY(next_level(&root[idx(va, 3)], alloc, false));
        uint64_t leaf = pa | kPtePresent | kPteWrite | kPteHuge | kPteGlobal | g_nx_bit;
        if (gb) {
            table(pdpt)[idx(va, 2)] = leaf;
        } else {
            uint64_t pd = TRY(next_level(&table(pdpt)[idx(va, 2)], alloc, false));
            table(pd)[idx(va, 1)] = leaf;
        }
    }

    // Kernel image, 4 KiB pages, permissions per section.
    struct Section {
        const char* start;
        const char* end;
        uint64_t flags;
    };
    const Section sections[] = {
        {__text_start, __text_end, kPteGlobal},
        {__rodata_start, __rodata_end, kPteGlobal | kPteNx},
        {__data_start, __data_end, kPteGlobal | kPteWrite | kPteNx},
    };
    for (const Section& s : sections) {
        for (auto va = reinterpret_cast<uint64_t>(s.start); va < reinterpret_cast<uint64_t>(s.end); va += 4096) {
            TRY(map_page(pml4, va, va - kKernelVma, s.flags, alloc));
        }
    }

    // Write-protect in ring 0 and global pages on, then switch. The boot
    // identity map is not in the new tree, so it is gone after this.
    write_cr0(read_cr0() | (1ull << 16));
    write_cr4(read_cr4() | (1ull << 7));
    write_cr3(pml4);
    g_kernel_pml4 = pml4;
    g_direct_map_end = end;
    g_direct_map_ready = true;
    return {};
}

}  // namespace kern::arch
