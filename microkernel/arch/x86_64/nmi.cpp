// nmi.cpp: NMI handler and the panic stop-all. An NMI reaches a CPU even with
// interrupts disabled or spinning on a lock, which is why stop uses it.
#include "arch/x86_64/nmi.h"

#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/lapic.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "cpu/percpu.h"

namespace kern::arch {
namespace {
int g_stop = 0;         // 1 once a CPU asked the others to stop
unsigned g_parked = 0;  // CPUs that took the stop NMI

void nmi_handler(InterruptFrame&) {
    if (__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE) != 0) {
        count(cpu::current().counters.ipi_rx[static_cast<unsigned>(IpiKind::stop)]);
        __atomic_fetch_add(&g_parked, 1, __ATOMIC_ACQ_REL);
        // NMIs stay blocked until an iret that never comes.
        halt_forever();
    }
    kprintf("[capos] NMI on cpu %u (not a stop request); ignored\n", cpu::id());
}
}  // namespace

bool stop_requested() { return __atomic_load_n(&g_stop, __ATOMIC_ACQUIRE) != 0; }
unsigned nmi_parked_count() { return __atomic_load_n(&g_parked, __ATOMIC_ACQUIRE); }

void nmi_stop_others() {
    cli();
    if (__atomic_exchange_n(&g_stop, 1, __ATOMIC_ACQ_REL) != 0) halt_forever();
    unsigned others = 0;
    cpu::for_each_online([&](PerCpu& c) {
        if (&c != &cpu::current()) ++others;
    });
    if (others == 0) return;
    lapic_send(0, kIcrNmi | kIcrAssert | kIcrAllButSelf);
    count(cpu::current().counters.ipi_tx[static_cast<unsigned>(IpiKind::stop)], others);
    // Bounded wait (about 200 ms, or a spin bound before calibration) so the
    // report is printed after the others went quiet, but always printed.
    uint64_t start = rdtsc();
    uint64_t limit = tsc_hz() != 0 ? tsc_hz() / 5 : 2000000000ull;
    while (nmi_parked_count() < others && rdtsc() - start < limit) pause();
    // A parked CPU may have held the console lock.
    console_force_unlock();
    kprintf("[capos] stop: %u of %u other cpus parked\n", nmi_parked_count(), others);
}

void nmi_init() {
    set_interrupt_handler(vec::kNmi, nmi_handler);
    set_stop_others_hook(nmi_stop_others);
}

}  // namespace kern::arch
