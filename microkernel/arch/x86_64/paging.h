// paging.h: x86_64 page-table constants behind arch/interface/paging.h (the
// functions are declared there and implemented in paging.cpp).
#pragma once

#include <stdint.h>

namespace kern::arch {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kDirectMapBase = 0xffff800000000000ull;
inline constexpr uint64_t kKernelVma = 0xffffffff80000000ull;
inline constexpr uint64_t kBootMapLimit = 1ull << 30;  // boot.S maps the first GiB

// Page table entry bits.
inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWrite = 1ull << 1;
inline constexpr uint64_t kPteUser = 1ull << 2;
inline constexpr uint64_t kPteWriteThrough = 1ull << 3;
inline constexpr uint64_t kPteNoCache = 1ull << 4;
inline constexpr uint64_t kPteHuge = 1ull << 7;
inline constexpr uint64_t kPteGlobal = 1ull << 8;
inline constexpr uint64_t kPteNx = 1ull << 63;
inline constexpr uint64_t kPteAddrMask = 0x000ffffffffff000ull;

}  // namespace kern::arch
