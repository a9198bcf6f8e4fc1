// spinlock.h: ticket spinlocks that know their owner, their acquire site and
// their place in the lock order (cpu/lock_rank.h).
//
// SpinLock      - plain lock; the holder must not be interrupted by code that
//                 takes the same lock (use SpinLockIrq for data an interrupt
//                 handler touches).
// SpinLockIrq   - disables interrupts while held and restores the previous
//                 state on unlock (the saved state lives in the lock: only
//                 the owner touches it).
// LockGuard<L>  - RAII for either.
// Protected<T,L>- the data and its lock in one type: reach T only through
//                 with([&](T&){...}).
//
// Every lock records the owner CPU and the file/line of the acquire. A CPU
// that spins longer than the hold limit (default 5 s of TSC time) prints the
// lock's name, owner CPU and acquire site, then panics. Debug builds
// (CAPOS_LOCK_DEBUG) also check the lock order on every acquire.
//
// Hosted builds (CAPOS_HOSTED, Catch2) get the same interface backed by a
// plain atomic ticket lock, so host-tested logic may embed these locks.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cpu/lock_rank.h"
#include "capos/sync/thread_safety.h"

namespace kern {

inline constexpr uint32_t kNoOwner = 0xffffffffu;

// Contention statistics of one lock (opt-in: a lock with a LockStats block
// records, every other lock pays one predictable branch on a null pointer).
// The holder updates them while it holds the lock, so plain increments are
// exact; readers (KernelStats) load them racily, field by field.
struct LockStats {
    uint64_t acquisitions = 0;  // lock(), lock_nested() and successful try_lock()
    uint64_t contended = 0;     // acquisitions whose first look found the lock taken
    uint64_t wait_cycles = 0;   // TSC cycles spent spinning in those (from the ticket to the grant)
};

// The locks shared between CPUs whose statistics are kept (issue 13), in
// the order KernelStats reports them. A lock opts in by its name: a lock
// whose name is in this list gets the matching block (for the global locks
// the lookup is folded into their constant initialisation), so the
// declarations themselves need no change and this list is the one place
// that says which locks are watched. The names must be unique among all
// locks: two locks sharing a block would race on it.
inline constexpr const char* kSharedLockNames[] = {
    "sched_control.registry",  // sched/server/registry.cpp g_reg_lock
    "cap_tree",                // object/process.cpp g_cap_lock
    "sched_control.notify",    // sched/server/events.cpp g_notify_lock
    "kheap",                   // mm/kheap.cpp, the kernel heap
    "deadlines",               // ipc/ring_dispatch.cpp g_dl_lock
};
inline constexpr unsigned kSharedLockCount = sizeof(kSharedLockNames) / sizeof(kSharedLockNames[0]);
extern LockStats g_shared_lock_stats[kSharedLockCount];

constexpr bool lock_name_eq(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

// The statistics block for a lock named `name`, or nullptr (see above).
constexpr LockStats* shared_lock_stats(const char* name) {
    if (name == nullptr) return nullptr;
    for (unsigned i = 0; i < kSharedLockCount; ++i)
        if (lock_name_eq(name, kSharedLockNames[i])) return &g_shared_lock_stats[i];
    return nullptr;
}

class CAPOS_CAPABILITY("spinlock") SpinLock {
public:
    constexpr explicit SpinLock(LockRank rank = LockRank::none, const char* name = "anon")
        : rank_(rank), name_(name), stats_(shared_lock_stats(name)) {}
    SpinLock(const SpinLock&) = delete;
    SpinLock& operator=(const SpinLock&) = delete;

    // Acquires; spins with `pause`. Panics if the lock order is broken
    // (debug builds) or the lock stays taken longer than the hold limit.
    void lock(const char* file = __builtin_FILE(), int line = __builtin_LINE()) CAPOS_ACQUIRE();
    // Like lock() but allows another lock of the same rank to be held
    // already; the caller guarantees a consistent order among them.
    void lock_nested(const char* file = __builtin_FILE(), int line = __builtin_LINE()) CAPOS_ACQUIRE();
    // Acquires only if free right now.
    [[nodiscard]] bool try_lock(const char* file = __builtin_FILE(), int line = __builtin_LINE())
        CAPOS_TRY_ACQUIRE(true);
    void unlock() CAPOS_RELEASE();

    // True if this CPU holds the lock (kernel); always false hosted.
    bool held_by_me() const;
    bool is_locked() const {
        return __atomic_load_n(&next_, __ATOMIC_RELAXED) != __atomic_load_n(&serving_, __ATOMIC_RELAXED);
    }
    uint32_t owner_cpu() const { return __atomic_load_n(&owner_, __ATOMIC_RELAXED); }
    const char* owner_file() const { return file_; }
    int owner_line() const { return line_; }
    LockRank rank() const { return rank_; }
    const char* name() const { return name_; }
    // The lock's statistics block, or nullptr if it keeps none.
    const LockStats* stats() const { return stats_; }
    // Attaches (or with nullptr detaches) a statistics block; only before the
    // lock is shared (tests, locks built at run time).
    void set_stats(LockStats* s) { stats_ = s; }

    // Forgets the holder (panic path only: the holder is stopped for good).
    void force_unlock();

private:
    void acquire(const char* file, int line, bool nested);
    void acquired(const char* file, int line);

    uint32_t next_ = 0;     // next ticket to hand out
    uint32_t serving_ = 0;  // ticket now being served
    uint32_t owner_ = kNoOwner;
    int line_ = 0;
    const char* file_ = nullptr;
    LockRank rank_;
    bool nested_ = false;  // the current hold came from lock_nested
    const char* name_;
    LockStats* stats_;  // opt-in contention statistics (written by the holder)
};

// SpinLock that keeps interrupts disabled while held.
class CAPOS_CAPABILITY("spinlock") SpinLockIrq {
public:
    constexpr explicit SpinLockIrq(LockRank rank = LockRank::none, const char* name = "anon") : lock_(rank, name) {}
    void lock(const char* file = __builtin_FILE(), int line = __builtin_LINE()) CAPOS_ACQUIRE();
    void lock_nested(const char* file = __builtin_FILE(), int line = __builtin_LINE()) CAPOS_ACQUIRE();
    [[nodiscard]] bool try_lock(const char* file = __builtin_FILE(), int line = __builtin_LINE())
        CAPOS_TRY_ACQUIRE(true);
    void unlock() CAPOS_RELEASE();
    bool held_by_me() const { return lock_.held_by_me(); }
    bool is_locked() const { return lock_.is_locked(); }
    uint32_t owner_cpu() const { return lock_.owner_cpu(); }
    void force_unlock() { lock_.force_unlock(); }
    SpinLock& raw() { return lock_; }
    const LockStats* stats() const { return lock_.stats(); }
    void set_stats(LockStats* s) { lock_.set_stats(s); }

private:
    SpinLock lock_;
    [[maybe_unused]] uint64_t saved_irq_ = 0;  // interrupt state before lock(); owner only (unused hosted)
};

template <class L>
class [[nodiscard]] CAPOS_SCOPED_CAPABILITY LockGuard {
public:
    explicit LockGuard(L& l, const char* file = __builtin_FILE(), int line = __builtin_LINE()) CAPOS_ACQUIRE(l)
        : l_(l) {
        l_.lock(file, line);
    }
    ~LockGuard() CAPOS_RELEASE() { l_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    L& l_;
};

// Data reachable only with its lock held.
template <class T, class L = SpinLockIrq>
class Protected {
public:
    template <class... A>
    constexpr explicit Protected(LockRank rank, const char* name, A&&... args)
        : lock_(rank, name), value_(static_cast<A&&>(args)...) {}
    template <class F>
    decltype(auto) with(F&& f, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
        LockGuard<L> g(lock_, file, line);
        return f(value_);
    }
    L& lock() { return lock_; }

private:
    L lock_;
    T value_;
};

// Hold limit for every lock, in milliseconds (tests shorten it).
void spinlock_set_hold_limit_ms(uint64_t ms);
uint64_t spinlock_hold_limit_ms();
// Number of ranks held by this CPU (debug builds; 0 otherwise).
unsigned spinlock_held_count();

// The bound on a kernel spin-wait that has no lock to time (a thread leaving
// its CPU, a shootdown acknowledgement): expired() turns true once the hold
// limit has passed since construction. Call it once per spin; it reads the
// TSC only every 256th call. Kernel only.
class SpinDeadline {
public:
    SpinDeadline();
    bool expired() { return (++spins_ & 255) == 0 && past(); }
    uint64_t limit_ms() const { return limit_ms_; }

private:
    bool past() const;
    uint64_t start_;
    uint64_t limit_;
    uint64_t limit_ms_;
    uint32_t spins_ = 0;
};

}  // namespace kern
