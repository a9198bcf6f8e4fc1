// spinlock.h: ticket spinlocks that know their owner, their acquire site and
// their place in the lock order (core/lock_rank.h).
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

#include "core/lock_rank.h"

namespace kern {

inline constexpr uint32_t kNoOwner = 0xffffffffu;

class SpinLock {
public:
    constexpr explicit SpinLock(LockRank rank = LockRank::none, const char* name = "anon")
        : rank_(rank), name_(name) {}
    SpinLock(const SpinLock&) = delete;
    SpinLock& operator=(const SpinLock&) = delete;

    // Acquires; spins with `pause`. Panics if the lock order is broken
    // (debug builds) or the lock stays taken longer than the hold limit.
    void lock(const char* file = __builtin_FILE(), int line = __builtin_LINE());
    // Like lock() but allows another lock of the same rank to be held
    // already; the caller guarantees a consistent order among them.
    void lock_nested(const char* file = __builtin_FILE(), int line = __builtin_LINE());
    // Acquires only if free right now.
    [[nodiscard]] bool try_lock(const char* file = __builtin_FILE(), int line = __builtin_LINE());
    void unlock();

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

    // Forgets the holder (panic path only: the holder is stopped for good).
    void force_unlock();

private:
    void acquire(const char* file, int line, bool nested);
    void acquired(const char* file, int line);

    uint32_t next_ = 0;      // next ticket to hand out
    uint32_t serving_ = 0;   // ticket now being served
    uint32_t owner_ = kNoOwner;
    int line_ = 0;
    const char* file_ = nullptr;
    LockRank rank_;
    bool nested_ = false;    // the current hold came from lock_nested
    const char* name_;
};

// SpinLock that keeps interrupts disabled while held.
class SpinLockIrq {
public:
    constexpr explicit SpinLockIrq(LockRank rank = LockRank::none, const char* name = "anon") : lock_(rank, name) {}
    void lock(const char* file = __builtin_FILE(), int line = __builtin_LINE());
    void lock_nested(const char* file = __builtin_FILE(), int line = __builtin_LINE());
    [[nodiscard]] bool try_lock(const char* file = __builtin_FILE(), int line = __builtin_LINE());
    void unlock();
    bool held_by_me() const { return lock_.held_by_me(); }
    bool is_locked() const { return lock_.is_locked(); }
    uint32_t owner_cpu() const { return lock_.owner_cpu(); }
    void force_unlock() { lock_.force_unlock(); }
    SpinLock& raw() { return lock_; }

private:
    SpinLock lock_;
    uint64_t saved_irq_ = 0;  // interrupt state before lock(); owner only
};

template <class L>
class [[nodiscard]] LockGuard {
public:
    explicit LockGuard(L& l, const char* file = __builtin_FILE(), int line = __builtin_LINE()) : l_(l) {
        l_.lock(file, line);
    }
    ~LockGuard() { l_.unlock(); }
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
