// lapic.cpp: local APIC backends (x2APIC MSRs, xAPIC uncached MMIO), EOI,
// IPI sending and the LAPIC timer with its PIT-based calibration.
#include "arch/x86_64/lapic.h"

#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ipi.h"
#include "arch/interface/paging.h"
#include "arch/x86_64/pit.h"
#include "arch/x86_64/tsc.h"
#include "mm/frames.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "cpu/percpu.h"

namespace kern::arch {
namespace {

constexpr uint32_t kMsrApicBase = 0x1b;
constexpr uint64_t kApicBaseEnable = 1ull << 11;
constexpr uint64_t kApicBaseX2 = 1ull << 10;
constexpr uint32_t kMsrTscDeadline = 0x6e0;
constexpr uint32_t kMsrX2Base = 0x800;

// Kernel-virtual page for the xAPIC registers (uncached). It lives in the
// arch area at PML4 slot 510 (see docs/smp.md for the layout).
constexpr uint64_t kLapicVa = 0xffffff0000000000ull;

constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtPeriodic = 1u << 17;
constexpr uint32_t kLvtDeadline = 2u << 17;
constexpr uint32_t kDivideBy16 = 0x3;

LapicMode g_mode = LapicMode::xapic;
volatile uint32_t* g_mmio = nullptr;
uint64_t g_timer_hz = 0;  // LAPIC timer counter rate after the divider
bool g_has_deadline = false;
TimerHandler g_timer_handler = nullptr;

void timer_irq(InterruptFrame& f) {
    PerCpu& c = cpu::current();
    c.ticks = c.ticks + 1;
    lapic_eoi();
    TimerHandler h = __atomic_load_n(&g_timer_handler, __ATOMIC_ACQUIRE);
    if (h != nullptr) h(f);
}

void enable_local() {
    uint64_t base = rdmsr(kMsrApicBase);
    base |= kApicBaseEnable;
    if (g_mode == LapicMode::x2apic) base |= kApicBaseX2;
    wrmsr(kMsrApicBase, base);
    lapic_write(lapic_reg::kTpr, 0);
    lapic_write(lapic_reg::kLvtLint0, kLvtMasked);  // the 8259 is masked; no ExtINT
    lapic_write(lapic_reg::kLvtError, vec::kLapicError);
    lapic_write(lapic_reg::kLvtTimer, kLvtMasked | vec::kTimer);
    lapic_write(lapic_reg::kTimerDivide, kDivideBy16);
    lapic_write(lapic_reg::kSvr, 0x100u | vec::kSpurious);  // software enable
    // Clear any error latched while the APIC was off (write, then read).
    lapic_write(lapic_reg::kEsr, 0);
    (void)lapic_read(lapic_reg::kEsr);
    lapic_eoi();
}

uint64_t median3(uint64_t a, uint64_t b, uint64_t c) {
    if (a > b) {
        uint64_t t = a;
        a = b;
        b = t;
    }
    if (b > c) {
        uint64_t t = b;
        b = c;
        c = t;
    }
    if (a > b) {
        uint64_t t = a;
        a = b;
        b = t;
    }
    return b;
}

}  // namespace

uint32_t lapic_read(uint32_t reg) {
    if (g_mode == LapicMode::x2apic) return static_cast<uint32_t>(rdmsr(kMsrX2Base + (reg >> 4)));
    return g_mmio[reg / 4];
}

void lapic_write(uint32_t reg, uint32_t value) {
    if (g_mode == LapicMode::x2apic) {
        wrmsr(kMsrX2Base + (reg >> 4), value);
        return;
    }
    g_mmio[reg / 4] = value;
}

void lapic_init_boot() {
    CpuidResult id1 = cpuid(1);
    if ((id1.edx & (1u << 9)) == 0) panic("no local APIC (CPUID.1:EDX[9] clear)");
    g_has_deadline = (id1.ecx & (1u << 24)) != 0;
    if ((id1.ecx & (1u << 21)) != 0) {
        g_mode = LapicMode::x2apic;
    } else {
        g_mode = LapicMode::xapic;
        uint64_t pa = rdmsr(kMsrApicBase) & 0x000ffffffffff000ull;
        auto r = map_page(kernel_pml4(), kLapicVa, pa, kPteWrite | kPteNoCache | kPteWriteThrough | kPteNx | kPteGlobal,
                          &frame_alloc);
        if (!r.ok()) panic("cannot map the local APIC: %s", error_name(r.error()));
        invlpg(kLapicVa);
        g_mmio = reinterpret_cast<volatile uint32_t*>(kLapicVa);
    }
    set_interrupt_handler(vec::kTimer, timer_irq);
    enable_local();
    kprintf("[capos] lapic: %s id=%u tsc-deadline=%s\n", g_mode == LapicMode::x2apic ? "x2apic" : "xapic", lapic_id(),
            g_has_deadline ? "yes" : "no");
}

void lapic_init_ap() { enable_local(); }

LapicMode lapic_mode() { return g_mode; }

uint32_t lapic_id() {
    uint32_t v = lapic_read(lapic_reg::kId);
    return g_mode == LapicMode::x2apic ? v : (v >> 24);
}

void lapic_eoi() { lapic_write(lapic_reg::kEoi, 0); }

void lapic_send(uint32_t dest_apic_id, uint32_t icr_low) {
    if (g_mode == LapicMode::x2apic) {
        // WRMSR to the x2APIC is not serialising: make earlier stores
        // visible before the target can act on the IPI.
        asm volatile("mfence; lfence" ::: "memory");
        wrmsr(kMsrX2Base + (lapic_reg::kIcrLow >> 4), (static_cast<uint64_t>(dest_apic_id) << 32) | icr_low);
        return;
    }
    IrqState s = irq_save();  // ICR high+low must not be split by an interrupt that sends too
    g_mmio[lapic_reg::kIcrHigh / 4] = dest_apic_id << 24;
    g_mmio[lapic_reg::kIcrLow / 4] = icr_low;
    while ((g_mmio[lapic_reg::kIcrLow / 4] & kIcrPending) != 0) pause();
    irq_restore(s);
}

namespace {
// One reading of (TSC, PIT count, LAPIC count) taken as close together as
// the machine allows: of several tries, the one whose TSC bracket is the
// narrowest wins, so a try interrupted by the host (a vCPU descheduled
// mid-read) is discarded instead of skewing the rate.
struct ClockSample {
    uint64_t tsc;
    uint64_t width;
    uint16_t pit;
    uint32_t apic;
};

ClockSample clock_sample() {
    ClockSample best{0, ~0ull, 0, 0};
    for (int i = 0; i < 8; ++i) {
        uint64_t a = rdtsc();
        uint16_t pit = pit_read_count();
        uint32_t apic = lapic_read(lapic_reg::kTimerCurrent);
        uint64_t b = rdtsc();
        if (b - a < best.width) best = ClockSample{a + (b - a) / 2, b - a, pit, apic};
    }
    return best;
}

// One ~40 ms window: rates of the TSC and of the LAPIC counter in Hz.
// Returns false if the PIT wrapped (window lost).
bool calibration_window(uint64_t* tsc_rate, uint64_t* apic_rate) {
    constexpr uint16_t kSpan = 47727;  // 40 ms of PIT ticks
    pit_oneshot_start(0xffff);
    lapic_write(lapic_reg::kTimerInit, 0xffffffffu);
    ClockSample s0 = clock_sample();
    while (static_cast<uint16_t>(s0.pit - pit_read_count()) < kSpan) pause();
    ClockSample s1 = clock_sample();
    uint16_t dpit = static_cast<uint16_t>(s0.pit - s1.pit);
    if (s1.pit > s0.pit || dpit < kSpan || pit_oneshot_done()) return false;
    *tsc_rate = mul_div(s1.tsc - s0.tsc, kPitHz, dpit);
    *apic_rate = mul_div(s0.apic - s1.apic, kPitHz, dpit);
    return true;
}
}  // namespace

void lapic_timer_calibrate() {
    // Three 40 ms PIT windows, each measuring the TSC and the LAPIC counter
    // against the PIT count read at both ends; medians of the three.
    uint64_t tsc_rates[3] = {0, 0, 0}, apic_rates[3] = {0, 0, 0};
    lapic_write(lapic_reg::kLvtTimer, kLvtMasked | vec::kTimer);
    lapic_write(lapic_reg::kTimerDivide, kDivideBy16);
    IrqState s = irq_save();
    for (int k = 0, tries = 0; k < 3 && tries < 10; ++tries) {
        if (calibration_window(&tsc_rates[k], &apic_rates[k])) ++k;
    }
    irq_restore(s);
    lapic_write(lapic_reg::kTimerInit, 0);
    uint64_t measured = median3(tsc_rates[0], tsc_rates[1], tsc_rates[2]);
    g_timer_hz = median3(apic_rates[0], apic_rates[1], apic_rates[2]);
    uint64_t c15 = tsc_hz_from_cpuid15();
    uint64_t c16 = tsc_hz_from_cpuid16();
    const char* source = "pit";
    uint64_t hz = measured;
    // CPUID 0x15 is exact where complete, but hypervisors may report a rate
    // the TSC they expose does not run at: take it only if it agrees.
    if (c15 != 0 && c15 / 50 > (c15 > measured ? c15 - measured : measured - c15)) {
        hz = c15;
        source = "cpuid15";
    }
    tsc_set_hz(hz);
    if (g_timer_hz == 0) panic("LAPIC timer does not count");
    kprintf("[capos] tsc: %llu kHz (source %s; pit %llu kHz, cpuid15 %llu kHz, cpuid16 %llu kHz)\n",
            static_cast<unsigned long long>(hz / 1000), source, static_cast<unsigned long long>(measured / 1000),
            static_cast<unsigned long long>(c15 / 1000), static_cast<unsigned long long>(c16 / 1000));
    kprintf("[capos] lapic timer: %llu kHz after divide-by-16\n", static_cast<unsigned long long>(g_timer_hz / 1000));
}

// --- arch/interface/timer.h ---------------------------------------------------

uint64_t timer_counter_hz() { return g_timer_hz; }
bool timer_has_tsc_deadline() { return g_has_deadline; }

TimerHandler set_timer_handler(TimerHandler h) { return __atomic_exchange_n(&g_timer_handler, h, __ATOMIC_ACQ_REL); }

bool timer_set_periodic(uint32_t hz) {
    if (hz == 0 || hz > 10000 || g_timer_hz == 0) return false;
    uint64_t count = g_timer_hz / hz;
    if (count == 0 || count > 0xffffffffull) return false;
    IrqState s = irq_save();
    lapic_write(lapic_reg::kTimerInit, 0);
    lapic_write(lapic_reg::kTimerDivide, kDivideBy16);
    lapic_write(lapic_reg::kLvtTimer, kLvtPeriodic | vec::kTimer);
    lapic_write(lapic_reg::kTimerInit, static_cast<uint32_t>(count));
    cpu::current().timer_mode = static_cast<uint8_t>(TimerMode::periodic);
    irq_restore(s);
    return true;
}

void timer_oneshot_ns(uint64_t ns) {
    IrqState s = irq_save();
    lapic_write(lapic_reg::kTimerInit, 0);
    if (g_has_deadline) {
        lapic_write(lapic_reg::kLvtTimer, kLvtDeadline | vec::kTimer);
        // SDM: the LVT write must be ordered before the deadline MSR write.
        asm volatile("mfence" ::: "memory");
        uint64_t c = ns_to_cycles(ns);
        wrmsr(kMsrTscDeadline, rdtsc() + (c == 0 ? 1 : c));
        cpu::current().timer_mode = static_cast<uint8_t>(TimerMode::deadline);
    } else {
        lapic_write(lapic_reg::kLvtTimer, vec::kTimer);  // one-shot
        lapic_write(lapic_reg::kTimerDivide, kDivideBy16);
        uint64_t count = mul_div(ns, g_timer_hz, 1000000000ull);
        if (count == 0) count = 1;
        if (count > 0xffffffffull) count = 0xffffffffull;
        lapic_write(lapic_reg::kTimerInit, static_cast<uint32_t>(count));
        cpu::current().timer_mode = static_cast<uint8_t>(TimerMode::oneshot);
    }
    irq_restore(s);
}

void timer_stop() {
    IrqState s = irq_save();
    if (g_has_deadline) wrmsr(kMsrTscDeadline, 0);
    lapic_write(lapic_reg::kLvtTimer, kLvtMasked | vec::kTimer);
    lapic_write(lapic_reg::kTimerInit, 0);
    cpu::current().timer_mode = static_cast<uint8_t>(TimerMode::off);
    irq_restore(s);
}

}  // namespace kern::arch
