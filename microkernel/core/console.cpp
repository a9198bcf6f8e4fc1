// console.cpp: kprintf over the serial port. Lines are formatted into a
// local buffer first and written under one lock so CPUs never interleave
// within a line. The lock is a raw test-and-set with interrupts off (it is
// the one lock below every other in the lock order: leaf rank).
#include "core/console.h"

#include "arch/x86_64/asm.h"
#include "arch/x86_64/serial.h"
#include "lib/format.h"

namespace kern {
namespace {
volatile int g_console_lock = 0;

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

uint64_t lock_console() {
    uint64_t flags = arch::read_rflags();
    arch::cli();
    while (__atomic_exchange_n(&g_console_lock, 1, __ATOMIC_ACQUIRE) != 0) {
        while (__atomic_load_n(&g_console_lock, __ATOMIC_RELAXED) != 0) arch::pause();
    }
    return flags;
}

void unlock_console(uint64_t flags) {
    __atomic_store_n(&g_console_lock, 0, __ATOMIC_RELEASE);
    if ((flags & (1u << 9)) != 0) arch::sti();
}
}  // namespace

void console_init() { arch::serial_init(); }

void console_write(const char* s, size_t n) {
    uint64_t f = lock_console();
    arch::serial_write(s, n);
    unlock_console(f);
}

void vkprintf(const char* fmt, va_list ap) {
    LineBuf b;
    b.used = 0;
    uint64_t f = lock_console();
    fmt::vformat(line_sink, &b, fmt, ap);
    flush(b);
    unlock_console(f);
}

void kprintf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
}

void console_force_unlock() { __atomic_store_n(&g_console_lock, 0, __ATOMIC_RELEASE); }

}  // namespace kern
