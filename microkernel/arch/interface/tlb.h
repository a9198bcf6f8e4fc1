// tlb.h (arch interface): TLB maintenance: address-space tags (PCIDs on
// x86_64), address-space loads and cross-CPU shootdown (the bookkeeping
// lives in mm/shootdown; x86_64 implements it in arch/x86_64/tlb.cpp).
//
// Contract with callers:
//  * load() runs with interrupts off on the CPU that loads the space.
//  * shootdown() may be called with interrupts on or off, from thread
//    context, holding no spinlock that another CPU could be spinning on with
//    interrupts off (targets must be able to take the IPI). It returns once
//    every CPU that may have held a translation of the pages dropped it.
#pragma once

#include <stdint.h>

#include "mm/shootdown.h"

namespace kern::arch::tlb {

// Every CPU, early: CR4.PCIDE when CPUID.1:ECX[17] offers it (and CR3 is
// PCID 0 then). The first call prints the mode.
void cpu_init();
// Installs the shootdown IPI handler (boot CPU, once).
void init_handlers();

bool pcid_enabled();
bool has_invpcid();
// Highest address-space tag (PCID); tag 0 is the kernel's.
inline constexpr uint16_t kMaxPcid = 4095;

// Makes root (PML4 physical address) with pcid the current address space of
// this CPU. mask (may be null for the kernel's own tables) gains this CPU
// before CR3 changes. With PCIDs the old translations of root stay cached
// unless a shootdown marked them stale while this CPU ran something else.
void load(uint64_t root, uint16_t pcid, TlbCpuMask* mask);
// Root now loaded on this CPU.
uint64_t loaded_root();

// Drops this CPU's translation of va in the loaded address space only (no
// other CPU, no bookkeeping): for tests that make a stale entry on purpose.
void flush_page_local(uint64_t va);

// Invalidates batch's pages (or everything, if batch.full()) of the address
// space (root, pcid) on every CPU in mask, this one included.
void shootdown(uint64_t root, uint16_t pcid, TlbCpuMask& mask, const ShootdownBatch& batch);

// Requests this CPU handled for others (statistics).
uint64_t serviced_count(unsigned cpu);

}  // namespace kern::arch::tlb
