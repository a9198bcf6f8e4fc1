// boot_cpu.cpp: the boot CPU's GDT/TSS with its IST stacks, the IDT and the
// PIC mask (arch/interface/boot.h). APs get theirs in smp.cpp.
#include <stdint.h>

#include "arch/interface/boot.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/pic.h"
#include "cpu/percpu.h"
#include "arch/x86_64/implements.h"

extern "C" char boot_stack_top[];  // boot.S

namespace kern::arch {
namespace {

alignas(16) CpuTables g_bsp_tables;
alignas(16) uint8_t g_bsp_ist[3][8192];

}  // namespace

void boot_cpu_init() {
    load_cpu_tables(g_bsp_tables, reinterpret_cast<uint64_t>(g_bsp_ist[0] + sizeof(g_bsp_ist[0])),
                    reinterpret_cast<uint64_t>(g_bsp_ist[1] + sizeof(g_bsp_ist[1])),
                    reinterpret_cast<uint64_t>(g_bsp_ist[2] + sizeof(g_bsp_ist[2])));
    cpu::set_boot_cpu_resources(&g_bsp_tables, reinterpret_cast<uint64_t>(boot_stack_top));
    idt_init();
    pic_disable();
}

}  // namespace kern::arch
