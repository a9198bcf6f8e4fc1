// lapic.h: the local APIC, behind one interface with two backends: x2APIC
// (MSRs 0x800+) when CPUID.1:ECX[21] offers it, xAPIC (uncached MMIO page)
// otherwise. The backend is chosen once on the boot CPU; every AP uses it.
#pragma once

#include <stdint.h>

namespace kern::arch {

enum class LapicMode : uint8_t { xapic, x2apic };

// Register offsets in xAPIC MMIO terms; the x2APIC MSR is 0x800 + off/16.
namespace lapic_reg {
inline constexpr uint32_t kId = 0x20;
inline constexpr uint32_t kVersion = 0x30;
inline constexpr uint32_t kTpr = 0x80;
inline constexpr uint32_t kEoi = 0xb0;
inline constexpr uint32_t kSvr = 0xf0;
inline constexpr uint32_t kEsr = 0x280;
inline constexpr uint32_t kIcrLow = 0x300;
inline constexpr uint32_t kIcrHigh = 0x310;  // xAPIC only
inline constexpr uint32_t kLvtTimer = 0x320;
inline constexpr uint32_t kLvtLint0 = 0x350;
inline constexpr uint32_t kLvtLint1 = 0x360;
inline constexpr uint32_t kLvtError = 0x370;
inline constexpr uint32_t kTimerInit = 0x380;
inline constexpr uint32_t kTimerCurrent = 0x390;
inline constexpr uint32_t kTimerDivide = 0x3e0;
}  // namespace lapic_reg

// ICR bits.
inline constexpr uint32_t kIcrFixed = 0u << 8;
inline constexpr uint32_t kIcrNmi = 4u << 8;
inline constexpr uint32_t kIcrInit = 5u << 8;
inline constexpr uint32_t kIcrStartup = 6u << 8;
inline constexpr uint32_t kIcrPending = 1u << 12;  // xAPIC delivery status
inline constexpr uint32_t kIcrAssert = 1u << 14;
inline constexpr uint32_t kIcrLevel = 1u << 15;
inline constexpr uint32_t kIcrAllButSelf = 3u << 18;

// Boot CPU: picks and enables the backend (maps the MMIO page uncached for
// xAPIC), prints "[capos] lapic: x2apic|xapic". Panics if there is no APIC.
void lapic_init_boot();
// AP: enables its LAPIC in the chosen mode.
void lapic_init_ap();
LapicMode lapic_mode();
// This CPU's APIC id (8-bit xAPIC id or 32-bit x2APIC id).
uint32_t lapic_id();
void lapic_eoi();
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);
// Sends an IPI: icr_low carries vector, delivery mode and shorthand;
// dest is ignored with a shorthand. Waits for the xAPIC to accept it.
void lapic_send(uint32_t dest_apic_id, uint32_t icr_low);

// Timer modes as programmed in PerCpu::timer_mode.
enum class TimerMode : uint8_t { off, periodic, oneshot, deadline };

// Boot CPU: measures the TSC and the LAPIC timer against the PIT (and CPUID
// 0x15 where it is complete) and prints the result.
void lapic_timer_calibrate();

}  // namespace kern::arch
