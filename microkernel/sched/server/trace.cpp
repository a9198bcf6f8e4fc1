// trace.cpp: the per-CPU placement trace buffers (`strace`, SchedulerControl.traceDump).
#include "sched/server/server.h"

#include "arch/interface/timer.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "object/thread.h"

namespace kern::psrv {

// --- trace --------------------------------------------------------------------------

constexpr unsigned kTraceCpus = 8;
// 16384 records (768 KiB) per CPU: a placement-workload boot of about 10 s
// under TCG records up to about 11,000 on one CPU (wakeup: a switch every
// few ms per CPU), which 4096 could not hold (`lost=` in the dump). The
// buffers are static: 6 MiB of the kernel's BSS, inside the first GiB the
// boot maps.
TraceBuffer<16384> g_trace[kTraceCpus];
bool g_tracing = false;

void trace(TraceRecord r) {
    if (!__atomic_load_n(&g_tracing, __ATOMIC_RELAXED)) return;
    // One writer per buffer: the recording CPU, interrupts off. The record's
    // cpu field says who recorded it (the CPU an event concerns is in c).
    arch::IrqState s = arch::irq_save();
    unsigned self = cpu::id();
    if (self < kTraceCpus) {
        r.cpu = self;
        g_trace[self].record(r);
    }
    arch::irq_restore(s);
}

void dump_trace() {
    char line[160];
    for (unsigned c = 0; c < kTraceCpus && c < sched::cpu_count(); ++c) {
        for (size_t i = 0; i < g_trace[c].size(); ++i) {
            (void)format_trace(g_trace[c].at(i), line, sizeof line);
            kprintf("[strace] %s\n", line);
        }
        kprintf("[strace] cpu %u records=%llu lost=%llu\n", c, static_cast<unsigned long long>(g_trace[c].size()),
                static_cast<unsigned long long>(g_trace[c].lost()));
        g_trace[c].clear();
    }
    kprintf("[strace] tsc_hz=%llu\n", static_cast<unsigned long long>(arch::tsc_hz()));
}

}  // namespace kern::psrv
