// cxxrt.cpp - the few C and C++ runtime symbols the compiler may call in freestanding user code (guest only).
#include <stddef.h>
#include <stdint.h>

extern "C" {

// The compiler emits calls to these for struct copies and initialisation
// even with -ffreestanding. `rep movsb/stosb` is fast on every CPU with
// ERMSB and, being asm, cannot be turned back into a call to itself by the
// optimiser (as a plain copy loop can).
__attribute__((used)) void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

__attribute__((used)) void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (d == s || n == 0) return dst;
    if (d < s || d >= s + n) return memcpy(dst, src, n);
    // Overlap with dst above src: copy backwards (DF=1), then restore DF=0
    // as the ABI requires.
    d += n - 1;
    s += n - 1;
    asm volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

__attribute__((used)) void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

__attribute__((used)) int memcmp(const void* a, const void* b, size_t n) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

__attribute__((used)) size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

// A pure virtual call means a destroyed or half-built object: stop.
void __cxa_pure_virtual() { __builtin_trap(); }

}  // extern "C"
