// pit.h: the 8254 PIT, used only as a reference clock for calibration
// (channel 2, gate polled through port 0x61; no interrupts).
#pragma once

#include <stdint.h>

namespace kern::arch {

inline constexpr uint32_t kPitHz = 1193182;

// Starts channel 2 counting down `ticks` (1..65535) in mode 0.
void pit_oneshot_start(uint16_t ticks);
// True once the count started by pit_oneshot_start() reached zero.
bool pit_oneshot_done();
// Latches and reads channel 2's current count.
uint16_t pit_read_count();

}  // namespace kern::arch
