// smp.h (arch interface): bringing the other CPUs up and what they run.
#pragma once

namespace kern::arch {

// Boot CPU only, once, after paging and the frame allocator: sets up the
// local APIC (printing the backend), calibrates the TSC and the APIC timer,
// installs IPI/NMI handlers and the panic stop-others hook, reads the ACPI
// MADT and starts every usable AP. Returns the number of CPUs online.
unsigned smp_init();

// Where an AP goes once it is online (interrupts disabled, on its own boot
// stack). Must not return. Until one is set, APs idle in `hlt` and check for
// it after every interrupt, so it may be installed after smp_init() and the
// APs kicked with send_reschedule().
using ApMain = void (*)();
void set_ap_main(ApMain fn);

}  // namespace kern::arch
