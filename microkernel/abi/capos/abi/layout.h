// layout.h - the user address space layout every capOS process shares.
//
// Fixed addresses keep the kernel and libcap in agreement without passing
// them at start-up, and keep the ELF loader's range check one comparison.
// All user addresses are in the lower canonical half. Regions:
//
//   [0, kUserImageBase)                     never mapped: null-pointer guard
//   [kUserImageBase, kUserImageEnd)         ELF PT_LOAD segments (static, non-PIE)
//   [kUserHeapBase, kUserHeapEnd)           MemoryObject mappings chosen by the process
//   [kUserTlsBase, +kMaxThreads*stride)     per-thread TLS blocks (FS base points in here)
//   [kUserRingBase, +kMaxThreads*stride)    per-thread capability rings (see ring.h)
//   [.., kUserStackTop)                     per-thread stacks, growing down, guard below each
//   [kUserEnd, 2^47)                        never mapped: the last page below the
//                                           canonical hole stays empty so a SYSCALL at its
//                                           end cannot make SYSRET return to a
//                                           non-canonical RIP (the Intel SYSRET #GP hazard)
//
// Thread i (its index within the process, 0 = main thread) owns the i-th
// ring, TLS and stack slot; every slot is a stride apart with unmapped space
// between, so an overrun of one faults before it reaches the next.
#pragma once

#include <stdint.h>

namespace capos::abi {

inline constexpr uint64_t kPageSize = 4096;

inline constexpr uint64_t kUserImageBase = 0x0000'0000'0040'0000;  // 4 MiB
inline constexpr uint64_t kUserImageEnd = 0x0000'0001'0000'0000;   // 4 GiB (small code model needs < 2 GiB for code)
inline constexpr uint64_t kUserHeapBase = 0x0000'1000'0000'0000;
inline constexpr uint64_t kUserHeapEnd = 0x0000'6000'0000'0000;
inline constexpr uint64_t kUserEnd = 0x0000'7fff'ffff'f000;  // exclusive; last page unmapped

inline constexpr uint32_t kMaxThreadsPerProcess = 1024;

// TLS: the kernel copies the PT_TLS image into the thread's slot; FS base is
// set per the x86-64 variant II ABI (thread pointer at the block's end).
inline constexpr uint64_t kUserTlsBase = 0x0000'7000'0000'0000;
inline constexpr uint64_t kUserTlsStride = 0x1'0000;  // 64 KiB per thread incl. guard

// Rings: header page, then the SQ array, then the CQ array (page-aligned).
inline constexpr uint64_t kUserRingBase = 0x0000'7800'0000'0000;
inline constexpr uint64_t kUserRingStride = 0x10'0000;  // 1 MiB per thread incl. guard

// Stacks: thread i's stack top is kUserStackTop - i * kUserStackStride; at
// most kUserStackMax bytes below it are mapped; the rest of the stride
// (at least kUserStackGuard) stays unmapped as the guard.
inline constexpr uint64_t kUserStackTop = 0x0000'7ff0'0000'0000;
inline constexpr uint64_t kUserStackStride = 0x100'0000;  // 16 MiB
inline constexpr uint64_t kUserStackGuard = 0x1'0000;     // 64 KiB minimum guard
inline constexpr uint64_t kUserStackMax = kUserStackStride - kUserStackGuard;
inline constexpr uint64_t kUserStackDefault = 0x4'0000;  // 256 KiB

constexpr uint64_t user_ring_addr(uint32_t thread_index) {
    return kUserRingBase + static_cast<uint64_t>(thread_index) * kUserRingStride;
}
constexpr uint64_t user_tls_addr(uint32_t thread_index) {
    return kUserTlsBase + static_cast<uint64_t>(thread_index) * kUserTlsStride;
}
constexpr uint64_t user_stack_top(uint32_t thread_index) {
    return kUserStackTop - static_cast<uint64_t>(thread_index) * kUserStackStride;
}

// True when [addr, addr+len) is wholly inside user space (no wrap). len 0 is
// accepted for any addr <= kUserEnd.
constexpr bool user_range_ok(uint64_t addr, uint64_t len) { return addr <= kUserEnd && len <= kUserEnd - addr; }

static_assert(kUserImageEnd <= kUserHeapBase);
static_assert(kUserHeapEnd <= kUserTlsBase);
static_assert(kUserTlsBase + kMaxThreadsPerProcess * kUserTlsStride <= kUserRingBase);
static_assert(kUserRingBase + kMaxThreadsPerProcess * kUserRingStride <=
              kUserStackTop - kMaxThreadsPerProcess * kUserStackStride);
static_assert(kUserStackTop <= kUserEnd);

}  // namespace capos::abi
