// kstats_delta.h - differences of two KernelStats snapshots and their `[kstats]` lines (pure; host-tested).
//
// Line formats (parsed by harness/capos/guest_stats.py), one per CPU, one for
// the sum over CPUs, one per watched lock:
//   [kstats] scope=<scope> cpu=<n|all> ticks=<d> idle_ticks=<d> switches=<d> migrations=<d>
//            ipi_tx_resched=<d> ipi_rx_resched=<d> ipi_tx_tlb=<d> ipi_rx_tlb=<d> ipi_tx_call=<d>
//            ipi_rx_call=<d> ipi_tx_stop=<d> ipi_rx_stop=<d> ipi_tx_other=<d> ipi_rx_other=<d>
//            shootdowns_tx=<d> shootdowns_rx=<d> cr3_loads=<d> cr3_skips=<d> kernel_cycles=<d>
//            user_cycles=<d> idle_cycles=<d> keeper_scans=<d>                 (one line)
//   [kstats] scope=<scope> lock=<name> acquisitions=<d> contended=<d> wait_cycles=<d>
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/fmt/format.h"
#include "libcap/kstats.h"

namespace benchcap::kstats {

using Snapshot = cap::KstatsSnapshot;
using Cpu = cap::KstatsCpu;
using Lock = cap::KstatsLock;

// NUL-terminated names equal (libcap has no strcmp).
inline bool name_eq(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

// b - a, never below 0 (the counters only grow; a racy read can lag by one update).
inline uint64_t diff(uint64_t a, uint64_t b) { return b > a ? b - a : 0; }

// Calls f(field name, member pointer) for every counter of a CPU, in line order.
template <class F>
void for_each_field(F&& f) {
    f("ticks", &Cpu::ticks);
    f("idle_ticks", &Cpu::idle_ticks);
    f("switches", &Cpu::switches);
    f("migrations", &Cpu::migrations);
    f("ipi_tx_resched", &Cpu::ipi_tx_resched);
    f("ipi_rx_resched", &Cpu::ipi_rx_resched);
    f("ipi_tx_tlb", &Cpu::ipi_tx_tlb);
    f("ipi_rx_tlb", &Cpu::ipi_rx_tlb);
    f("ipi_tx_call", &Cpu::ipi_tx_call);
    f("ipi_rx_call", &Cpu::ipi_rx_call);
    f("ipi_tx_stop", &Cpu::ipi_tx_stop);
    f("ipi_rx_stop", &Cpu::ipi_rx_stop);
    f("ipi_tx_other", &Cpu::ipi_tx_other);
    f("ipi_rx_other", &Cpu::ipi_rx_other);
    f("shootdowns_tx", &Cpu::shootdowns_tx);
    f("shootdowns_rx", &Cpu::shootdowns_rx);
    f("cr3_loads", &Cpu::cr3_loads);
    f("cr3_skips", &Cpu::cr3_skips);
    f("kernel_cycles", &Cpu::kernel_cycles);
    f("user_cycles", &Cpu::user_cycles);
    f("idle_cycles", &Cpu::idle_cycles);
    f("keeper_scans", &Cpu::keeper_scans);
}

// The window a..b: per CPU (the CPUs both snapshots hold, matched by id) and
// per lock (matched by name; a lock missing from a counts from 0).
struct Delta {
    uint32_t ncpus = 0;
    Cpu cpus[Snapshot::kMaxCpus];
    Cpu all;  // sum over cpus[]; all.cpu is unused
    uint32_t nlocks = 0;
    Lock locks[Snapshot::kMaxLocks];
};

inline void delta(const Snapshot& a, const Snapshot& b, Delta& d) {
    d = Delta{};
    for (uint32_t i = 0; i < b.ncpus && i < Snapshot::kMaxCpus; ++i) {
        const Cpu* before = nullptr;
        for (uint32_t j = 0; j < a.ncpus && j < Snapshot::kMaxCpus; ++j)
            if (a.cpus[j].cpu == b.cpus[i].cpu) before = &a.cpus[j];
        if (before == nullptr) continue;  // came online inside the window: no base to subtract
        Cpu& out = d.cpus[d.ncpus++];
        out.cpu = b.cpus[i].cpu;
        for_each_field([&](const char*, uint64_t Cpu::*m) {
            out.*m = diff(before->*m, b.cpus[i].*m);
            d.all.*m += out.*m;
        });
    }
    for (uint32_t i = 0; i < b.nlocks && i < Snapshot::kMaxLocks; ++i) {
        Lock zero;
        const Lock* before = &zero;
        for (uint32_t j = 0; j < a.nlocks && j < Snapshot::kMaxLocks; ++j)
            if (name_eq(a.locks[j].name, b.locks[i].name)) before = &a.locks[j];
        Lock& out = d.locks[d.nlocks++];
        __builtin_memcpy(out.name, b.locks[i].name, sizeof out.name);
        out.name[sizeof out.name - 1] = '\0';
        out.acquisitions = diff(before->acquisitions, b.locks[i].acquisitions);
        out.contended = diff(before->contended, b.locks[i].contended);
        out.wait_cycles = diff(before->wait_cycles, b.locks[i].wait_cycles);
    }
}

// One CPU line into buf (cpu < 0: the `cpu=all` line). Returns its length
// (as snformat: the full length, so a truncation shows as >= cap).
inline size_t format_cpu_line(char* buf, size_t cap, const char* scope, int cpu, const Cpu& c) {
    size_t at = cpu < 0 ? capos::fmt::snformat(buf, cap, "[kstats] scope=%s cpu=all", scope)
                        : capos::fmt::snformat(buf, cap, "[kstats] scope=%s cpu=%d", scope, cpu);
    for_each_field([&](const char* name, uint64_t Cpu::*m) {
        at += capos::fmt::snformat(at < cap ? buf + at : nullptr, at < cap ? cap - at : 0, " %s=%llu", name,
                                   static_cast<unsigned long long>(c.*m));
    });
    return at;
}

inline size_t format_lock_line(char* buf, size_t cap, const char* scope, const Lock& l) {
    return capos::fmt::snformat(buf, cap, "[kstats] scope=%s lock=%s acquisitions=%llu contended=%llu wait_cycles=%llu",
                                scope, l.name, static_cast<unsigned long long>(l.acquisitions),
                                static_cast<unsigned long long>(l.contended),
                                static_cast<unsigned long long>(l.wait_cycles));
}

// Per-CPU busy share of the window for the `[capos-detail]` line:
// " cpu_busy_pct=<cpu>:<pct>,... busy_cpus=<n>", where pct = (user + kernel
// cycles) / (user + kernel + idle cycles) of that CPU in percent (rounded
// down) and busy_cpus counts the CPUs busy at least half the window. Unlike
// the workers' start and end CPUs this says where the work actually ran: two
// workers that took turns on CPU 0 show one busy CPU. Returns the length
// (as snformat).
inline size_t format_busy(char* buf, size_t cap, const Delta& d) {
    size_t at = capos::fmt::snformat(buf, cap, " cpu_busy_pct=");
    uint32_t busy = 0;
    for (uint32_t i = 0; i < d.ncpus; ++i) {
        const Cpu& c = d.cpus[i];
        const uint64_t on = c.user_cycles + c.kernel_cycles;
        const uint64_t span = on + c.idle_cycles;
        const uint64_t pct = span == 0 ? 0 : on * 100 / span;
        if (span != 0 && 2 * on >= span) ++busy;
        at += capos::fmt::snformat(at < cap ? buf + at : nullptr, at < cap ? cap - at : 0, "%s%u:%llu",
                                   i == 0 ? "" : ",", c.cpu, static_cast<unsigned long long>(pct));
    }
    at += capos::fmt::snformat(at < cap ? buf + at : nullptr, at < cap ? cap - at : 0, " busy_cpus=%u", busy);
    return at;
}

}  // namespace benchcap::kstats
