// console.h (arch interface): the device the kernel console writes to (the
// COM1 UART on x86_64, arch/x86_64/serial.cpp).
#pragma once

#include <stddef.h>

namespace kern::arch {

// Sets the device up; boot CPU, once, before the first serial_write.
void serial_init();
// Writes n bytes, waiting for the device as needed. No locking: the caller
// (debug/console.cpp) serialises writers. Safe with interrupts off and from
// NMI/panic context.
void serial_write(const char* s, size_t n);

}  // namespace kern::arch
