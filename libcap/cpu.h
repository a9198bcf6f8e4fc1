// cpu.h - which CPU the calling thread runs on, without assuming optional instructions (guest only).
#pragma once
#include <stdint.h>

namespace cap {

// The kernel's id of the CPU the caller runs on right now (it may move on at
// the next instruction). RDTSCP's TSC_AUX, which the kernel sets to the CPU
// id, where CPUID says RDTSCP exists; otherwise (QEMU's default qemu64,
// core2duo, Nehalem models) the initial APIC id from CPUID leaf 1, which the
// kernel's dense ids follow for QEMU's -smp N topologies. For diagnostics
// (placement reports), never for correctness.
uint32_t current_cpu();

// True if the processor has RDTSCP (CPUID.80000001H:EDX bit 27); cached.
bool has_rdtscp();

}  // namespace cap
