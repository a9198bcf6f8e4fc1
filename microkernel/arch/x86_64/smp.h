// smp.h: x86_64 implementation of arch/interface/cpu.h (interrupt state,
// the GS-based per-CPU register) and the AP bring-up internals.
#pragma once

#include <stdint.h>

#include "arch/interface/cpu.h"
#include "arch/x86_64/asm.h"

namespace kern::arch {

inline constexpr uint32_t kMsrGsBase = 0xc0000101;
inline constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

inline IrqState irq_save() {
    IrqState s = read_rflags();
    cli();
    return s;
}
inline void irq_restore(IrqState s) {
    if ((s & (1u << 9)) != 0) sti();
}
inline void irq_enable() { sti(); }
inline void irq_disable() { cli(); }
inline bool irq_enabled() { return interrupts_enabled(); }
inline void cpu_relax() { pause(); }
inline void wait_for_interrupt() { asm volatile("sti; hlt" ::: "memory"); }
inline uint64_t read_cycles() { return rdtsc(); }

// gs:0 is PerCpu::self. Volatile: the value changes if the caller migrates.
inline PerCpu* percpu_self() {
    PerCpu* p;
    asm volatile("mov %%gs:0, %0" : "=r"(p));
    return p;
}

}  // namespace kern::arch
