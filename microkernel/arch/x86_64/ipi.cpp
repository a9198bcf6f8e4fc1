// ipi.cpp: fixed IPIs by CPU id, the reschedule/shootdown hooks, generic IPI
// vector handlers and the cross-CPU call mailbox (smp_call).
#include "arch/x86_64/ipi.h"

#include "arch/interface/cpu.h"
#include "arch/interface/ipi.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/nmi.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "cpu/percpu.h"

namespace kern::arch {
namespace {

// One mailbox per target CPU. state: 0 free, 1 being filled, 2 ready.
struct CallSlot {
    uint32_t state;
    CallFn fn;
    void* arg;
    volatile uint32_t* done;
};
CallSlot g_slots[kMaxCpus];

IpiHandler g_ipi_hooks[256];

IpiKind kind_of(uint64_t vector) {
    switch (vector & 0xff) {
        case vec::kReschedule:
            return IpiKind::reschedule;
        case vec::kTlbShootdown:
            return IpiKind::tlb;
        case vec::kCallFunction:
            return IpiKind::call;
        default:
            return IpiKind::other;
    }
}

// Interrupt context (interrupts off): this CPU took an IPI.
void count_rx(IpiKind k) { count(cpu::current().counters.ipi_rx[static_cast<unsigned>(k)]); }

// n IPIs of `vector` sent by this CPU. Senders may run with interrupts on,
// so the increment is made with them off (no migration between reading the
// block and writing it).
void count_tx(uint8_t vector, uint64_t n) {
    IrqState s = irq_save();
    count(cpu::current().counters.ipi_tx[static_cast<unsigned>(kind_of(vector))], n);
    irq_restore(s);
}

// Runs the call waiting in this CPU's mailbox, if any. Interrupts are off.
void run_pending_call() {
    CallSlot& s = g_slots[cpu::id()];
    if (__atomic_load_n(&s.state, __ATOMIC_ACQUIRE) != 2) return;
    CallFn fn = s.fn;
    void* arg = s.arg;
    volatile uint32_t* done = s.done;
    __atomic_store_n(&s.state, 0, __ATOMIC_RELEASE);
    fn(arg);
    PerCpu& c = cpu::current();
    c.call_done_seq = c.call_done_seq + 1;
    if (done != nullptr) __atomic_store_n(done, 1u, __ATOMIC_RELEASE);
}

// Every vector set through set_ipi_handler() lands here: EOI first, so the
// hook may switch threads, then the hook.
void ipi_entry(InterruptFrame& f) {
    count_rx(kind_of(f.vector));
    lapic_eoi();
    IpiHandler h = __atomic_load_n(&g_ipi_hooks[f.vector & 0xff], __ATOMIC_ACQUIRE);
    if (h != nullptr) h(f);
}

void call_entry(InterruptFrame&) {
    count_rx(IpiKind::call);
    lapic_eoi();
    run_pending_call();
}

void spurious_entry(InterruptFrame&) {}  // no EOI for the spurious vector

void error_entry(InterruptFrame&) {
    lapic_write(lapic_reg::kEsr, 0);
    uint32_t esr = lapic_read(lapic_reg::kEsr);
    lapic_eoi();
    kprintf("[capos] lapic error on cpu %u: esr=%#x\n", cpu::id(), esr);
}

uint32_t apic_of(unsigned cpu_id) {
    PerCpu* p = cpu::get(cpu_id);
    if (p == nullptr) panic("IPI to CPU %u which is not online", cpu_id);
    return p->apic_id;
}

}  // namespace

void set_ipi_handler(uint8_t vector, IpiHandler h) {
    __atomic_store_n(&g_ipi_hooks[vector], h, __ATOMIC_RELEASE);
    set_interrupt_handler(vector, ipi_entry);
}

void send_ipi(unsigned cpu_id, uint8_t vector) {
    lapic_send(apic_of(cpu_id), kIcrFixed | kIcrAssert | vector);
    count_tx(vector, 1);
}

void send_ipi_all_but_self(uint8_t vector) {
    unsigned n = cpu::count();
    if (n <= 1) return;
    lapic_send(0, kIcrFixed | kIcrAssert | kIcrAllButSelf | vector);
    count_tx(vector, n - 1);
}

void send_reschedule(unsigned cpu_id) { send_ipi(cpu_id, vec::kReschedule); }
IpiHandler set_reschedule_handler(IpiHandler h) {
    return __atomic_exchange_n(&g_ipi_hooks[vec::kReschedule], h, __ATOMIC_ACQ_REL);
}
IpiHandler set_shootdown_handler(IpiHandler h) {
    return __atomic_exchange_n(&g_ipi_hooks[vec::kTlbShootdown], h, __ATOMIC_ACQ_REL);
}

bool smp_call(unsigned cpu_id, CallFn fn, void* arg, bool wait) {
    PerCpu* target = cpu::get(cpu_id);
    if (target == nullptr || !target->online) return false;
    {
        // Interrupts off before asking who we are: a preemptible caller
        // could otherwise migrate between the check and the call.
        IrqState s = irq_save();
        if (cpu_id == cpu::id()) {
            fn(arg);
            irq_restore(s);
            return true;
        }
        irq_restore(s);
    }
    CallSlot& slot = g_slots[cpu_id];
    // While we wait, keep serving our own mailbox: two CPUs calling each
    // other with interrupts off must not deadlock.
    for (;;) {
        uint32_t expected = 0;
        if (__atomic_compare_exchange_n(&slot.state, &expected, 1u, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) break;
        IrqState s = irq_save();
        run_pending_call();
        irq_restore(s);
        pause();
    }
    volatile uint32_t done = 0;
    slot.fn = fn;
    slot.arg = arg;
    slot.done = wait ? &done : nullptr;
    __atomic_store_n(&slot.state, 2u, __ATOMIC_RELEASE);
    send_ipi(cpu_id, vec::kCallFunction);
    while (wait && __atomic_load_n(&done, __ATOMIC_ACQUIRE) == 0) {
        IrqState s = irq_save();
        run_pending_call();
        irq_restore(s);
        pause();
    }
    return true;
}

void ipi_init() {
    set_interrupt_handler(vec::kCallFunction, call_entry);
    set_interrupt_handler(vec::kReschedule, ipi_entry);
    set_interrupt_handler(vec::kTlbShootdown, ipi_entry);
    set_interrupt_handler(vec::kSpurious, spurious_entry);
    set_interrupt_handler(vec::kLapicError, error_entry);
    nmi_init();
}

}  // namespace kern::arch
