// registry.cpp: thread id -> thread and its standing assignment (CPU, slice, policy
// weight, tick-sampled CPU time), read lock-free by dispatch.
#include "sched/server/server.h"

#include "arch/interface/timer.h"
#include "cpu/percpu.h"
#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "object/thread.h"

namespace kern::psrv {

// --- registry: thread id -> thread, standing assignment ------------------------------------

Reg g_reg[kReg];
SpinLockIrq g_reg_lock{LockRank::thread, "sched_control.registry"};

// Lock-free lookup (dispatch): the slot of id or nullptr.
Reg* reg_find(uint32_t id) {
    if (id == 0 || id == kTomb) return nullptr;
    for (size_t i = 0, h = id & (kReg - 1); i < kReg; ++i, h = (h + 1) & (kReg - 1)) {
        uint32_t v = __atomic_load_n(&g_reg[h].id, __ATOMIC_ACQUIRE);
        if (v == id) return &g_reg[h];
        if (v == 0) return nullptr;
    }
    return nullptr;
}

void reg_insert(Thread& t, uint64_t pid) {
    LockGuard<SpinLockIrq> g(g_reg_lock);
    if (reg_find(t.id()) != nullptr) return;
    for (size_t i = 0, h = t.id() & (kReg - 1); i < kReg; ++i, h = (h + 1) & (kReg - 1)) {
        Reg& r = g_reg[h];
        if (r.id == 0 || r.id == kTomb) {
            r.t = &t;
            r.pid = pid;
            __atomic_store_n(&r.assigned, kNoCpu, __ATOMIC_RELAXED);
            __atomic_store_n(&r.slice_ticks, 0u, __ATOMIC_RELAXED);
            __atomic_store_n(&r.weight, 0u, __ATOMIC_RELAXED);
            __atomic_store_n(&r.ticks, uint64_t{0}, __ATOMIC_RELAXED);
            __atomic_store_n(&r.id, t.id(), __ATOMIC_RELEASE);
            return;
        }
    }
    // Full: the thread is simply not steerable (default placement).
}

void reg_remove(uint32_t id) {
    LockGuard<SpinLockIrq> g(g_reg_lock);
    if (Reg* r = reg_find(id)) {
        r->t = nullptr;
        __atomic_store_n(&r->id, kTomb, __ATOMIC_RELEASE);
    }
}

void clear_assignments() {
    LockGuard<SpinLockIrq> g(g_reg_lock);
    for (Reg& r : g_reg) {
        __atomic_store_n(&r.assigned, kNoCpu, __ATOMIC_RELAXED);
        __atomic_store_n(&r.slice_ticks, 0u, __ATOMIC_RELAXED);
        if (r.id != 0 && r.id != kTomb && r.t != nullptr) r.t->link_.slice_ticks = 0;
    }
}

}  // namespace kern::psrv
