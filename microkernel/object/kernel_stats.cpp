// kernel_stats.cpp: KernelStats.read, served by the SchedulerControl object.
#include "object/kernel_stats.h"

#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "capos/abi/cap.h"
#include "capos/schema/scheduler.capnp.h"
#include <new>

#include "mm/kheap.h"
#include "cpu/percpu.h"
#include "ipc/ring_dispatch.h"
#include "cap/kstats_codec.h"
#include "object/process.h"

namespace kern::kernel_stats {

namespace abi = capos::abi;
using abi::Status;

namespace {

uint64_t rd(const uint64_t& v) { return read_counter(v); }

// Racy copy of one CPU's counters (field by field, see cpu/cpu_stats.h).
void sample_cpu(const PerCpu& p, kstats::CpuSample& s) {
    const CpuCounters& c = p.counters;
    s.cpu = p.id;
    s.ticks = p.ticks;
    s.c.idle_ticks = rd(c.idle_ticks);
    s.c.switches = rd(c.switches);
    s.c.migrations = rd(c.migrations);
    for (unsigned k = 0; k < kIpiKinds; ++k) {
        s.c.ipi_tx[k] = rd(c.ipi_tx[k]);
        s.c.ipi_rx[k] = rd(c.ipi_rx[k]);
    }
    s.c.shootdowns_tx = rd(c.shootdowns_tx);
    s.c.shootdowns_rx = rd(c.shootdowns_rx);
    s.c.cr3_loads = rd(c.cr3_loads);
    s.c.cr3_skips = rd(c.cr3_skips);
    s.c.keeper_scans = rd(c.keeper_scans);
    for (unsigned m = 0; m < kCpuModes; ++m) s.c.cycles[m] = rd(c.cycles[m]);
}

}  // namespace

void invoke(Call& call) {
    // Decode: nothing changes until every check passed.
    if (call.sqe.method != cap::schema::KernelStats::Methods::read) return call.fail(Status::bad_method);
    if ((call.rights & abi::kRightRead) == 0) return call.fail(Status::rights);
    auto first = kstats::decode_read_params(call.params, call.params_len);
    if (!first.ok()) return call.fail(Status::malformed_message);

    // Invoke. This CPU's own cycle account is brought up to date first (it
    // is in the kernel now); the others' are at most one tick behind.
    {
        arch::IrqState s = arch::irq_save();
        charge_to(cpu::current().counters, CpuMode::kernel, arch::read_cycles());
        arch::irq_restore(s);
    }
    const uint32_t n = cpu::count();
    // Samples and the builder's scratch segment: too big for a kernel stack.
    auto mem = kmalloc(sizeof(kstats::CpuSample) * kstats::kMaxCpusPerRead + kMaxResult, 64);
    if (!mem.ok()) return call.fail(Status::no_memory);
    auto* cpus = static_cast<kstats::CpuSample*>(mem.value());
    for (uint32_t i = 0; i < kstats::kMaxCpusPerRead; ++i) new (&cpus[i]) kstats::CpuSample();
    void* scratch = cpus + kstats::kMaxCpusPerRead;
    uint32_t ncpus = 0;
    for (uint32_t i = first.value(); i < n && ncpus < kstats::kMaxCpusPerRead; ++i) {
        const PerCpu* p = cpu::get(i);
        if (p != nullptr) sample_cpu(*p, cpus[ncpus++]);
    }
    kstats::LockSample locks[kSharedLockCount];
    for (unsigned i = 0; i < kSharedLockCount; ++i) {
        locks[i].name = kSharedLockNames[i];
        locks[i].s.acquisitions = rd(g_shared_lock_stats[i].acquisitions);
        locks[i].s.contended = rd(g_shared_lock_stats[i].contended);
        locks[i].s.wait_cycles = rd(g_shared_lock_stats[i].wait_cycles);
    }
    call.result_len = kstats::encode_read_results(call.result, kMaxResult, scratch, kMaxResult, n, arch::tsc_hz(), cpus,
                                                  ncpus, locks, kSharedLockCount);
    kfree(mem.value());
    if (call.result_len == 0) call.fail(Status::internal);
}

}  // namespace kern::kernel_stats
