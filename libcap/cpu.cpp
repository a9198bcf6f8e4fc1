// cpu.cpp - current_cpu() with a CPUID check before RDTSCP (guest only).
#include "libcap/cpu.h"

namespace cap {

namespace {

void cpuid(uint32_t leaf, uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d) {
    asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(0u));
}

// 0 unknown, 1 present, 2 absent. Racing first calls compute the same answer.
int g_rdtscp = 0;

}  // namespace

bool has_rdtscp() {
    int v = __atomic_load_n(&g_rdtscp, __ATOMIC_RELAXED);
    if (v == 0) {
        uint32_t a, b, c, d;
        cpuid(0x80000000u, a, b, c, d);
        bool present = false;
        if (a >= 0x80000001u) {
            cpuid(0x80000001u, a, b, c, d);
            present = (d & (1u << 27)) != 0;
        }
        v = present ? 1 : 2;
        __atomic_store_n(&g_rdtscp, v, __ATOMIC_RELAXED);
    }
    return v == 1;
}

uint32_t current_cpu() {
    if (has_rdtscp()) {
        uint32_t lo, hi, aux;
        asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
        return aux;
    }
    uint32_t a, b, c, d;
    cpuid(1, a, b, c, d);
    return b >> 24;
}

}  // namespace cap
