// serial.cpp: COM1 at 115200 8N1, polled. Polling keeps the console usable
// from any context (exceptions, NMI, panic) without interrupt plumbing.
#include "arch/interface/console.h"
#include "arch/x86_64/implements.h"
#include "arch/x86_64/asm.h"

namespace kern::arch {
namespace {
constexpr uint16_t kCom1 = 0x3f8;
bool g_present = false;
}  // namespace

void serial_init() {
    outb(kCom1 + 1, 0x00);  // IER: no interrupts
    outb(kCom1 + 3, 0x80);  // LCR: DLAB on
    outb(kCom1 + 0, 0x01);  // DLL: divisor 1 = 115200 baud
    outb(kCom1 + 1, 0x00);  // DLM
    outb(kCom1 + 3, 0x03);  // LCR: 8N1, DLAB off
    outb(kCom1 + 2, 0xc7);  // FCR: enable and clear FIFOs
    outb(kCom1 + 4, 0x03);  // MCR: DTR, RTS
    // A UART that is absent reads back 0xff from the line status register.
    g_present = inb(kCom1 + 5) != 0xff;
}

void serial_write(const char* s, size_t n) {
    if (!g_present) return;
    for (size_t i = 0; i < n; ++i) {
        char c = s[i];
        if (c == '\n') {
            while ((inb(kCom1 + 5) & 0x20) == 0) pause();
            outb(kCom1, '\r');
        }
        while ((inb(kCom1 + 5) & 0x20) == 0) pause();
        outb(kCom1, static_cast<uint8_t>(c));
    }
}

}  // namespace kern::arch
