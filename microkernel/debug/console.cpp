// console.cpp: kprintf over the serial port. Lines are formatted into a
// local buffer first and written under one lock so CPUs never interleave
// within a line. The lock keeps interrupts off and has the leaf rank
// (LockRank::console): kprintf may be called with any other lock held.
#include "debug/console.h"

#include "arch/interface/console.h"
#include "cpu/spinlock.h"
#include "capos/fmt/format.h"

namespace kern {
namespace {
SpinLockIrq g_console_lock(LockRank::console, "console");

struct LineBuf {
    char buf[256];
    size_t used;
};

void flush(LineBuf& b) {
    arch::serial_write(b.buf, b.used);
    b.used = 0;
}

void line_sink(void* ctx, const char* s, size_t n) {
    auto* b = static_cast<LineBuf*>(ctx);
    for (size_t i = 0; i < n; ++i) {
        if (b->used == sizeof(b->buf)) flush(*b);
        b->buf[b->used++] = s[i];
    }
}

}  // namespace

void console_init() { arch::serial_init(); }

void console_write(const char* s, size_t n) {
    LockGuard<SpinLockIrq> g(g_console_lock);
    arch::serial_write(s, n);
}

void vkprintf(const char* fmt, va_list ap) {
    LineBuf b;
    b.used = 0;
    LockGuard<SpinLockIrq> g(g_console_lock);
    capos::fmt::vformat(line_sink, &b, fmt, ap);
    flush(b);
}

void kprintf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
}

void console_force_unlock() { g_console_lock.force_unlock(); }

}  // namespace kern
