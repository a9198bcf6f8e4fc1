// timer.h (arch interface): the cycle counter's rate and the per-CPU tick
// timer (LAPIC timer on x86_64).
#pragma once

#include <stdint.h>

namespace kern::arch {

struct InterruptFrame;

// Measured TSC rate in Hz (0 before smp_init() calibrated it).
uint64_t tsc_hz();
// Cycle <-> nanosecond conversion at tsc_hz().
uint64_t cycles_to_ns(uint64_t cycles);
uint64_t ns_to_cycles(uint64_t ns);
// Busy-waits about ns nanoseconds (TSC based).
void delay_ns(uint64_t ns);

// Rate of the LAPIC timer counter (after its divider), Hz.
uint64_t timer_counter_hz();
// True if one-shot timers use TSC-deadline mode on this machine.
bool timer_has_tsc_deadline();

// Called on every timer interrupt on every CPU, after this CPU's
// PerCpu::ticks was incremented and the interrupt was acknowledged (EOI), so
// the handler may switch threads. Interrupts are disabled while it runs.
// Returns the handler it replaced (tests chain to it).
using TimerHandler = void (*)(InterruptFrame& frame);
TimerHandler set_timer_handler(TimerHandler h);

// Programs this CPU's timer to fire hz times per second (1..10000).
// Returns false for an out-of-range rate.
[[nodiscard]] bool timer_set_periodic(uint32_t hz);
// Programs one interrupt about ns nanoseconds from now on this CPU (TSC
// deadline where available, LAPIC one-shot otherwise); replaces any periodic
// or pending one-shot setting.
void timer_oneshot_ns(uint64_t ns);
// Stops this CPU's timer.
void timer_stop();

}  // namespace kern::arch
