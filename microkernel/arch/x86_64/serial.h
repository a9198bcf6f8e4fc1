// serial.h: COM1 UART (16550) output, the kernel console's only device.
#pragma once
#include <stddef.h>

namespace kern::arch {
void serial_init();
void serial_write(const char* s, size_t n);
}  // namespace kern::arch
