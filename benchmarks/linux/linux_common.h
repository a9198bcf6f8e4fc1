// benchmarks/linux/linux_common.h — small helpers shared by the static Linux baseline programs.
#pragma once

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cycles.h"

namespace bench::linux_baseline {

// Writes a whole line (plus '\n') with one write(2) so lines from different
// processes never interleave on the console.
inline void emit_line(const char* text) {
    char buf[512];
    size_t n = strlen(text);
    if (n > sizeof(buf) - 2) {
        n = sizeof(buf) - 2;
    }
    memcpy(buf, text, n);
    buf[n++] = '\n';
    size_t off = 0;
    while (off < n) {
        const ssize_t w = write(1, buf + off, n - off);
        if (w <= 0) {
            return;
        }
        off += static_cast<size_t>(w);
    }
}

// Online CPUs this process may run on (the guest's vCPU count).
inline uint32_t online_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) {
            return static_cast<uint32_t>(n);
        }
    }
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<uint32_t>(n) : 1u;
}

inline uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// TSC rate measured against CLOCK_MONOTONIC over ~window_ms (0 if implausible).
inline uint64_t measure_tsc_hz(uint32_t window_ms = 200) {
    const uint64_t n0 = monotonic_ns();
    const uint64_t c0 = cycles_now();
    const timespec req{0, static_cast<long>(window_ms) * 1'000'000L};
    nanosleep(&req, nullptr);
    const uint64_t n1 = monotonic_ns();
    const uint64_t c1 = cycles_now();
    if (n1 <= n0 || c1 <= c0) {
        return 0;
    }
    const unsigned __int128 hz = static_cast<unsigned __int128>(c1 - c0) * 1'000'000'000u / (n1 - n0);
    return static_cast<uint64_t>(hz);
}

// "--name=value" or "--name value" parsing for unsigned options.
inline bool parse_u32_arg(int argc, char** argv, int& i, const char* name, uint32_t& out) {
    const size_t len = strlen(name);
    const char* a = argv[i];
    const char* val = nullptr;
    if (strncmp(a, name, len) == 0 && a[len] == '=') {
        val = a + len + 1;
    } else if (strcmp(a, name) == 0 && i + 1 < argc) {
        val = argv[++i];
    } else {
        return false;
    }
    char* end = nullptr;
    const unsigned long v = strtoul(val, &end, 0);
    if (end == val || *end != '\0' || v > 0xffff'ffffu) {
        return false;
    }
    out = static_cast<uint32_t>(v);
    return true;
}

}  // namespace bench::linux_baseline
