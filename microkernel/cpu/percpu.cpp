// percpu.cpp: the per-CPU blocks and their dense id table.
#include "cpu/percpu.h"

#include "arch/interface/cpu.h"

namespace kern {

// arch/x86_64/smp.h reads the block through gs:0.
static_assert(__builtin_offsetof(PerCpu, self) == 0, "PerCpu::self must be first");

namespace {
// Blocks are handed out once and never reused: a block whose AP timed out
// may still be picked up by that AP later (it then halts).
PerCpu g_blocks[kMaxCpus + 8];
unsigned g_blocks_used = 0;
PerCpu* g_by_id[kMaxCpus];
unsigned g_count = 0;
}  // namespace

namespace cpu {

PerCpu& current() { return *arch::percpu_self(); }
unsigned id() { return arch::percpu_self()->id; }
unsigned count() { return __atomic_load_n(&g_count, __ATOMIC_ACQUIRE); }

PerCpu* get(unsigned i) {
    if (i >= count()) return nullptr;
    return g_by_id[i];
}

void init_boot_cpu() {
    PerCpu* p = &g_blocks[g_blocks_used++];
    p->self = p;
    p->id = 0;
    arch::percpu_install(p);
    g_by_id[0] = p;
    __atomic_store_n(&g_count, 1u, __ATOMIC_RELEASE);
}

void set_boot_cpu_resources(arch::CpuTables* tables, uint64_t stack_top) {
    PerCpu* p = g_by_id[0];
    p->tables = tables;
    p->kernel_stack_top = stack_top;
}

PerCpu* reserve_next() {
    if (g_count >= kMaxCpus || g_blocks_used >= sizeof(g_blocks) / sizeof(g_blocks[0])) return nullptr;
    PerCpu* p = &g_blocks[g_blocks_used++];
    p->self = p;
    p->id = g_count;
    return p;
}

void commit(PerCpu* p) {
    g_by_id[p->id] = p;
    __atomic_store_n(&g_count, p->id + 1, __ATOMIC_RELEASE);
}

}  // namespace cpu
}  // namespace kern
