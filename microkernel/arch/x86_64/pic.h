// pic.h: the legacy 8259 PICs, which capOS only remaps and masks.
#pragma once

namespace kern::arch {
// Moves the PIC vectors to 0x20-0x2f (away from exceptions) and masks every
// line: interrupts come from the local APIC only.
void pic_disable();
}  // namespace kern::arch
