// syscall.h: the generic side of user entry: the system call table (one
// call), the return-to-user hook, user faults.
#pragma once

#include <stdint.h>

namespace kern {

// Boot CPU, after sched::init: SYSCALL MSRs and SMEP/SMAP/UMIP on every
// online CPU, the exception handlers, the timekeeper and reaper threads.
void userspace_init();

}  // namespace kern
