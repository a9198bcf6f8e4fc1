// console.h: the kernel console (serial), safe from any context.
#pragma once
#include <stdarg.h>
#include <stddef.h>

namespace kern {
void console_init();
void console_write(const char* s, size_t n);
// Formats and writes atomically with respect to other CPUs' lines.
void kprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vkprintf(const char* fmt, va_list ap);
// Used by panic/NMI paths: forget any console lock held by a stopped CPU.
void console_force_unlock();
}  // namespace kern
