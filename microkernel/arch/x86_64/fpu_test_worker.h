// fpu_test_worker.h: SSE/AVX code for the FPU-state tests (callable only from
// threads created with uses_fpu).
#pragma once

#include <stdint.h>

namespace kern::fpu_test {

// Loads 16 vector registers from pattern (16 x 32 bytes with avx, 16 x 16
// without) and MXCSR from mxcsr, spins (without touching them) until
// *counter >= target or max_cycles TSC cycles passed, then stores the
// registers to out and MXCSR to *mxcsr_out. Returns the spin count.
uint64_t hold_registers(const uint8_t* pattern, uint8_t* out, bool avx, uint32_t mxcsr,
                        const volatile uint64_t* counter, uint64_t target, uint64_t max_cycles, uint32_t* mxcsr_out);

// 2 * (sum of i * 0.5 for i < n) computed in double arithmetic; equals
// n * (n - 1) / 2 when the FPU state is intact.
uint64_t twice_half_series(uint64_t n);

}  // namespace kern::fpu_test
