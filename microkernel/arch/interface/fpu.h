// fpu.h (arch interface): FPU/vector register state for kernel threads that
// use it (x86_64: the XSAVE family, FXSAVE where XSAVE is absent;
// arch/x86_64/fpu.cpp). Kernel code itself is built with
// -mgeneral-regs-only and never touches these registers, so only threads
// flagged uses_fpu have their state saved and restored on switches.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace kern::arch::fpu {

// Every CPU, early (the boot CPU before the first thread, each AP in its
// scheduler entry): CR0.MP on, EM/TS off; CR4.OSFXSR|OSXMMEXCPT; with XSAVE
// CR4.OSXSAVE and XCR0 = x87|SSE (|AVX when CPUID offers it). The first call
// also picks the mode and the area size.
void cpu_init();

// After the first cpu_init():
const char* mode_name();  // the save instruction in use (boot line, tests)
bool has_avx();           // 256-bit vector state is saved too
size_t area_size();       // bytes of one save area (allocate it kAreaAlign-aligned)
inline constexpr size_t kAreaAlign = 64;

// Fills area with the initial state (FCW 0x37f, MXCSR 0x1f80, no AVX state).
void init_area(void* area);
// Saves this CPU's FPU/SSE/AVX registers into area / loads them from it.
// Interrupts off (the scheduler's switch path): the registers are this
// CPU's until the restore.
void save(void* area);
void restore(const void* area);

}  // namespace kern::arch::fpu
