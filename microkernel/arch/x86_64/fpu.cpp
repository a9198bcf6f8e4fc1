// fpu.cpp: enabling SSE/AVX and saving/restoring extended state.
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/implements.h"

#include "arch/x86_64/asm.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "lib/unaligned.h"

namespace kern::arch::fpu {
namespace {
constexpr uint64_t kCr0Mp = 1ull << 1;
constexpr uint64_t kCr0Em = 1ull << 2;
constexpr uint64_t kCr0Ts = 1ull << 3;
constexpr uint64_t kCr0Ne = 1ull << 5;
constexpr uint64_t kCr4Osfxsr = 1ull << 9;
constexpr uint64_t kCr4Osxmmexcpt = 1ull << 10;
constexpr uint64_t kCr4Osxsave = 1ull << 18;
constexpr uint64_t kXcr0X87 = 1;
constexpr uint64_t kXcr0Sse = 2;
constexpr uint64_t kXcr0Avx = 4;

bool g_decided = false;
Mode g_mode = Mode::fxsave;
uint64_t g_xcr0 = 0;
size_t g_size = 512;

void xsetbv(uint32_t reg, uint64_t v) {
    asm volatile("xsetbv" ::"c"(reg), "a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)) : "memory");
}
}  // namespace

void cpu_init() {
    CpuidResult l1 = cpuid(1);
    bool xsave = (l1.ecx & (1u << 26)) != 0;
    bool avx = (l1.ecx & (1u << 28)) != 0;
    write_cr0((read_cr0() | kCr0Mp | kCr0Ne) & ~(kCr0Em | kCr0Ts));
    uint64_t cr4 = read_cr4() | kCr4Osfxsr | kCr4Osxmmexcpt;
    if (xsave) cr4 |= kCr4Osxsave;
    write_cr4(cr4);
    uint64_t want = 0;
    if (xsave) {
        CpuidResult d0 = cpuid(0xd, 0);
        uint64_t supported = d0.eax | (static_cast<uint64_t>(d0.edx) << 32);
        want = kXcr0X87 | kXcr0Sse | (avx && (supported & kXcr0Avx) != 0 ? kXcr0Avx : 0);
        xsetbv(0, want);
    }
    asm volatile("fninit");
    if (!g_decided) {
        g_decided = true;
        g_xcr0 = want;
        if (xsave) {
            g_mode = (cpuid(0xd, 1).eax & 1) != 0 ? Mode::xsaveopt : Mode::xsave;
            g_size = cpuid(0xd, 0).ebx;  // for the components now enabled in XCR0
        }
        kprintf("[capos] fpu: %s xcr0=%#llx area=%zu bytes%s\n", mode_name(), static_cast<unsigned long long>(g_xcr0),
                g_size, has_avx() ? " avx" : "");
    } else if (want != g_xcr0) {
        panic("fpu: CPU offers XCR0 %#llx, boot CPU had %#llx", static_cast<unsigned long long>(want),
              static_cast<unsigned long long>(g_xcr0));
    }
}

Mode mode() { return g_mode; }
const char* mode_name() {
    switch (g_mode) {
        case Mode::fxsave:
            return "fxsave";
        case Mode::xsave:
            return "xsave";
        case Mode::xsaveopt:
            return "xsaveopt";
    }
    return "?";
}
bool has_avx() { return (g_xcr0 & kXcr0Avx) != 0; }
uint64_t xcr0() { return g_xcr0; }
size_t area_size() { return g_size; }

void init_area(void* area) {
    auto* b = static_cast<uint8_t*>(area);
    for (size_t i = 0; i < g_size; ++i) b[i] = 0;
    // Legacy region: FCW at 0, MXCSR at 24. XSTATE_BV (offset 512) stays 0,
    // so XRSTOR puts every component in its initial state (MXCSR is still
    // read from the area).
    store_le16(b, 0x037f);
    store_le32(b + 24, 0x1f80);
}

void save(void* area) {
    switch (g_mode) {
        case Mode::xsaveopt:
            asm volatile("xsaveopt64 (%0)" ::"r"(area), "a"(0xffffffffu), "d"(0xffffffffu) : "memory");
            break;
        case Mode::xsave:
            asm volatile("xsave64 (%0)" ::"r"(area), "a"(0xffffffffu), "d"(0xffffffffu) : "memory");
            break;
        case Mode::fxsave:
            asm volatile("fxsave64 (%0)" ::"r"(area) : "memory");
            break;
    }
}

void restore(const void* area) {
    if (g_mode == Mode::fxsave) {
        asm volatile("fxrstor64 (%0)" ::"r"(area) : "memory");
    } else {
        asm volatile("xrstor64 (%0)" ::"r"(area), "a"(0xffffffffu), "d"(0xffffffffu) : "memory");
    }
}

}  // namespace kern::arch::fpu
