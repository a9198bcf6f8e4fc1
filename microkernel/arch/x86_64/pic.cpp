// pic.cpp: remap-and-mask of the 8259 pair. Left unmasked, the PIT would
// raise IRQ0 on vector 8 and look like a double fault.
#include "arch/x86_64/pic.h"

#include "arch/x86_64/asm.h"

namespace kern::arch {
void pic_disable() {
    outb(0x20, 0x11);  // ICW1: init, expect ICW4
    outb(0xa0, 0x11);
    outb(0x21, 0x20);  // ICW2: master vectors 0x20..0x27
    outb(0xa1, 0x28);  //       slave vectors 0x28..0x2f
    outb(0x21, 0x04);  // ICW3: slave on IRQ2
    outb(0xa1, 0x02);
    outb(0x21, 0x01);  // ICW4: 8086 mode
    outb(0xa1, 0x01);
    outb(0x21, 0xff);  // mask all
    outb(0xa1, 0xff);
}
}  // namespace kern::arch
