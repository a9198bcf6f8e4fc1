// debug_exit.h: leave QEMU with a status through the isa-debug-exit device.
#pragma once
#include <stdint.h>

namespace kern::arch {
// QEMU exits with status (code << 1) | 1. Without the device this returns
// and the caller must halt.
void qemu_exit(uint8_t code);
}  // namespace kern::arch
