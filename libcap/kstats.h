// kstats.h - KernelStats client: the kernel's per-CPU attribution counters and shared-lock statistics.
//
// The kernel serves KernelStats (schema/scheduler.capnp) to a Read-only
// capability, granted by boot manifests as `kernel = kernelStats` (usually
// named "kstats"). kernel_stats_read() takes one snapshot of every online
// CPU (paging through KernelStats.read, which returns at most 16 CPUs a
// call) and every watched lock, through the generated client stub over a
// RingTransport. The counters only grow; compare two snapshots.
//
// Header-only (inline) so that it brings the generated bindings only to the
// programs that use it. Needs schema_dep (libcap_dep brings it).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/capnp/capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "libcap/result.h"
#include "libcap/transport.h"

namespace cap {

// One CPU's counters (schema CpuCounters; docs/scheduling.md, "Kernel statistics").
struct KstatsCpu {
    uint32_t cpu = 0;
    uint64_t ticks = 0, idle_ticks = 0, switches = 0, migrations = 0;
    uint64_t ipi_tx_resched = 0, ipi_rx_resched = 0, ipi_tx_tlb = 0, ipi_rx_tlb = 0, ipi_tx_call = 0, ipi_rx_call = 0,
             ipi_tx_stop = 0, ipi_rx_stop = 0, ipi_tx_other = 0, ipi_rx_other = 0;
    uint64_t shootdowns_tx = 0, shootdowns_rx = 0, cr3_loads = 0, cr3_skips = 0;
    uint64_t kernel_cycles = 0, user_cycles = 0, idle_cycles = 0;
    uint64_t keeper_scans = 0;
};

// One watched lock (schema LockCounters).
struct KstatsLock {
    char name[32] = {};
    uint64_t acquisitions = 0, contended = 0, wait_cycles = 0;
};

struct KstatsSnapshot {
    static constexpr uint32_t kMaxCpus = 64;  // the kernel's kMaxCpus
    static constexpr uint32_t kMaxLocks = 16;
    uint32_t ncpus = 0;   // CPUs in cpus[] (the online CPUs, in id order)
    uint64_t tsc_hz = 0;  // rate of the *_cycles fields (0: not calibrated)
    KstatsCpu cpus[kMaxCpus];
    uint32_t nlocks = 0;
    KstatsLock locks[kMaxLocks];
};

namespace kstats_detail {

inline void get_cpu(const schema::CpuCounters_Reader& r, KstatsCpu& c) {
    c.cpu = r.cpu();
    c.ticks = r.ticks();
    c.idle_ticks = r.idle_ticks();
    c.switches = r.switches();
    c.migrations = r.migrations();
    c.ipi_tx_resched = r.ipi_tx_resched();
    c.ipi_rx_resched = r.ipi_rx_resched();
    c.ipi_tx_tlb = r.ipi_tx_tlb();
    c.ipi_rx_tlb = r.ipi_rx_tlb();
    c.ipi_tx_call = r.ipi_tx_call();
    c.ipi_rx_call = r.ipi_rx_call();
    c.ipi_tx_stop = r.ipi_tx_stop();
    c.ipi_rx_stop = r.ipi_rx_stop();
    c.ipi_tx_other = r.ipi_tx_other();
    c.ipi_rx_other = r.ipi_rx_other();
    c.shootdowns_tx = r.shootdowns_tx();
    c.shootdowns_rx = r.shootdowns_rx();
    c.cr3_loads = r.cr3_loads();
    c.cr3_skips = r.cr3_skips();
    c.kernel_cycles = r.kernel_cycles();
    c.user_cycles = r.user_cycles();
    c.idle_cycles = r.idle_cycles();
    c.keeper_scans = r.keeper_scans();
}

}  // namespace kstats_detail

// Reads every online CPU and every watched lock through `kstats` into out.
// `t` is a transport on the calling thread's ring (one caller at a time).
// Errors: the completion's Status (rights, bad_method, stale slot, ...), or
// Status::malformed_message when the result does not parse or the CPU ids
// do not come back in order.
[[nodiscard]] inline Result<void> kernel_stats_read(RingTransport& t, CapHandle kstats, KstatsSnapshot& out) {
    const uint32_t id = t.bind(kstats);
    if (id == RingTransport::kInvalidId) return Status::invalid_argument;
    schema::KernelStats_Client<RingTransport> client(t, id);
    out.ncpus = 0;
    out.nlocks = 0;
    Result<void> res = ok();
    for (uint32_t first = 0;;) {
        alignas(8) unsigned char pbuf[64];
        capnp::MessageBuilder p(pbuf, sizeof pbuf);
        client.read_params(p).set_first_cpu(first);
        capnp::FlatMessageReader<4> r;
        if (client.read(p, r) != capnp::Error::Ok) {
            res = t.last_status() != Status::ok ? t.last_status() : Status::malformed_message;
            break;
        }
        auto root = client.read_results(r);
        auto cpus = root.cpus();
        out.tsc_hz = root.tsc_hz();
        const uint32_t total =
            root.cpu_count() < KstatsSnapshot::kMaxCpus ? root.cpu_count() : KstatsSnapshot::kMaxCpus;
        for (uint32_t i = 0; i < cpus.size() && out.ncpus < total; ++i) {
            kstats_detail::get_cpu(cpus[i], out.cpus[out.ncpus]);
            if (out.cpus[out.ncpus].cpu != out.ncpus) {
                res = Status::malformed_message;
                break;
            }
            ++out.ncpus;
        }
        if (first == 0) {
            auto locks = root.locks();
            for (uint32_t i = 0; i < locks.size() && out.nlocks < KstatsSnapshot::kMaxLocks; ++i) {
                KstatsLock& l = out.locks[out.nlocks++];
                auto name = locks[i].name();
                uint32_t n = name.size() < sizeof l.name - 1 ? name.size() : static_cast<uint32_t>(sizeof l.name - 1);
                __builtin_memcpy(l.name, name.c_str(), n);
                l.name[n] = '\0';
                l.acquisitions = locks[i].acquisitions();
                l.contended = locks[i].contended();
                l.wait_cycles = locks[i].wait_cycles();
            }
        }
        if (!res.ok() || out.ncpus >= total || cpus.size() == 0) break;
        first = out.ncpus;
    }
    t.unbind(id);
    return res;
}

}  // namespace cap
