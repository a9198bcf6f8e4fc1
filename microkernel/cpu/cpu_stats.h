// cpu_stats.h: per-CPU attribution counters (where a CPU's cycles went),
// read through the KernelStats interface (object/kernel_stats.h).
//
// Each CPU owns one CpuCounters in its PerCpu block (PerCpu::counters) and is
// the only writer of it: every update is a plain load-add-store by the owning
// CPU with interrupts off (no lock prefix, no shared cache line: the block is
// 64-byte aligned). Readers on other CPUs load the fields racily, one at a
// time: a snapshot is not atomic across fields and may be up to one update
// behind, which is fine for statistics and costs the counted paths nothing
// but the increment. docs/scheduling.md ("Kernel statistics") defines every
// field exactly.
//
// Cycle accounting. A CPU is always in one of three modes: running kernel
// code, running user code, or halted in its idle thread. The mode changes
// only at a few boundaries, and each boundary charges the TSC cycles since
// the previous one to the mode being left (charge_to()):
//   * kernel -> user: user_return_prepare (ipc/syscall.cpp), the last kernel
//     C code before SYSRET/IRETQ to user mode, also on a thread's first entry;
//   * user -> kernel: syscall_dispatch and isr_dispatch (every interrupt or
//     exception, which also ends a halt);
//   * kernel -> halted: the idle loop, right before `sti; hlt`.
// The few instructions between the hardware transition and the boundary
// (SYSCALL entry stub, interrupt stub) are charged to the mode before it.
// A context switch is not a boundary (both threads run kernel code then).
// A CPU that stays in one mode (a compute-bound user thread) is charged at
// its next timer tick at the latest, so a reader sees its cycles at most one
// tick (4 ms) late.
#pragma once

#include <stdint.h>

namespace kern {

// Kinds of inter-processor interrupt, counted separately.
enum class IpiKind : uint8_t {
    reschedule = 0,  // vec::kReschedule: run the scheduler / wake from hlt
    tlb = 1,         // vec::kTlbShootdown
    call = 2,        // vec::kCallFunction: the smp_call mailbox
    stop = 3,        // the panic stop-all (NMI delivery)
    other = 4,       // anything else (test ping/pong vectors)
    count_ = 5,
};
inline constexpr unsigned kIpiKinds = static_cast<unsigned>(IpiKind::count_);

enum class CpuMode : uint8_t { kernel = 0, user = 1, idle = 2 };
inline constexpr unsigned kCpuModes = 3;

struct alignas(64) CpuCounters {
    uint64_t idle_ticks = 0;          // timer ticks taken while the idle thread was current
    uint64_t switches = 0;            // context switches (a different thread started running here)
    uint64_t migrations = 0;          // switches to a thread whose previous CPU was another one
    uint64_t ipi_tx[kIpiKinds] = {};  // IPIs this CPU sent, per target CPU (all-but-self counts each)
    uint64_t ipi_rx[kIpiKinds] = {};  // IPIs this CPU took
    uint64_t shootdowns_tx = 0;       // shootdown requests posted to at least one other CPU
    uint64_t shootdowns_rx = 0;       // other CPUs' shootdown requests applied here
    uint64_t cr3_loads = 0;           // CR3 writes when switching address spaces (arch::tlb::load)
    uint64_t cr3_skips = 0;           // switches that kept CR3 (same address space, or same root without PCID)
    uint64_t keeper_scans = 0;        // deadline timekeeper wake-ups (scans of its list) on this CPU
    uint64_t cycles[kCpuModes] = {};  // TSC cycles charged per CpuMode (see above)
    uint64_t mode_since = 0;          // TSC at the last boundary (0: accounting not started)
    CpuMode mode = CpuMode::kernel;   // mode since mode_since
};

// One counter update by the owning CPU: a plain add (no lock prefix), with
// relaxed atomics only so that the racy readers are not undefined behaviour.
inline void count(uint64_t& c, uint64_t d = 1) {
    __atomic_store_n(&c, __atomic_load_n(&c, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}
inline uint64_t read_counter(const uint64_t& c) { return __atomic_load_n(&c, __ATOMIC_RELAXED); }

// IPIs of any kind this CPU took (racy sum).
inline uint64_t ipis_received(const CpuCounters& c) {
    uint64_t n = 0;
    for (unsigned k = 0; k < kIpiKinds; ++k) n += read_counter(c.ipi_rx[k]);
    return n;
}

// Charges the cycles since the last boundary to the current mode and enters
// `next` at `now` (TSC). Owning CPU, interrupts off.
inline void charge_to(CpuCounters& c, CpuMode next, uint64_t now) {
    if (c.mode_since != 0 && now > c.mode_since) count(c.cycles[static_cast<unsigned>(c.mode)], now - c.mode_since);
    __atomic_store_n(&c.mode_since, now, __ATOMIC_RELAXED);
    c.mode = next;
}

}  // namespace kern
