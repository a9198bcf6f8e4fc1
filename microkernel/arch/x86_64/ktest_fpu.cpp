// ktest_fpu.cpp: in-kernel test of FPU/SSE/AVX state across preemption
// (sched_fpu). x86_64: its worker (fpu_test_worker.cpp) is SSE/AVX code.
#include "arch/interface/fpu.h"
#include "arch/x86_64/fpu_test_worker.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ktest/ktest.h"
#include "ktest/helpers.h"
#include "object/thread.h"
#include "sched/sched.h"

namespace kern {
namespace {

using namespace ktest_helpers;

// sched_fpu: pairs of FPU threads share each CPU with different vector
// register and MXCSR contents; the state must survive every preemption.

struct FpuArg {
    unsigned cpu;
    unsigned index;
    alignas(32) uint8_t pattern[512];
    alignas(32) uint8_t out[512];
    uint32_t mxcsr_in;
    uint32_t mxcsr_out;
    uint64_t ticks_waited;
    uint64_t switches_in;
    uint64_t series;
    bool done;
};

void fpu_worker(void* p) {
    auto* a = static_cast<FpuArg*>(p);
    PerCpu& me = cpu::current();  // pinned: stays valid
    uint64_t t0 = me.ticks;
    uint64_t target = t0 + 12 * sched::kDefaultSliceTicks;  // ~6 turns each with two threads
    (void)fpu_test::hold_registers(a->pattern, a->out, arch::fpu::has_avx(), a->mxcsr_in, &me.ticks, target,
                                   ms_cycles(10000), &a->mxcsr_out);
    a->ticks_waited = me.ticks - t0;
    a->series = fpu_test::twice_half_series(300000);
    a->switches_in = Thread::current()->switches_in();
    a->done = true;
}

KTEST("sched_fpu", "XSAVE: two FPU threads per CPU keep distinct xmm/ymm registers and MXCSR across preemption") {
    unsigned n = ncpus();
    static FpuArg args[2 * kMaxCpus];
    static Thread* ts[2 * kMaxCpus];
    unsigned nt = 2 * n;
    for (unsigned i = 0; i < nt; ++i) {
        FpuArg& a = args[i];
        a.cpu = i / 2;
        a.index = i;
        for (unsigned b = 0; b < 512; ++b) a.pattern[b] = static_cast<uint8_t>(b * 7 + i * 31 + 1);
        a.mxcsr_in = (i % 2) == 0 ? 0x1f80 : 0x7f80;  // round-to-nearest vs toward zero
        a.done = false;
        ThreadOptions o;
        o.name = "fpu";
        o.uses_fpu = true;
        o.allowed = CpuMask::only(a.cpu);
        auto t = Thread::create(fpu_worker, &a, o);
        if (!t.ok()) return ktest_fail("create failed");
        ts[i] = t.value();
    }
    if (!join_all(ts, nt)) return ktest_fail("join failed");
    uint64_t expect_series = 300000ull * 299999ull / 2;
    unsigned bytes = arch::fpu::has_avx() ? 512 : 256;
    for (unsigned i = 0; i < nt; ++i) {
        FpuArg& a = args[i];
        bool regs_ok = __builtin_memcmp(a.pattern, a.out, bytes) == 0;
        kprintf("[sched] fpu thread %u cpu %u regs=%s mxcsr=%#x/%#x series=%s ticks=%llu switches_in=%llu\n", i, a.cpu,
                regs_ok ? "ok" : "CORRUPT", a.mxcsr_out, a.mxcsr_in, a.series == expect_series ? "ok" : "WRONG",
                static_cast<unsigned long long>(a.ticks_waited), static_cast<unsigned long long>(a.switches_in));
        if (!a.done) return ktest_fail("fpu thread did not finish");
        if (!regs_ok) return ktest_fail("vector registers changed across a switch");
        if (a.mxcsr_out != a.mxcsr_in) return ktest_fail("MXCSR changed across a switch");
        if (a.series != expect_series) return ktest_fail("SSE arithmetic wrong");
        if (a.switches_in < 3) return ktest_fail("thread was not preempted: the test proves nothing");
    }
    kprintf("[sched] fpu state preserved (%s, %s) in %u threads\n", arch::fpu::mode_name(),
            arch::fpu::has_avx() ? "ymm" : "xmm", nt);
    return ktest_ok();
}

}  // namespace
}  // namespace kern
