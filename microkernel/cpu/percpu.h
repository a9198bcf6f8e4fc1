// percpu.h: the per-CPU block and the one door to it (cpu::current()).
//
// Each CPU owns one PerCpu, reached through the GS base (arch detail: raw gs
// is only used under arch/x86_64). Ids are dense: 0 is the boot CPU, APs get
// 1..count()-1 in the order they came up. Blocks never move or go away.
//
// Reading current() is only meaningful while the caller cannot migrate
// (interrupts off or preemption disabled); the block itself is safe to read
// from any CPU.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu_stats.h"
#include "cpu/lock_rank.h"
#include "lib/limits.h"

namespace kern {
namespace arch {
struct CpuTables;
}
// Subsystems whose per-CPU state is bigger than a few words, or holds their
// own locks and queues, keep it in a struct of their own and PerCpu points at
// it: the pointer is typed (one door, no casts), and the forward declaration
// keeps this header free of run queues and trace records. Each pointer is set
// once, before any other CPU may read it, and never changes.
namespace sched {
struct CpuSched;
}
namespace psrv {
struct CpuTrace;
}

struct PerCpu {
    PerCpu* self;               // must stay first: gs:0 holds it
    unsigned id;                // dense CPU id, 0 = boot CPU
    uint32_t apic_id;           // local APIC id (x2APIC id in x2APIC mode)
    sched::CpuSched* sched;     // run queue and dispatch state (sched/sched.cpp); set by sched::init
    uint64_t kernel_stack_top;  // this CPU's boot/idle stack (TSS.rsp0 until a thread sets its own)
    arch::CpuTables* tables;    // this CPU's GDT + TSS
    volatile bool online;       // set by the CPU itself once it takes interrupts
    volatile uint64_t ticks;    // LAPIC timer ticks taken on this CPU (also the sleep clock; reported as `ticks`)

    // --- owned by cpu/spinlock.cpp (lock-order checks) -------------------
    uint8_t rank_held[kLockRankCount];  // locks held per rank
    uint32_t locks_held;                // total locks held

    // --- owned by arch/x86_64 (IPIs, timer) --------------------------------
    volatile uint64_t call_done_seq;  // smp_call completions handled
    uint8_t timer_mode;               // arch::TimerMode now programmed
    volatile bool abandoned;          // bring-up timed out: a late AP must halt

    // --- owned by arch/x86_64/syscall (user entry) -------------------------
    // Read by syscall.S through gs at fixed offsets (static_assert there).
    uint64_t syscall_kernel_rsp;  // kernel stack top of the user thread running here
    uint64_t syscall_user_rsp;    // scratch: user rsp during SYSCALL entry
    uint64_t user_fs_base;        // FS base last written on this CPU (skip redundant wrmsr)

    // --- owned by sched/server (the placement-server observer and trace) ---
    // Plain members: one word each, written by this CPU only (tick and
    // switch hooks, interrupts off).
    uint64_t obs_ticks;              // ticks seen by obs_tick (load events every kLoadEveryTicks)
    uint64_t obs_idle_event_tick;    // obs_ticks + 1 when the last idle-rebalance event was posted
    psrv::CpuTrace* volatile trace;  // placement trace buffer; allocated when tracing first starts

    // --- attribution counters (cpu/cpu_stats.h): written by this CPU only
    CpuCounters counters;
};

namespace cpu {

// This CPU's block. Valid from the first instruction of kmain (the boot CPU
// installs a static block before anything else) and on every AP.
PerCpu& current();
// current().id.
unsigned id();
// Number of CPUs online (started and taking interrupts).
unsigned count();
// Block of CPU i, or nullptr if i >= count().
PerCpu* get(unsigned i);

// Calls f(PerCpu&) for each online CPU, in id order.
template <class F>
void for_each_online(F&& f) {
    unsigned n = count();
    for (unsigned i = 0; i < n; ++i) {
        PerCpu* p = get(i);
        if (p != nullptr && p->online) f(*p);
    }
}

// --- bring-up (arch/x86_64/smp.cpp and main.cpp only) ---------------------
// Installs the static boot-CPU block; first call in kmain.
void init_boot_cpu();
// Fills the boot CPU's tables/stack pointers once they exist.
void set_boot_cpu_resources(arch::CpuTables* tables, uint64_t stack_top);
// Reserves the block for the next id; nullptr when kMaxCpus are in use.
PerCpu* reserve_next();
// Makes a reserved block count (it came up); ids stay dense.
void commit(PerCpu* p);

}  // namespace cpu
}  // namespace kern
