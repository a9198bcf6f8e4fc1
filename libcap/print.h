// print.h - printf-style output to the Console capability, one Console.write per print call.
//
// Formatting is the formatter the kernel also uses (support/capos/fmt/format.cpp,
// compiled into libcap): %d %i %u %x %X %o %p %s %c %% %b with flags, width,
// precision and the hh/h/l/ll/z/j/t modifiers. No floating point.
//
// A print() call formats into a buffer of kPrintBuffer bytes on the stack
// and sends it with as few writes as possible: output of up to kPrintBuffer
// bytes goes out in one Console.write, so a line printed by one call is
// never interleaved with another thread's or process's output. Longer
// output is split at buffer boundaries.
#pragma once

#include <stdarg.h>
#include <stddef.h>

namespace cap {

inline constexpr size_t kPrintBuffer = 1024;

// Where formatted output goes. Start-up installs the Console writer; host
// tests install a capture.
using OutputFn = void (*)(void* ctx, const char* s, size_t n);
void set_output(OutputFn fn, void* ctx);

// Returns the number of characters produced (before any write failure).
size_t print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
size_t vprint(const char* fmt, va_list ap);
// Unformatted bytes through the same path.
void write(const char* s, size_t n);

// snprintf: always NUL-terminates when cap > 0; returns the untruncated length.
size_t snprint(char* buf, size_t cap, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace cap
