// fpu.h: FPU/SSE/AVX state for kernel threads that use it (XSAVE family,
// FXSAVE where XSAVE is absent). Kernel code itself is built with
// -mgeneral-regs-only and never touches these registers, so only threads
// flagged uses_fpu have their state saved and restored on switches.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace kern::arch::fpu {

enum class Mode : uint8_t { fxsave, xsave, xsaveopt };

// Every CPU, early (the boot CPU before the first thread, each AP in its
// scheduler entry): CR0.MP on, EM/TS off; CR4.OSFXSR|OSXMMEXCPT; with XSAVE
// CR4.OSXSAVE and XCR0 = x87|SSE (|AVX when CPUID offers it). The first call
// also picks the mode and the area size.
void cpu_init();

Mode mode();
const char* mode_name();
bool has_avx();      // AVX state is enabled in XCR0
uint64_t xcr0();     // enabled components (0 without XSAVE)
size_t area_size();  // bytes of one save area
inline constexpr size_t kAreaAlign = 64;

// Fills area with the initial state (FCW 0x37f, MXCSR 0x1f80, no AVX state).
void init_area(void* area);
// Saves this CPU's FPU/SSE/AVX registers into area / loads them from it.
void save(void* area);
void restore(const void* area);

}  // namespace kern::arch::fpu
