// cxxrt.cpp: the C/C++ runtime pieces a freestanding kernel must supply:
// mem* functions the compiler may call, pure-virtual trap, and global
// constructors run explicitly (in link order) by run_global_constructors().
#include <stddef.h>
#include <stdint.h>

#include "debug/panic.h"

extern "C" {

__attribute__((used)) void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n)::"memory");
    return dst;
}

__attribute__((used)) void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

__attribute__((used)) void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (d == s || n == 0) return dst;
    if (d < s || d >= s + n) return memcpy(dst, src, n);
    for (size_t i = n; i > 0; --i) d[i - 1] = s[i - 1];
    return dst;
}

__attribute__((used)) int memcmp(const void* a, const void* b, size_t n) {
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

__attribute__((used)) size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

void __cxa_pure_virtual() { kern::panic("pure virtual function called"); }

// Destructors of globals never run (the kernel does not exit); the atexit
// registration is disabled with -fno-use-cxa-atexit. This symbol is what
// gcc still references for some static objects.
void* __dso_handle = nullptr;

using Ctor = void (*)();
extern const Ctor __init_array_start[], __init_array_end[];
}

namespace kern {
void run_global_constructors() {
    for (const Ctor* c = __init_array_start; c < __init_array_end; ++c) (*c)();
}
}  // namespace kern
