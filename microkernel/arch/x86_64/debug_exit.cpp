// debug_exit.cpp: isa-debug-exit at port 0xf4 (harness passes
// -device isa-debug-exit,iobase=0xf4,iosize=0x04).
#include "arch/interface/machine.h"
#include "arch/x86_64/implements.h"
#include "arch/x86_64/asm.h"

namespace kern::arch {
void qemu_exit(uint8_t code) { outl(0xf4, code); }
}  // namespace kern::arch
