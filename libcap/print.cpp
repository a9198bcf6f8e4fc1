// print.cpp - buffered formatted output through the kernel's formatter to a pluggable writer.
#include "libcap/print.h"

#include "capos/fmt/format.h"

namespace cap {

namespace {

OutputFn g_out = nullptr;
void* g_out_ctx = nullptr;

struct Buffer {
    char data[kPrintBuffer];
    size_t used = 0;

    void flush() {
        if (used != 0 && g_out != nullptr) g_out(g_out_ctx, data, used);
        used = 0;
    }
};

void buffer_sink(void* ctx, const char* s, size_t n) {
    auto* b = static_cast<Buffer*>(ctx);
    while (n > 0) {
        if (b->used == kPrintBuffer) b->flush();
        size_t k = kPrintBuffer - b->used;
        if (k > n) k = n;
        __builtin_memcpy(b->data + b->used, s, k);
        b->used += k;
        s += k;
        n -= k;
    }
}

}  // namespace

void set_output(OutputFn fn, void* ctx) {
    g_out = fn;
    g_out_ctx = ctx;
}

size_t vprint(const char* fmt, va_list ap) {
    Buffer b;
    const size_t n = capos::fmt::vformat(&buffer_sink, &b, fmt, ap);
    b.flush();
    return n;
}

size_t print(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const size_t n = vprint(fmt, ap);
    va_end(ap);
    return n;
}

void write(const char* s, size_t n) {
    Buffer b;
    buffer_sink(&b, s, n);
    b.flush();
}

size_t snprint(char* buf, size_t cap, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const size_t n = capos::fmt::vsnformat(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

}  // namespace cap
