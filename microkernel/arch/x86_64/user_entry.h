// user_entry.h: (x86_64 side of user_exceptions_init, arch/interface/user.h)
// CPU exceptions as they concern user mode: a user fault ends
// the faulting process; a fault on a user-access instruction in the kernel
// resumes at its fixup; any other kernel fault is reported and stops the
// machine (as before).
#pragma once

#include <stdint.h>

#include "arch/interface/user.h"
#include "arch/x86_64/cpu.h"

namespace kern::arch {

// The faulting address of the last page fault on this CPU (CR2).
uint64_t fault_address();

}  // namespace kern::arch
