// pit.cpp: PIT channel 2 as a polled one-shot reference for calibration.
#include "arch/x86_64/pit.h"

#include "arch/x86_64/asm.h"

namespace kern::arch {
namespace {
constexpr uint16_t kPort61 = 0x61;  // bit 0: ch2 gate, bit 1: speaker, bit 5: ch2 OUT
constexpr uint16_t kPitCh2 = 0x42;
constexpr uint16_t kPitCmd = 0x43;
}  // namespace

void pit_oneshot_start(uint16_t ticks) {
    // Gate low and speaker off while programming; mode 0 keeps OUT low until
    // the count reaches zero.
    uint8_t v = inb(kPort61);
    outb(kPort61, static_cast<uint8_t>(v & ~0x03u));
    outb(kPitCmd, 0xb0);  // channel 2, lobyte/hibyte, mode 0, binary
    outb(kPitCh2, static_cast<uint8_t>(ticks & 0xff));
    outb(kPitCh2, static_cast<uint8_t>(ticks >> 8));
    // Rising gate edge starts the count.
    outb(kPort61, static_cast<uint8_t>((v & ~0x02u) | 0x01u));
}

bool pit_oneshot_done() { return (inb(kPort61) & 0x20) != 0; }

uint16_t pit_read_count() {
    outb(kPitCmd, 0x80);  // counter latch, channel 2
    uint8_t lo = inb(kPitCh2);
    uint8_t hi = inb(kPitCh2);
    return static_cast<uint16_t>(lo | (hi << 8));
}

}  // namespace kern::arch
