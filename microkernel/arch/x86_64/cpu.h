// cpu.h: descriptor tables (GDT, TSS, IDT) and the interrupt frame.
#pragma once

#include <stdint.h>

#include "arch/interface/user.h"

namespace kern::arch {

// Segment selectors. The order user-data-then-user-code is what SYSRET needs
// (STAR[63:48] = 0x18: SS = 0x20|3, CS = 0x28|3).
inline constexpr uint16_t kKernelCs = 0x08;
inline constexpr uint16_t kKernelDs = 0x10;
inline constexpr uint16_t kUserDs = 0x20 | 3;
inline constexpr uint16_t kUserCs = 0x28 | 3;
inline constexpr uint16_t kTssSel = 0x30;

// IST slots (1-based as the IDT encodes them).
inline constexpr uint8_t kIstDoubleFault = 1;
inline constexpr uint8_t kIstNmi = 2;
inline constexpr uint8_t kIstMachineCheck = 3;

// Layout pushed by isr.S; field order matches the pushes in reverse.
struct InterruptFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

struct __attribute__((packed)) Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

// One per CPU: its GDT (with its own TSS descriptor) and TSS.
struct alignas(16) CpuTables {
    uint64_t gdt[8];
    Tss tss;
};

// Fills and loads t (GDT, segment registers, TR). ist_* are stack tops.
void load_cpu_tables(CpuTables& t, uint64_t ist_df, uint64_t ist_nmi, uint64_t ist_mc);
// Builds the shared IDT once (BSP) and loads it (every CPU).
void idt_init();
void idt_load();

using InterruptHandler = void (*)(InterruptFrame& frame);
// Installs a handler for a vector >= 32 (or replaces an exception handler,
// e.g. #PF for user faults). Not synchronised: call during bring-up.
void set_interrupt_handler(uint8_t vector, InterruptHandler h);

// report_exception(): arch/interface/user.h.

}  // namespace kern::arch
