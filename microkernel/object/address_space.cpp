// address_space.cpp: address-space skeleton: PML4, PCID, map/unmap with shootdown.
#include "object/address_space.h"

#include "arch/interface/paging.h"
#include "arch/interface/tlb.h"
#include "mm/frames.h"
#include "mm/kheap.h"

namespace kern {
namespace {
// PCID 0 is the kernel's own tables; 1..kMaxPcid go to address spaces.
SpinLockIrq g_pcid_lock{LockRank::address_space, "pcid_alloc"};
uint64_t g_pcid_used[(arch::tlb::kMaxPcid + 1) / 64] = {1};  // bit 0 reserved

Result<uint16_t> pcid_alloc() {
    if (!arch::tlb::pcid_enabled()) return static_cast<uint16_t>(0);
    LockGuard<SpinLockIrq> g(g_pcid_lock);
    for (unsigned w = 0; w < sizeof(g_pcid_used) / 8; ++w) {
        if (g_pcid_used[w] == ~uint64_t{0}) continue;
        unsigned b = static_cast<unsigned>(__builtin_ctzll(~g_pcid_used[w]));
        g_pcid_used[w] |= uint64_t{1} << b;
        return static_cast<uint16_t>(w * 64 + b);
    }
    return Error::capacity;
}

void pcid_free(uint16_t pcid) {
    if (pcid == 0) return;
    LockGuard<SpinLockIrq> g(g_pcid_lock);
    g_pcid_used[pcid / 64] &= ~(uint64_t{1} << (pcid % 64));
}

void free_tables(uint64_t table_pa, int level) {
    auto* t = arch::phys_to<uint64_t>(table_pa);
    if (level > 1) {
        for (int i = 0; i < 512; ++i) {
            if ((t[i] & arch::kPtePresent) != 0 && (t[i] & arch::kPteHuge) == 0) {
                free_tables(t[i] & arch::kPteAddrMask, level - 1);
            }
        }
    }
    frame_free(table_pa);
}

// Tables at and below table_pa (levels as in free_tables).
uint64_t count_tables(uint64_t table_pa, int level) {
    uint64_t n = 1;
    if (level > 1) {
        const auto* t = arch::phys_to<const uint64_t>(table_pa);
        for (int i = 0; i < 512; ++i)
            if ((t[i] & arch::kPtePresent) != 0 && (t[i] & arch::kPteHuge) == 0)
                n += count_tables(t[i] & arch::kPteAddrMask, level - 1);
    }
    return n;
}
}  // namespace

Result<AddressSpace*> AddressSpace::create() {
    void* mem = TRY(kmalloc(sizeof(AddressSpace), alignof(AddressSpace)));
    auto* as = new (mem) AddressSpace();
    auto pcid = pcid_alloc();
    if (!pcid.ok()) {
        kfree(mem);
        return pcid.error();
    }
    auto frame = frame_alloc();
    if (!frame.ok()) {
        pcid_free(pcid.value());
        kfree(mem);
        return frame.error();
    }
    as->root_ = frame.value();
    as->pcid_ = pcid.value();
    auto* t = arch::phys_to<uint64_t>(as->root_);
    const auto* k = arch::phys_to<const uint64_t>(arch::kernel_pml4());
    for (int i = 0; i < 256; ++i) t[i] = 0;
    for (int i = 256; i < 512; ++i) t[i] = k[i];  // shared kernel half (its tables never change at this level)
    return as;
}

void AddressSpace::destroy() {
    ShootdownBatch all;
    all.set_full();
    arch::tlb::shootdown(root_, pcid_, cpus_, all);
    auto* t = arch::phys_to<uint64_t>(root_);
    for (int i = 0; i < 256; ++i) {
        if ((t[i] & arch::kPtePresent) != 0) free_tables(t[i] & arch::kPteAddrMask, 3);
    }
    frame_free(root_);
    pcid_free(pcid_);
    this->~AddressSpace();
    kfree(this);
}

uint64_t AddressSpace::table_frames() const {
    LockGuard<SpinLockIrq> g(lock_);
    const auto* t = arch::phys_to<const uint64_t>(root_);
    uint64_t n = 1;
    for (int i = 0; i < 256; ++i)
        if ((t[i] & arch::kPtePresent) != 0) n += count_tables(t[i] & arch::kPteAddrMask, 3);
    return n;
}

Result<void> AddressSpace::check_va(uint64_t va) {
    if ((va & 0xfff) != 0) return Error::misaligned;
    if (va >= kLowerHalfEnd) return Error::out_of_range;
    return ok();
}

Result<void> AddressSpace::map(uint64_t va, uint64_t pa, uint64_t flags) {
    TRY(check_va(va));
    if ((pa & 0xfff) != 0) return Error::misaligned;
    LockGuard<SpinLockIrq> g(lock_);
    if (arch::lookup_pte(root_, va) != 0) return Error::exists;
    // A not-present entry is never cached, so a new mapping needs no shootdown.
    return arch::map_page(root_, va, pa, flags, &frame_alloc);
}

Result<uint64_t> AddressSpace::remap(uint64_t va, uint64_t new_pa, uint64_t flags) {
    TRY(check_va(va));
    if ((new_pa & 0xfff) != 0) return Error::misaligned;
    uint64_t old;
    {
        LockGuard<SpinLockIrq> g(lock_);
        uint64_t pte = arch::lookup_pte(root_, va);
        if (pte == 0) return Error::not_found;
        old = pte & arch::kPteAddrMask;
        TRY(arch::map_page(root_, va, new_pa, flags, &frame_alloc));  // one 64-bit store replaces the entry
    }
    ShootdownBatch b;
    b.add_page(va);
    arch::tlb::shootdown(root_, pcid_, cpus_, b);
    return old;
}

Result<uint64_t> AddressSpace::unmap(uint64_t va) {
    TRY(check_va(va));
    uint64_t old;
    {
        LockGuard<SpinLockIrq> g(lock_);
        old = TRY(arch::unmap_page(root_, va));
    }
    ShootdownBatch b;
    b.add_page(va);
    arch::tlb::shootdown(root_, pcid_, cpus_, b);
    return old;
}

uint64_t AddressSpace::unmap_and_free(uint64_t va, uint64_t pages) {
    uint64_t n = 0;
    for (uint64_t i = 0; i < pages; ++i) {
        auto r = unmap(va + i * 4096);
        if (!r.ok()) continue;
        frame_free(r.value());
        ++n;
    }
    return n;
}

Result<uint64_t> AddressSpace::unmap_range(uint64_t va, uint64_t pages) {
    TRY(check_va(va));
    if (pages > (kLowerHalfEnd - va) / 4096) return Error::out_of_range;
    ShootdownBatch b;
    uint64_t n = 0;
    {
        LockGuard<SpinLockIrq> g(lock_);
        for (uint64_t i = 0; i < pages; ++i) {
            auto r = arch::unmap_page(root_, va + i * 4096);
            if (!r.ok()) continue;
            b.add_page(va + i * 4096);
            ++n;
        }
    }
    arch::tlb::shootdown(root_, pcid_, cpus_, b);
    return n;
}

uint64_t AddressSpace::lookup(uint64_t va) const {
    LockGuard<SpinLockIrq> g(lock_);
    return arch::lookup_pte(root_, va);
}

void AddressSpace::activate() { arch::tlb::load(root_, pcid_, &cpus_); }

}  // namespace kern
