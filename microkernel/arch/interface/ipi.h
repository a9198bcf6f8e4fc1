// ipi.h (arch interface): inter-processor interrupts by dense CPU id
// (cpu::id()), the reschedule/shootdown hooks the scheduler installs, and a
// cross-CPU function call. Vector numbers: arch/x86_64/ipi.h (namespace vec).
#pragma once

#include <stdint.h>

namespace kern::arch {

struct InterruptFrame;

// Sends a fixed IPI with `vector` to CPU cpu_id (must be online). A vector
// without a handler is reported as unexpected by the receiver.
void send_ipi(unsigned cpu_id, uint8_t vector);
// Sends a fixed IPI to every CPU except this one.
void send_ipi_all_but_self(uint8_t vector);

// Wakes CPU cpu_id (from hlt, too) and runs the reschedule handler there.
void send_reschedule(unsigned cpu_id);

// Handlers run with interrupts disabled after the EOI was sent, so they may
// switch threads. nullptr uninstalls. Each returns the handler it replaced
// (tests chain to it).
using IpiHandler = void (*)(InterruptFrame& frame);
IpiHandler set_reschedule_handler(IpiHandler h);
IpiHandler set_shootdown_handler(IpiHandler h);
// Installs h for any other IPI vector (tests, future users); the kernel
// sends the EOI before h runs.
void set_ipi_handler(uint8_t vector, IpiHandler h);

// Runs fn(arg) on CPU cpu_id in interrupt context (interrupts disabled,
// EOI already sent; fn may sti for a while if it must take interrupts).
// On this CPU it runs directly. wait=true returns after fn returned there.
// Returns false if cpu_id is not online.
using CallFn = void (*)(void* arg);
[[nodiscard]] bool smp_call(unsigned cpu_id, CallFn fn, void* arg, bool wait);

}  // namespace kern::arch

#include "arch/x86_64/ipi.h"
