// user_copy.h: the x86_64 side of the raw user-memory access declared in
// arch/interface/user.h: the SMAP switch and the exception-table lookup the
// fault handlers use.
#pragma once

#include <stdint.h>

#include "arch/interface/user.h"

extern "C" {
// Set by the first user_cpu_init: the CPU has SMAP (STAC/CLAC are used).
extern uint8_t g_capos_smap;
}

namespace kern::arch {

// If rip is a user-access instruction, returns its fixup address, else 0.
uint64_t user_access_fixup(uint64_t rip);

}  // namespace kern::arch
