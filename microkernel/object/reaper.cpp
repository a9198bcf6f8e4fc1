// reaper.cpp: the reaper kernel thread: frees the kernel side of ended user
// threads (posted by UserThread::exit_current) and ends orphaned processes
// (their last outside handle gone), in thread context, off the exit path.
#include "object/process.h"

#include "arch/interface/cpu.h"
#include "debug/console.h"
#include "cap/cap_table.h"
#include "debug/panic.h"
#include "object/thread.h"
#include "sched/sched.h"
#include "sched/wait_queue.h"

namespace kern {

namespace {

// --- reaper ------------------------------------------------------------------
SpinLockIrq g_reap_lock{LockRank::kobject, "reaper"};
IntrusiveQueue<UserThread, ReapLink> g_reap CAPOS_GUARDED_BY(g_reap_lock);  // ended threads, newest first
WaitQueue g_reaper_idle CAPOS_GUARDED_BY(g_reap_lock);                      // the reaper, while both lists are empty

IntrusiveQueue<Process, OrphanLink> g_orphans CAPOS_GUARDED_BY(g_reap_lock);  // newest first; each holds a reference

// Ends a process whose last outside handle went (set_last_foreign_handle_hook),
// unless one was made again meanwhile (the process gave out its own).
void end_orphan(Process* p) {
    bool still = false;
    {
        LockGuard<SpinLockIrq> g(cap_lock());
        still = p->foreign_handles() == 0;
    }
    if (still && !p->exiting()) {
        kprintf("[capos] process %llu (%s): its last outside handle was dropped; ending it\n",
                static_cast<unsigned long long>(p->id()), p->name());
        p->terminate(-1, ExitReason::killed);
    }
    p->release();
}

// Hook of the cap table, under the cap-tree lock (interrupts off).
void on_last_outside_handle(KernelObject* o) {
    auto* p = static_cast<Process*>(o);
    if (p->exiting()) return;
    g_reap_lock.lock();
    WaitQueue::Wakeup w;
    if (!p->orphan_queued_) {
        p->orphan_queued_ = true;
        p->add_ref();
        g_orphans.push_front(p);
        w = g_reaper_idle.wake_one();
    }
    g_reap_lock.unlock();
    w.wake();
}

void reaper_main(void*) {
    for (;;) {
        arch::IrqState s = arch::irq_save();
        g_reap_lock.lock();
        while (g_orphans.empty() && g_reap.empty()) g_reaper_idle.block_on(g_reap_lock);
        if (Process* p = g_orphans.pop_front()) {
            p->orphan_queued_ = false;
            g_reap_lock.unlock();
            arch::irq_restore(s);
            end_orphan(p);
            continue;
        }
        UserThread* t = g_reap.pop_front();
        g_reap_lock.unlock();
        arch::irq_restore(s);
        if (!t->kthread()->join().ok()) panic("reaper: join failed");
        t->release_memory();
        t->process().thread_gone(*t);
    }
}

}  // namespace

void reap(UserThread* t) {
    arch::IrqState s = arch::irq_save();
    g_reap_lock.lock();
    g_reap.push_front(t);
    WaitQueue::Wakeup w = g_reaper_idle.wake_one();
    g_reap_lock.unlock();
    w.wake();
    arch::irq_restore(s);
}

void reaper_init() {
    ThreadOptions o;
    o.name = "reaper";
    auto t = Thread::create_stopped(&reaper_main, nullptr, o);
    if (!t.ok()) panic("reaper: %s", error_name(t.error()));
    set_last_foreign_handle_hook(&on_last_outside_handle);
    sched::start(*t.value());
}

}  // namespace kern
