// cpu.h (arch interface): what generic kernel code may ask of the local CPU:
// interrupt state, relax/wait, cycle counter, the per-CPU register.
// x86_64 implements these inline in arch/x86_64/smp.h.
#pragma once

#include <stdint.h>

namespace kern {
struct PerCpu;
}

namespace kern::arch {

using IrqState = uint64_t;

// Disables interrupts and returns the previous state for irq_restore().
inline IrqState irq_save();
inline void irq_restore(IrqState s);
inline void irq_enable();
inline void irq_disable();
inline bool irq_enabled();
// Spin-wait hint.
inline void cpu_relax();
// Enables interrupts and halts until one arrives, without the window in
// which a wake-up IPI could be lost (sti; hlt). Returns with interrupts on.
inline void wait_for_interrupt();
// Free-running cycle counter (TSC); see arch/interface/timer.h for its rate.
inline uint64_t read_cycles();
// This CPU's PerCpu block (the per-CPU register holds it).
inline PerCpu* percpu_self();
// Points the per-CPU register of this CPU at p (bring-up only).
void percpu_install(PerCpu* p);
// Halts this CPU for good with interrupts off.
[[noreturn]] void halt_forever_cpu();

}  // namespace kern::arch

#include "arch/x86_64/smp.h"
