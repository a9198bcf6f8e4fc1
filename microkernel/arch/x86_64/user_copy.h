// user_copy.h: raw fault-tolerant access to user memory (x86_64), and the
// exception-table lookup the fault handlers use.
//
// Callers go through ipc/user_copy.h, which checks the range first; these
// only guarantee that a fault inside the access returns failure.
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {
// 0 on success, 1 when a fault stopped the copy (part may have been copied).
uint64_t capos_user_copy(void* dst, const void* src, size_t n);
// One atomic 32-bit load from user memory; 0 on success, 1 on fault.
uint64_t capos_user_load32(const uint32_t* src, uint32_t* out);
// Set once at boot: the CPU has SMAP (STAC/CLAC are used).
extern uint8_t g_capos_smap;
}

namespace kern::arch {

// If rip is a user-access instruction, returns its fixup address, else 0.
uint64_t user_access_fixup(uint64_t rip);

}  // namespace kern::arch
