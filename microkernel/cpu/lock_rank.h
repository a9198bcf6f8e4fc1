// lock_rank.h: the kernel's lock order, written as code.
//
// Rule: a CPU may acquire a lock only if the lock's rank is strictly greater
// than the rank of every lock that CPU already holds. Locks are therefore
// taken in increasing rank order and released in any order. Two locks of the
// same rank (e.g. two run queues during a migration) may be held together
// only through SpinLock::lock_nested(), whose caller promises a fixed order
// between them (e.g. by address or CPU id). LockRank::none is exempt from the
// check (test-only or truly independent locks). Debug builds
// (CAPOS_LOCK_DEBUG) assert the rule on every acquire and panic on a breach.
//
// Add a rank where it belongs in the order, never at random; the numbers are
// only the order.
#pragma once

#include <stdint.h>

namespace kern {

enum class LockRank : uint8_t {
    none = 0,       // unchecked
    process,        // process object: its thread list, capability table
    cap_tree,       // the global capability derivation tree (every CapTable)
    user_timeout,   // deadlines of user operations (ipc/ring_dispatch timeouts)
    kobject,        // state of one kernel object (endpoint queues, park buckets, joiners)
    user_wait,      // one user thread's completed-operation list and wait flag
    address_space,  // page tables and the CPU mask of one address space
    thread,         // one thread's state while it changes queue
    run_queue,      // one CPU's run queue (nest two with lock_nested)
    tlb_shootdown,  // shootdown request queues
    timer_queue,    // per-CPU timer / sleep queue
    heap,           // the kernel heap (it takes frames while held)
    frames,         // the physical frame allocator
    smp_call,       // cross-CPU call-function mailbox
    console,        // leaf: kprintf may be called with any other lock held
    count_,         // number of ranks (not a rank)
};

inline constexpr unsigned kLockRankCount = static_cast<unsigned>(LockRank::count_);

const char* lock_rank_name(LockRank r);

}  // namespace kern
