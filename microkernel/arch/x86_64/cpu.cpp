// cpu.cpp: GDT/TSS/IDT set-up and the exception report.
#include "arch/x86_64/cpu.h"

#include "arch/x86_64/asm.h"
#include "arch/interface/cpu.h"
#include "cpu/cpu_stats.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "debug/panic.h"

extern "C" const uint64_t isr_stub_table[256];

namespace kern::arch {
namespace {

struct __attribute__((packed)) IdtEntry {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t zero;
};
static_assert(sizeof(IdtEntry) == 16);

struct __attribute__((packed)) DescriptorPointer {
    uint16_t limit;
    uint64_t base;
};

alignas(16) IdtEntry g_idt[256];
InterruptHandler g_handlers[256];

const char* const kExceptionNames[32] = {"#DE divide error",
                                         "#DB debug",
                                         "NMI",
                                         "#BP breakpoint",
                                         "#OF overflow",
                                         "#BR bound range",
                                         "#UD invalid opcode",
                                         "#NM device not available",
                                         "#DF double fault",
                                         "coprocessor overrun",
                                         "#TS invalid TSS",
                                         "#NP segment not present",
                                         "#SS stack fault",
                                         "#GP general protection",
                                         "#PF page fault",
                                         "reserved 15",
                                         "#MF x87 error",
                                         "#AC alignment check",
                                         "#MC machine check",
                                         "#XM SIMD error",
                                         "#VE virtualization",
                                         "#CP control protection",
                                         "reserved 22",
                                         "reserved 23",
                                         "reserved 24",
                                         "reserved 25",
                                         "reserved 26",
                                         "reserved 27",
                                         "#HV hypervisor injection",
                                         "#VC VMM communication",
                                         "#SX security",
                                         "reserved 31"};

void set_gate(uint8_t vec, uint64_t addr, uint8_t ist, uint8_t dpl) {
    IdtEntry& e = g_idt[vec];
    e.offset_lo = static_cast<uint16_t>(addr);
    e.selector = kKernelCs;
    e.ist = ist;
    e.type_attr = static_cast<uint8_t>(0x8e | (dpl << 5));  // present, 64-bit interrupt gate
    e.offset_mid = static_cast<uint16_t>(addr >> 16);
    e.offset_hi = static_cast<uint32_t>(addr >> 32);
    e.zero = 0;
}

}  // namespace

void load_cpu_tables(CpuTables& t, uint64_t ist_df, uint64_t ist_nmi, uint64_t ist_mc) {
    t.gdt[0] = 0;
    t.gdt[1] = 0x00af9a000000ffffull;  // 0x08 kernel code, 64-bit
    t.gdt[2] = 0x00cf92000000ffffull;  // 0x10 kernel data
    t.gdt[3] = 0x00cffa000000ffffull;  // 0x18 user code 32-bit (SYSRET base; unused)
    t.gdt[4] = 0x00cff2000000ffffull;  // 0x20 user data
    t.gdt[5] = 0x00affa000000ffffull;  // 0x28 user code, 64-bit
    auto base = reinterpret_cast<uint64_t>(&t.tss);
    uint64_t limit = sizeof(Tss) - 1;
    t.gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
               (((base >> 24) & 0xff) << 56);
    t.gdt[7] = base >> 32;
    t.tss = Tss{};
    t.tss.ist[kIstDoubleFault - 1] = ist_df;
    t.tss.ist[kIstNmi - 1] = ist_nmi;
    t.tss.ist[kIstMachineCheck - 1] = ist_mc;
    t.tss.iomap_base = sizeof(Tss);  // no I/O bitmap: user port access faults

    DescriptorPointer gdtr{sizeof(t.gdt) - 1, reinterpret_cast<uint64_t>(&t.gdt[0])};
    asm volatile(
        "lgdt %0\n"
        "mov %1, %%ds\n"
        "mov %1, %%es\n"
        "mov %1, %%ss\n"
        "pushq %2\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        :
        : "m"(gdtr), "r"(static_cast<uint64_t>(kKernelDs)), "i"(kKernelCs)
        : "rax", "memory");
    asm volatile("ltr %0" ::"r"(kTssSel));
}

void idt_init() {
    for (int v = 0; v < 256; ++v) {
        uint8_t ist = 0;
        if (v == 8) ist = kIstDoubleFault;
        if (v == 2) ist = kIstNmi;
        if (v == 18) ist = kIstMachineCheck;
        set_gate(static_cast<uint8_t>(v), isr_stub_table[v], ist, 0);
    }
    idt_load();
}

void idt_load() {
    DescriptorPointer idtr{sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(&g_idt[0])};
    asm volatile("lidt %0" ::"m"(idtr));
}

void set_interrupt_handler(uint8_t vector, InterruptHandler h) { g_handlers[vector] = h; }

void report_exception(const InterruptFrame& f) {
    const char* name = f.vector < 32 ? kExceptionNames[f.vector] : "interrupt";
    kprintf("[capos] EXCEPTION vector=%llu (%s) error=%#llx\n", static_cast<unsigned long long>(f.vector), name,
            static_cast<unsigned long long>(f.error));
    kprintf("  rip=%#018llx cs=%#llx rflags=%#llx rsp=%#018llx ss=%#llx\n", static_cast<unsigned long long>(f.rip),
            static_cast<unsigned long long>(f.cs), static_cast<unsigned long long>(f.rflags),
            static_cast<unsigned long long>(f.rsp), static_cast<unsigned long long>(f.ss));
    kprintf("  cr2=%#018llx cr3=%#018llx\n", static_cast<unsigned long long>(read_cr2()),
            static_cast<unsigned long long>(read_cr3()));
    kprintf("  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n", static_cast<unsigned long long>(f.rax),
            static_cast<unsigned long long>(f.rbx), static_cast<unsigned long long>(f.rcx),
            static_cast<unsigned long long>(f.rdx));
    kprintf("  rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx\n", static_cast<unsigned long long>(f.rsi),
            static_cast<unsigned long long>(f.rdi), static_cast<unsigned long long>(f.rbp),
            static_cast<unsigned long long>(f.r8));
    kprintf("  r9 =%016llx r10=%016llx r11=%016llx r12=%016llx\n", static_cast<unsigned long long>(f.r9),
            static_cast<unsigned long long>(f.r10), static_cast<unsigned long long>(f.r11),
            static_cast<unsigned long long>(f.r12));
    kprintf("  r13=%016llx r14=%016llx r15=%016llx\n", static_cast<unsigned long long>(f.r13),
            static_cast<unsigned long long>(f.r14), static_cast<unsigned long long>(f.r15));
    if (f.vector == 14) {
        kprintf("  page fault: %s %s %s%s\n", (f.error & 1) ? "protection" : "not-present",
                (f.error & 2) ? "write" : "read", (f.error & 4) ? "user" : "kernel",
                (f.error & 16) ? " instruction-fetch" : "");
    }
}

}  // namespace kern::arch

extern "C" void isr_dispatch(kern::arch::InterruptFrame* frame) {
    using namespace kern::arch;
    // Every interrupt ends user mode or a halt: a boundary of the cycle
    // accounting (cpu/cpu_stats.h). From kernel code it only splits the
    // kernel account.
    kern::charge_to(kern::cpu::current().counters, kern::CpuMode::kernel, read_cycles());
    InterruptHandler h = g_handlers[frame->vector & 0xff];
    if (h != nullptr) {
        h(*frame);
        return;
    }
    if (frame->vector < 32) {
        report_exception(*frame);
        kern::stop_machine(kern::StopReason::exception);
    }
    kern::kprintf("[capos] unexpected interrupt vector %llu\n", static_cast<unsigned long long>(frame->vector));
}
