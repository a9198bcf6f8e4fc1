// fpu.h: the x86_64 side of arch/interface/fpu.h that only arch code and the
// x86 FPU tests see: which save instruction is in use and XCR0.
#pragma once

#include <stdint.h>

#include "arch/interface/fpu.h"

namespace kern::arch::fpu {

enum class Mode : uint8_t { fxsave, xsave, xsaveopt };

Mode mode();
uint64_t xcr0();  // enabled components (0 without XSAVE)

}  // namespace kern::arch::fpu
