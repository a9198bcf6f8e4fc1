// user_copy.h: copying between kernel memory and the current address space's
// user half.
//
// Every function checks the whole range first (inside [0, kUserEnd), no
// wrap; so kernel-half and non-canonical pointers are refused before any
// access) and then copies with the fault-tolerant routine: an unmapped or
// read-only page makes it return Error::bad_pointer instead of faulting the
// kernel. Part of the destination may have been written when it fails.
// Context: thread context of the process whose memory is meant (the current
// CR3); interrupts may be on or off; no lock is needed.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"

namespace kern {

[[nodiscard]] Result<void> copy_from_user(void* dst, uint64_t user_src, size_t n);
[[nodiscard]] Result<void> copy_to_user(uint64_t user_dst, const void* src, size_t n);
// Atomic load of a naturally aligned user u32 (Park). Errors: bad_pointer
// (also for a misaligned address).
[[nodiscard]] Result<uint32_t> load_user_u32(uint64_t user_addr);

}  // namespace kern
