// format.h: printf-style formatting into a caller-supplied sink (kernel and host).
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

namespace capos::fmt {

// A sink receives the formatted characters in order. ctx is passed through.
using Sink = void (*)(void* ctx, const char* s, size_t n);

// Supported conversions: %d %i %u %x %X %o %p %s %c %% and %b (binary).
// Flags: '-' (left), '0' (zero pad), '+', ' ', '#' (0x prefix). Width and
// precision as numbers or '*'. Length modifiers: hh h l ll z j t.
// Unknown conversions are printed literally as "%?" so a bad format string
// is visible in the log rather than silently corrupting the arguments.
// Returns the number of characters produced.
size_t vformat(Sink sink, void* ctx, const char* fmt, va_list ap);
size_t format(Sink sink, void* ctx, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

// snprintf equivalent: always NUL-terminates when cap > 0; returns the length
// the full output would have had (so truncation is detectable).
size_t vsnformat(char* buf, size_t cap, const char* fmt, va_list ap);
size_t snformat(char* buf, size_t cap, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace capos::fmt
