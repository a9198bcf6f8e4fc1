// ipi.h: every interrupt vector the kernel assigns, in one place, and the
// x86_64 IPI internals. Higher vectors have higher LAPIC priority.
#pragma once

#include <stdint.h>

namespace kern::arch::vec {

inline constexpr uint8_t kNmi = 2;              // panic stop-all arrives as NMI
inline constexpr uint8_t kTimer = 0x40;         // LAPIC timer tick
inline constexpr uint8_t kTestPing = 0xd0;      // IPI tests: ping to a CPU
inline constexpr uint8_t kTestPong = 0xd1;      // IPI tests: answer
inline constexpr uint8_t kReschedule = 0xf0;    // run the scheduler (wakes hlt)
inline constexpr uint8_t kCallFunction = 0xf1;  // smp_call mailbox
inline constexpr uint8_t kTlbShootdown = 0xf2;  // TLB shootdown request
inline constexpr uint8_t kPanicStop = 0xfd;     // documentation: stop-all uses NMI delivery
inline constexpr uint8_t kLapicError = 0xfe;    // LAPIC error LVT
inline constexpr uint8_t kSpurious = 0xff;      // LAPIC spurious vector

}  // namespace kern::arch::vec

namespace kern::arch {

// Installs the kernel's IPI, timer, spurious, error and NMI handlers (boot
// CPU, once) and the panic stop-others hook.
void ipi_init();

// True once some CPU asked every other CPU to stop (panic in progress).
bool stop_requested();

}  // namespace kern::arch
