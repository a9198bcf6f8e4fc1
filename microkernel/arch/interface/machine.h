// machine.h (arch interface): leaving the machine, for tests and panics.
#pragma once

#include <stdint.h>

namespace kern::arch {

// Ends the emulator run with `code` (QEMU's isa-debug-exit device: the exit
// status is (code << 1) | 1). Returns when there is no such device; the
// caller must then halt (halt_forever_cpu, arch/interface/cpu.h). Any CPU,
// any context.
void qemu_exit(uint8_t code);

}  // namespace kern::arch
