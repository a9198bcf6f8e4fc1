// trace_tests.cpp: the placement trace records on every CPU (its buffers hang
// off PerCpu, so none is left out: until 2026-12 a fixed array of 8 dropped
// CPUs 8..63).
#include "arch/interface/cpu.h"
#include "arch/interface/ipi.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ktest/ktest.h"
#include "sched/server/server.h"

namespace kern {
namespace {

// A seq no placement event reaches in a boot without a server.
constexpr uint64_t kMarker = 0x7ace'0000'0000'0001ull;

void record_marker(void*) {
    TraceRecord r;
    r.kind = TraceKind::switch_in;
    r.seq = kMarker;
    r.tsc = arch::read_cycles();
    r.c = cpu::id();
    psrv::trace(r);
}

// The marker this CPU's buffer holds, recorded by this CPU.
bool has_marker(const PerCpu& p) {
    const psrv::CpuTrace* t = p.trace;
    if (t == nullptr) return false;
    for (size_t i = 0; i < t->size(); ++i)
        if (t->at(i).seq == kMarker && t->at(i).cpu == p.id && t->at(i).c == p.id) return true;
    return false;
}

}  // namespace

KTEST("trace_all_cpus", "the placement trace records on every online CPU (ids up to kMaxCpus), then dumps") {
    if (psrv::set_tracing(true) != 0) return ktest_fail("no memory for a trace buffer");
    const unsigned n = cpu::count();
    for (unsigned i = 0; i < n; ++i)
        if (!arch::smp_call(i, record_marker, nullptr, true)) return ktest_fail("smp_call to an online CPU failed");
    (void)psrv::set_tracing(false);
    unsigned seen = 0;
    cpu::for_each_online([&](PerCpu& p) { seen += has_marker(p) ? 1 : 0; });
    kprintf("[ktest] trace recorded on %u of %u cpus\n", seen, n);
    psrv::dump_trace();
    return seen == n ? ktest_ok() : ktest_fail("a CPU's trace lacks its record");
}

}  // namespace kern
