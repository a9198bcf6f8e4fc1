// deadline.cpp: deadlines (async-op and sleep timeouts) and the timekeeper
// kernel thread that fires them (ring_dispatch.h says how it sleeps).
#include "ipc/ring_dispatch.h"

#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "cpu/percpu.h"
#include "cpu/spinlock.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "object/thread.h"
#include "sched/sched.h"
#include "sched/wait_queue.h"

namespace kern {

namespace {

// --- deadlines -------------------------------------------------------------------
// Lock order: g_dl_lock (user_timeout) is taken before a CPU's run-queue lock
// (file_sleep/unfile_sleep and the wake-ups that deadline handlers do).
SpinLockIrq g_dl_lock{LockRank::user_timeout, "deadlines"};
IntrusiveQueue<Deadline, DeadlineLink> g_deadlines
    CAPOS_GUARDED_BY(g_dl_lock);  // unsorted; scanned whenever the timekeeper wakes
Thread* g_keeper = nullptr;

// What the timekeeper is doing (g_dl_lock): scanning, blocked with nothing
// to wait for, or asleep on its CPU's tick until g_keeper_due_ns (the
// earliest deadline it saw). A deadline added earlier than that ends the
// sleep; a later one waits for it. Why not a scan every tick, as before:
// a receive with a 30 s timeout kept the list non-empty for a whole
// benchmark window, and the timekeeper's 250 wake-ups a second each cost a
// switch on a busy CPU (two CR3 loads, a reschedule IPI when placed on
// another CPU).
enum class KeeperWait : uint8_t { scanning, idle, timed };
KeeperWait g_keeper_wait = KeeperWait::scanning;
uint64_t g_keeper_due_ns = 0;
// The timekeeper while idle (g_dl_lock). Timed, it sleeps on its CPU's tick
// instead (sched::file_sleep), and whoever takes it off that sleep list
// (unfile_sleep) wakes it: a deadline wait, which a WaitQueue is not.
WaitQueue g_keeper_idle;

// How long the timekeeper stays asleep on its CPU's tick once the list went
// empty, before it blocks for good (and lets that CPU's tick stop): a
// deadline armed meanwhile that is later than this needs no wake-up, so a
// server's receive with a long timeout, armed and disarmed call after call,
// wakes it about once a second rather than on every call.
constexpr uint64_t kKeeperLingerNs = 1'000'000'000;

void keeper_main(void*) {
    for (;;) {
        arch::IrqState s = arch::irq_save();
        g_dl_lock.lock();
        count(arch::percpu_self()->counters.keeper_scans);
        const uint64_t now = now_ns();
        uint64_t next = UINT64_MAX;
        // fire() runs under g_dl_lock, so it cannot unlink any other entry:
        // the walk's next element stays valid across it. (The lambda runs
        // inside for_each under g_dl_lock; clang's analysis does not follow
        // a lock into a lambda, hence the attribute.)
        g_deadlines.for_each([&](Deadline& d) CAPOS_NO_THREAD_SAFETY_ANALYSIS {
            if (d.at_ns <= now) {
                g_deadlines.erase(&d);
                d.linked = false;
                d.fire(&d);
            } else if (d.at_ns < next) {
                next = d.at_ns;
            }
        });
        // Blocked before it is filed or queued, both under g_dl_lock:
        // deadline_add either sees it scanning (and the rescan finds the
        // new entry) or idle and queued, or filed and blocked (and may take
        // it off its list).
        if (next == UINT64_MAX) {
            g_keeper_wait = KeeperWait::idle;
            g_keeper_idle.block_on(g_dl_lock);
            g_dl_lock.unlock();
        } else {
            atomic_store(&g_keeper->state_, Thread::State::blocked, MemOrder::release);
            g_keeper_wait = KeeperWait::timed;
            g_keeper_due_ns = next;
            sched::file_sleep(next);
            g_dl_lock.unlock();
            sched::block();
        }
        arch::irq_restore(s);
    }
}

}  // namespace

uint64_t now_ns() { return arch::cycles_to_ns(arch::read_cycles()); }

void deadline_add(Deadline* d) {
    bool wake = false;
    WaitQueue::Wakeup idle;
    {
        LockGuard<SpinLockIrq> g(g_dl_lock);
        g_deadlines.push_front(d);
        d->linked = true;
        if (g_keeper_wait == KeeperWait::idle) {
            idle = g_keeper_idle.wake_one();
            g_keeper_wait = KeeperWait::scanning;
        } else if (g_keeper_wait == KeeperWait::timed && d->at_ns < g_keeper_due_ns) {
            // Not on its list any more: its tick took it and wakes it.
            wake = sched::unfile_sleep(*g_keeper);
            g_keeper_wait = KeeperWait::scanning;
        }
    }
    // Only the one who took it off its list (or its idle queue) wakes it, so
    // it cannot be woken while it sits filed on a sleep list.
    idle.wake();
    if (wake) (void)sched::wake(*g_keeper);
}

bool deadline_remove(Deadline* d) {
    LockGuard<SpinLockIrq> g(g_dl_lock);
    if (!d->linked) return false;  // linked <=> on g_deadlines
    g_deadlines.erase(d);
    d->linked = false;
    if (g_deadlines.empty() && g_keeper_wait == KeeperWait::timed) {
        // Nothing left to wait for: wake within the linger, not at a
        // far deadline that is gone (its sleep keeps a tick running).
        const uint64_t soon = deadline_after(kKeeperLingerNs);
        if (g_keeper_due_ns > soon) {
            sched::shorten_sleep(*g_keeper, soon);
            g_keeper_due_ns = soon;
        }
    }
    return true;
}

void timekeeper_init() {
    ThreadOptions o;
    o.name = "timekeeper";
    auto t = Thread::create_stopped(&keeper_main, nullptr, o);
    if (!t.ok()) panic("timekeeper: %s", error_name(t.error()));
    g_keeper = t.value();
    sched::start(*g_keeper);
}

}  // namespace kern
