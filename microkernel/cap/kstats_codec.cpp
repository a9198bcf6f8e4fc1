// kstats_codec.cpp: KernelStats.read params and results through the generated bindings.
#include "cap/kstats_codec.h"

#include "capos/capnp/capnp.h"
#include "capos/schema/scheduler.capnp.h"

namespace kern::kstats {

namespace capnp = cap::capnp;
namespace schema = cap::schema;

Result<uint32_t> decode_read_params(const void* msg, size_t len) {
    capnp::FlatMessageReader<1> r;
    if (r.init_flat(msg, len) != capnp::Error::Ok || r.validate() != capnp::Error::Ok) return Error::malformed;
    return r.root<schema::KernelStats::ReadParams>().first_cpu();
}

namespace {

void put_cpu(schema::CpuCounters::Builder b, const CpuSample& s) {
    const CpuCounters& c = s.c;
    const auto rx = [&](IpiKind k) { return c.ipi_rx[static_cast<unsigned>(k)]; };
    const auto tx = [&](IpiKind k) { return c.ipi_tx[static_cast<unsigned>(k)]; };
    b.set_cpu(s.cpu);
    b.set_ticks(s.ticks);
    b.set_idle_ticks(c.idle_ticks);
    b.set_switches(c.switches);
    b.set_migrations(c.migrations);
    b.set_ipi_tx_resched(tx(IpiKind::reschedule));
    b.set_ipi_rx_resched(rx(IpiKind::reschedule));
    b.set_ipi_tx_tlb(tx(IpiKind::tlb));
    b.set_ipi_rx_tlb(rx(IpiKind::tlb));
    b.set_ipi_tx_call(tx(IpiKind::call));
    b.set_ipi_rx_call(rx(IpiKind::call));
    b.set_ipi_tx_stop(tx(IpiKind::stop));
    b.set_ipi_rx_stop(rx(IpiKind::stop));
    b.set_ipi_tx_other(tx(IpiKind::other));
    b.set_ipi_rx_other(rx(IpiKind::other));
    b.set_shootdowns_tx(c.shootdowns_tx);
    b.set_shootdowns_rx(c.shootdowns_rx);
    b.set_cr3_loads(c.cr3_loads);
    b.set_cr3_skips(c.cr3_skips);
    b.set_kernel_cycles(c.cycles[static_cast<unsigned>(CpuMode::kernel)]);
    b.set_user_cycles(c.cycles[static_cast<unsigned>(CpuMode::user)]);
    b.set_idle_cycles(c.cycles[static_cast<unsigned>(CpuMode::idle)]);
    b.set_keeper_scans(c.keeper_scans);
}

}  // namespace

uint32_t encode_read_results(void* out, size_t out_cap, void* scratch, size_t scratch_cap, uint32_t cpu_count,
                             uint64_t tsc_hz, const CpuSample* cpus, uint32_t ncpus, const LockSample* locks,
                             uint32_t nlocks) {
    capnp::MessageBuilder m(scratch, scratch_cap);
    auto root = m.init_root<schema::KernelStats::ReadResults>();
    root.set_cpu_count(cpu_count);
    root.set_tsc_hz(tsc_hz);
    auto cl = root.init_cpus(ncpus);
    for (uint32_t i = 0; i < ncpus; ++i) put_cpu(cl[i], cpus[i]);
    auto ll = root.init_locks(nlocks);
    for (uint32_t i = 0; i < nlocks; ++i) {
        auto b = ll[i];
        const char* n = locks[i].name != nullptr ? locks[i].name : "";
        b.set_name(n, static_cast<uint32_t>(__builtin_strlen(n)));
        b.set_acquisitions(locks[i].s.acquisitions);
        b.set_contended(locks[i].s.contended);
        b.set_wait_cycles(locks[i].s.wait_cycles);
    }
    size_t written = 0;
    if (m.error() != capnp::Error::Ok || m.write_flat(out, out_cap, &written) != capnp::Error::Ok) return 0;
    return static_cast<uint32_t>(written);
}

}  // namespace kern::kstats
