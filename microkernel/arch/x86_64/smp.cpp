// smp.cpp: CPU discovery (ACPI MADT) and AP start-up (INIT-SIPI-SIPI through
// the real-mode trampoline), per-CPU stacks and tables, the AP entry path.
#include "arch/x86_64/smp.h"

#include "arch/interface/ipi.h"
#include "arch/interface/smp.h"
#include "arch/interface/timer.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/lapic.h"
#include "arch/interface/paging.h"
#include "boot/boot_info.h"
#include "mm/frames.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "cpu/percpu.h"
#include "boot/acpi.h"

extern "C" char trampoline_start[], trampoline_end[], trampoline_params[];
extern "C" char ap_entry64[];
extern "C" [[noreturn]] void smp_ap_main(kern::PerCpu* self);

namespace kern::arch {
namespace {

constexpr uint64_t kTrampBase = 0x8000;  // must match trampoline.S
constexpr uint64_t kEferMsr = 0xc0000080;
constexpr uint64_t kEferLma = 1ull << 10;

// Per-CPU stacks live in the arch area (PML4 slot 510), one 256 KiB window
// per block index, each stack below an unmapped guard page.
constexpr uint64_t kStackArea = 0xffffff0000200000ull;
constexpr uint64_t kStackWindow = 0x40000;
constexpr uint64_t kKernelStackPages = 8;  // 32 KiB
constexpr uint64_t kIstPages = 2;          // 8 KiB each

struct TrampolineParams {
    uint64_t cr3;
    uint64_t kernel_cr3;
    uint64_t stack;
    uint64_t percpu;
    uint64_t entry;
    uint64_t efer;
    uint64_t started;
};

struct ApResources {
    CpuTables tables;
    uint64_t ist[3];
};
ApResources g_ap[kMaxCpus];
unsigned g_ap_used = 0;

uint64_t g_bsp_cr0 = 0;
uint64_t g_bsp_cr4 = 0;
ApMain g_ap_main = nullptr;
acpi::Madt g_madt;

const void* acpi_map(void*, uint64_t pa, size_t len) {
    // A corrupt RSDT/XSDT entry may point anywhere: only hand out addresses
    // the direct map covers, so the parser sees out_of_range, not a fault.
    if (pa + len < pa || pa + len > direct_map_end()) return nullptr;
    return phys_to_virt(pa);
}

// Maps `pages` fresh frames at va; returns the top of the range.
uint64_t map_stack(uint64_t va, uint64_t pages) {
    for (uint64_t i = 0; i < pages; ++i) {
        auto f = frame_alloc();
        if (!f.ok()) panic("out of memory for per-CPU stacks");
        auto r = map_page(kernel_pml4(), va + i * 4096, f.value(), kPteWrite | kPteNx | kPteGlobal, &frame_alloc);
        if (!r.ok()) panic("cannot map a per-CPU stack: %s", error_name(r.error()));
    }
    return va + pages * 4096;
}

// Builds the private trampoline PML4: the kernel's upper half plus an
// identity mapping of the trampoline page. Returns its physical address.
uint64_t make_trampoline_pml4() {
    auto f = frame_alloc();
    if (!f.ok()) panic("out of memory for the trampoline page table");
    uint64_t pa = f.value();
    if (pa >= (1ull << 32)) panic("trampoline PML4 above 4 GiB");
    auto* t = phys_to<uint64_t>(pa);
    const auto* k = phys_to<const uint64_t>(kernel_pml4());
    for (int i = 0; i < 256; ++i) t[i] = 0;
    for (int i = 256; i < 512; ++i) t[i] = k[i];
    auto r = map_page(pa, kTrampBase, kTrampBase, kPteWrite, &frame_alloc);
    if (!r.ok()) panic("cannot map the trampoline: %s", error_name(r.error()));
    return pa;
}

// Frees the private PML4 and the lower-half tables map_page made for it.
void free_trampoline_pml4(uint64_t pml4) {
    auto* l4 = phys_to<uint64_t>(pml4);
    uint64_t pdpt = l4[0] & kPteAddrMask;
    uint64_t pd = phys_to<uint64_t>(pdpt)[0] & kPteAddrMask;
    uint64_t pt = phys_to<uint64_t>(pd)[0] & kPteAddrMask;
    frame_free(pt);
    frame_free(pd);
    frame_free(pdpt);
    frame_free(pml4);
}

// GRUB may put the Multiboot2 information low; never overwrite it. `inside`
// points into the block, so the block lies within +-total_size of it.
bool boot_info_overlaps_trampoline(const void* inside) {
    const BootState& b = boot_state();
    uint64_t at = virt_to_phys(inside);
    uint64_t lo = at > b.info.total_size() ? at - b.info.total_size() : 0;
    uint64_t hi = at + b.info.total_size();
    return lo < kTrampBase + 4096 && hi > kTrampBase;
}

bool wait_until(volatile bool* flag, uint64_t ns) {
    uint64_t start = rdtsc();
    uint64_t limit = ns_to_cycles(ns);
    while (!*flag) {
        if (rdtsc() - start > limit) return false;
        pause();
    }
    return true;
}

bool start_ap(uint32_t apic_id, uint64_t tramp_pml4) {
    PerCpu* p = cpu::reserve_next();
    if (p == nullptr) {
        kprintf("[capos] cpu apic %u skipped: no free per-CPU block\n", apic_id);
        return false;
    }
    unsigned block = g_ap_used++;
    ApResources& res = g_ap[block];
    uint64_t window = kStackArea + block * kStackWindow;
    uint64_t stack_top = map_stack(window + 4096, kKernelStackPages);
    uint64_t ist_base = window + (kKernelStackPages + 2) * 4096;
    for (int i = 0; i < 3; ++i) {
        res.ist[i] = map_stack(ist_base + static_cast<uint64_t>(i) * (kIstPages + 1) * 4096, kIstPages);
    }
    p->tables = &res.tables;
    p->kernel_stack_top = stack_top;
    p->apic_id = apic_id;

    auto* params =
        phys_to<volatile TrampolineParams>(kTrampBase + static_cast<uint64_t>(trampoline_params - trampoline_start));
    params->cr3 = tramp_pml4;
    params->kernel_cr3 = kernel_pml4();
    params->stack = stack_top;
    params->percpu = reinterpret_cast<uint64_t>(p);
    params->entry = reinterpret_cast<uint64_t>(ap_entry64);
    params->efer = rdmsr(kEferMsr) & ~kEferLma;
    params->started = 0;
    asm volatile("mfence" ::: "memory");

    lapic_send(apic_id, kIcrInit | kIcrAssert | kIcrLevel);
    delay_ns(10'000'000);
    uint32_t sipi = kIcrStartup | static_cast<uint32_t>(kTrampBase >> 12);
    lapic_send(apic_id, sipi);
    uint64_t t0 = rdtsc();
    while (params->started == 0 && rdtsc() - t0 < ns_to_cycles(10'000'000)) pause();
    if (params->started == 0) lapic_send(apic_id, sipi);
    if (!wait_until(&p->online, 1'000'000'000ull)) {
        p->abandoned = true;
        asm volatile("mfence" ::: "memory");
        kprintf("[capos] cpu apic %u did not come up within 1 s (%s); skipped\n", apic_id,
                params->started != 0 ? "entered the trampoline" : "never started");
        return false;
    }
    cpu::commit(p);
    kprintf("[capos] cpu %u apic %u online\n", p->id, apic_id);
    return true;
}

[[noreturn]] void ap_idle() {
    for (;;) {
        ApMain m = __atomic_load_n(&g_ap_main, __ATOMIC_ACQUIRE);
        if (m != nullptr) m();
        wait_for_interrupt();
        cli();
    }
}

}  // namespace

void percpu_install(PerCpu* p) {
    wrmsr(kMsrGsBase, reinterpret_cast<uint64_t>(p));
    wrmsr(kMsrKernelGsBase, 0);  // user GS until a thread sets one; swapgs exchanges them
}

void halt_forever_cpu() { halt_forever(); }

void set_ap_main(ApMain fn) { __atomic_store_n(&g_ap_main, fn, __ATOMIC_RELEASE); }

unsigned smp_init() {
    lapic_init_boot();
    PerCpu& bsp = cpu::current();
    bsp.apic_id = lapic_id();
    ipi_init();
    lapic_timer_calibrate();
    bsp.online = true;
    kprintf("[capos] cpu 0 apic %u online (boot cpu)\n", bsp.apic_id);

    g_bsp_cr0 = read_cr0();
    g_bsp_cr4 = read_cr4();

    const BootState& b = boot_state();
    multiboot2::Bytes rsdp_bytes = b.info.acpi_new_rsdp();
    if (rsdp_bytes.data == nullptr) rsdp_bytes = b.info.acpi_old_rsdp();
    if (rsdp_bytes.data == nullptr) {
        kprintf("[capos] smp: no ACPI RSDP from the boot loader; running on the boot CPU only\n");
        return cpu::count();
    }
    auto rsdp = acpi::parse_rsdp(rsdp_bytes.data, rsdp_bytes.size);
    if (!rsdp.ok()) {
        kprintf("[capos] smp: bad RSDP (%s); running on the boot CPU only\n", error_name(rsdp.error()));
        return cpu::count();
    }
    acpi::PhysReader reader{acpi_map, nullptr};
    auto madt = acpi::read_madt(reader, rsdp.value(), &g_madt);
    if (!madt.ok()) {
        kprintf("[capos] smp: no usable MADT (%s); running on the boot CPU only\n", error_name(madt.error()));
        return cpu::count();
    }
    const acpi::CpuList& list = g_madt.cpus;
    for (unsigned i = 0; i < list.skipped_count; ++i) {
        kprintf("[capos] cpu apic %u skipped: %s\n", list.skipped[i].apic_id,
                acpi::skip_reason_name(list.skipped[i].skip));
    }
    if (list.skipped_dropped != 0) kprintf("[capos] %u more MADT CPUs skipped\n", list.skipped_dropped);

    bool want_aps = false;
    for (unsigned i = 0; i < list.count; ++i) want_aps |= list.cpus[i].apic_id != bsp.apic_id;
    if (!want_aps) return cpu::count();
    if (boot_info_overlaps_trampoline(rsdp_bytes.data)) {
        kprintf("[capos] smp: boot information overlaps the AP trampoline page; APs not started\n");
        return cpu::count();
    }

    // Copy the trampoline blob below 1 MiB (the frame allocator never hands
    // out frames there).
    auto tramp_len = static_cast<size_t>(trampoline_end - trampoline_start);
    if (tramp_len > 4096) panic("AP trampoline larger than a page");
    auto* dst = phys_to<uint8_t>(kTrampBase);
    for (size_t i = 0; i < tramp_len; ++i) dst[i] = static_cast<uint8_t>(trampoline_start[i]);
    uint64_t tramp_pml4 = make_trampoline_pml4();

    bool any_abandoned = false;
    for (unsigned i = 0; i < list.count; ++i) {
        const acpi::CpuInfo& c = list.cpus[i];
        if (c.apic_id == bsp.apic_id) continue;
        if (lapic_mode() == LapicMode::xapic && c.apic_id > 0xfe) {
            kprintf("[capos] cpu apic %u skipped: id not reachable in xAPIC mode\n", c.apic_id);
            continue;
        }
        if (!start_ap(c.apic_id, tramp_pml4)) any_abandoned = true;
    }
    // A CPU that timed out might still run the trampoline later: keep its
    // page tables then (it halts on seeing its block abandoned).
    if (!any_abandoned) free_trampoline_pml4(tramp_pml4);
    return cpu::count();
}

}  // namespace kern::arch

using namespace kern;

// First C++ code on an AP: its own tables, IDT, per-CPU register, LAPIC.
extern "C" [[noreturn]] void smp_ap_main(PerCpu* self) {
    if (self->abandoned) arch::halt_forever();
    arch::write_cr0(arch::g_bsp_cr0);
    arch::write_cr4(arch::g_bsp_cr4);
    // Find this block's resources: the BSP recorded them before the SIPI.
    arch::CpuTables* t = self->tables;
    arch::ApResources* res = reinterpret_cast<arch::ApResources*>(t);  // tables is the first member
    arch::load_cpu_tables(*t, res->ist[0], res->ist[1], res->ist[2]);
    // The per-CPU register before the IDT: every interrupt entry reads the
    // block (isr_dispatch's cycle accounting).
    arch::percpu_install(self);
    arch::idt_load();
    arch::lapic_init_ap();
    self->apic_id = arch::lapic_id();
    __atomic_store_n(&self->online, true, __ATOMIC_RELEASE);
    arch::ap_idle();
}
