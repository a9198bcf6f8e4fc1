// boot.h (arch interface): the boot CPU's first arch steps, before paging.
#pragma once

namespace kern::arch {

// Boot CPU, once, right after cpu::init_boot_cpu() and the console, with
// interrupts off: gives this CPU its descriptor tables and interrupt stacks
// (recorded with cpu::set_boot_cpu_resources), installs the interrupt
// table, and silences legacy interrupt controllers so that interrupts come
// from the local APIC only. After it CPU exceptions are reported.
void boot_cpu_init();

}  // namespace kern::arch
