// user_entry.h: CPU exceptions as they concern user mode: a user fault ends
// the faulting process; a fault on a user-access instruction in the kernel
// resumes at its fixup; any other kernel fault is reported and stops the
// machine (as before).
#pragma once

#include <stdint.h>

#include "arch/x86_64/cpu.h"

namespace kern::arch {

// Installs the exception handlers (vectors 0..31 but NMI, #DF, #MC). Once,
// during bring-up.
void user_exceptions_init();
// The faulting address of the last page fault on this CPU (CR2).
uint64_t fault_address();

}  // namespace kern::arch

// Called for an exception taken in user mode (interrupts off); never
// returns. Implemented in ipc/syscall.cpp.
[[noreturn]] void user_fault(kern::arch::InterruptFrame& frame);
