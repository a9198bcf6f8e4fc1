// trace.cpp: the per-CPU placement trace buffers (`strace`, SchedulerControl.traceDump).
#include "sched/server/server.h"

#include "arch/interface/timer.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "mm/kheap.h"
#include "object/thread.h"

namespace kern::psrv {

// --- trace --------------------------------------------------------------------------

// Buffers hang off each CPU's PerCpu (one door for per-CPU state, and every
// CPU up to kMaxCpus records). They are allocated when tracing first starts,
// not static: 64 CPUs' buffers are about 56 MiB, which a boot that never
// traces should not pay for. Once allocated a buffer stays (PerCpu blocks
// never go away), so trace() needs no lock to find it.
bool g_tracing = false;

unsigned set_tracing(bool on) {
    unsigned missing = 0;
    if (on) {
        cpu::for_each_online([&](PerCpu& p) {
            if (p.trace != nullptr) return;
            auto mem = kmalloc(sizeof(CpuTrace), alignof(CpuTrace));
            if (!mem.ok()) {
                ++missing;
                return;
            }
            // Published before g_tracing (release below): a CPU that sees
            // tracing on sees its buffer.
            __atomic_store_n(&p.trace, new (mem.value()) CpuTrace, __ATOMIC_RELEASE);
        });
        if (missing != 0) kprintf("[strace] no memory for the trace of %u cpus\n", missing);
    }
    __atomic_store_n(&g_tracing, on, __ATOMIC_RELEASE);
    return missing;
}

void trace(TraceRecord r) {
    if (!__atomic_load_n(&g_tracing, __ATOMIC_ACQUIRE)) return;
    // One writer per buffer: the recording CPU, interrupts off. The record's
    // cpu field says who recorded it (the CPU an event concerns is in c).
    arch::IrqState s = arch::irq_save();
    PerCpu& self = cpu::current();
    if (CpuTrace* t = __atomic_load_n(&self.trace, __ATOMIC_ACQUIRE)) {
        r.cpu = self.id;
        t->record(r);
    }
    arch::irq_restore(s);
}

void dump_trace() {
    char line[160];
    for (unsigned c = 0; c < sched::cpu_count(); ++c) {
        const PerCpu* p = cpu::get(c);
        CpuTrace* t = p != nullptr ? __atomic_load_n(&p->trace, __ATOMIC_ACQUIRE) : nullptr;
        if (t == nullptr) {  // never traced (or no memory: set_tracing said so)
            kprintf("[strace] cpu %u records=0 lost=0\n", c);
            continue;
        }
        for (size_t i = 0; i < t->size(); ++i) {
            (void)format_trace(t->at(i), line, sizeof line);
            kprintf("[strace] %s\n", line);
        }
        kprintf("[strace] cpu %u records=%llu lost=%llu\n", c, static_cast<unsigned long long>(t->size()),
                static_cast<unsigned long long>(t->lost()));
        t->clear();
    }
    kprintf("[strace] tsc_hz=%llu\n", static_cast<unsigned long long>(arch::tsc_hz()));
}

}  // namespace kern::psrv
