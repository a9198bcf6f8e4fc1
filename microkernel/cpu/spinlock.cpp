// spinlock.cpp: ticket spinlocks with owner/site recording, hold-time
// detection and (CAPOS_LOCK_DEBUG) lock-order checks. Hosted builds get a
// plain ticket lock with the same interface.
#include "cpu/spinlock.h"

#if !defined(CAPOS_HOSTED)
#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "debug/panic.h"
#include "cpu/percpu.h"
#endif

namespace kern {

const char* lock_rank_name(LockRank r) {
    switch (r) {
        case LockRank::none:
            return "none";
        case LockRank::process:
            return "process";
        case LockRank::cap_tree:
            return "cap_tree";
        case LockRank::user_timeout:
            return "user_timeout";
        case LockRank::kobject:
            return "kobject";
        case LockRank::user_wait:
            return "user_wait";
        case LockRank::address_space:
            return "address_space";
        case LockRank::thread:
            return "thread";
        case LockRank::run_queue:
            return "run_queue";
        case LockRank::tlb_shootdown:
            return "tlb_shootdown";
        case LockRank::timer_queue:
            return "timer_queue";
        case LockRank::frames:
            return "frames";
        case LockRank::heap:
            return "heap";
        case LockRank::smp_call:
            return "smp_call";
        case LockRank::console:
            return "console";
        case LockRank::count_:
            break;
    }
    return "?";
}

LockStats g_shared_lock_stats[kSharedLockCount];

namespace {
uint64_t g_hold_limit_ms = 5000;

// Holder only, right after the grant: plain updates under the lock, relaxed
// stores for the racy readers.
inline void record(LockStats* st, bool contended, uint64_t waited) {
    __atomic_store_n(&st->acquisitions, st->acquisitions + 1, __ATOMIC_RELAXED);
    if (!contended) return;
    __atomic_store_n(&st->contended, st->contended + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&st->wait_cycles, st->wait_cycles + waited, __ATOMIC_RELAXED);
}
}  // namespace

void spinlock_set_hold_limit_ms(uint64_t ms) { __atomic_store_n(&g_hold_limit_ms, ms, __ATOMIC_RELAXED); }
uint64_t spinlock_hold_limit_ms() { return __atomic_load_n(&g_hold_limit_ms, __ATOMIC_RELAXED); }

// The lock operations themselves are outside the thread-safety analysis
// (CAPOS_NO_THREAD_SAFETY_ANALYSIS): they are what the annotations on their
// declarations describe.

#if defined(CAPOS_HOSTED)

void SpinLock::acquire(const char* file, int line, bool nested) {
    uint32_t ticket = __atomic_fetch_add(&next_, 1u, __ATOMIC_RELAXED);
    bool contended = false;
    uint64_t t0 = 0;
    if (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) {
        contended = true;
        if (stats_ != nullptr) t0 = __builtin_ia32_rdtsc();
        while (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) {}
    }
    nested_ = nested;
    acquired(file, line);
    if (stats_ != nullptr) record(stats_, contended, contended ? __builtin_ia32_rdtsc() - t0 : 0);
}
void SpinLock::acquired(const char* file, int line) {
    file_ = file;
    line_ = line;
    __atomic_store_n(&owner_, 0u, __ATOMIC_RELAXED);
}
bool SpinLock::held_by_me() const { return false; }
void SpinLock::unlock() CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    __atomic_store_n(&owner_, kNoOwner, __ATOMIC_RELAXED);
    __atomic_store_n(&serving_, serving_ + 1, __ATOMIC_RELEASE);
}
unsigned spinlock_held_count() { return 0; }
void SpinLockIrq::lock(const char* file, int line) CAPOS_NO_THREAD_SAFETY_ANALYSIS { lock_.lock(file, line); }
void SpinLockIrq::lock_nested(const char* file, int line) CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    lock_.lock_nested(file, line);
}
bool SpinLockIrq::try_lock(const char* file, int line) CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    return lock_.try_lock(file, line);
}
void SpinLockIrq::unlock() CAPOS_NO_THREAD_SAFETY_ANALYSIS { lock_.unlock(); }

#else  // kernel

SpinDeadline::SpinDeadline() : start_(arch::read_cycles()), limit_ms_(spinlock_hold_limit_ms()) {
    uint64_t hz = arch::tsc_hz();
    limit_ = hz != 0 ? hz / 1000 * limit_ms_ : (1ull << 34);
}

bool SpinDeadline::past() const { return arch::read_cycles() - start_ > limit_ && !panic_in_progress(); }

namespace {

[[gnu::cold]] void order_violation(const SpinLock& l, LockRank held, const char* file, int line) {
    panic("lock order: taking '%s' (rank %s) at %s:%d while holding a rank-%s lock", l.name(), lock_rank_name(l.rank()),
          file, line, lock_rank_name(held));
}

[[gnu::cold]] void held_too_long(const SpinLock& l, const char* file, int line) {
    panic("spinlock '%s' held too long: owner cpu %u acquired it at %s:%d; cpu %u waited at %s:%d", l.name(),
          l.owner_cpu(), l.owner_file() != nullptr ? l.owner_file() : "?", l.owner_line(), cpu::id(), file, line);
}

}  // namespace

void SpinLock::acquire(const char* file, int line, bool nested) {
    PerCpu* me = arch::percpu_self();
    if (__atomic_load_n(&owner_, __ATOMIC_RELAXED) == me->id && !panic_in_progress()) {
        panic("spinlock '%s' taken recursively on cpu %u at %s:%d (first at %s:%d)", name_, me->id, file, line,
              file_ != nullptr ? file_ : "?", line_);
    }
#if defined(CAPOS_LOCK_DEBUG)
    if (rank_ != LockRank::none && !panic_in_progress()) {
        auto r0 = static_cast<unsigned>(rank_);
        for (unsigned r = r0; r < kLockRankCount; ++r) {
            if (me->rank_held[r] != 0 && !(nested && r == r0))
                order_violation(*this, static_cast<LockRank>(r), file, line);
        }
    }
#endif
    uint32_t ticket = __atomic_fetch_add(&next_, 1u, __ATOMIC_RELAXED);
    if (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) {
        SpinDeadline bound;
        const uint64_t t0 = stats_ != nullptr ? arch::read_cycles() : 0;
        while (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) {
            arch::cpu_relax();
            if (bound.expired()) held_too_long(*this, file, line);
        }
        nested_ = nested;
        acquired(file, line);
        if (stats_ != nullptr) record(stats_, true, arch::read_cycles() - t0);
        return;
    }
    nested_ = nested;
    acquired(file, line);
    if (stats_ != nullptr) record(stats_, false, 0);
}

void SpinLock::acquired(const char* file, int line) {
    PerCpu* me = arch::percpu_self();
    file_ = file;
    line_ = line;
    __atomic_store_n(&owner_, me->id, __ATOMIC_RELAXED);
    me->locks_held = me->locks_held + 1;
    if (rank_ != LockRank::none) ++me->rank_held[static_cast<unsigned>(rank_)];
}

bool SpinLock::held_by_me() const { return __atomic_load_n(&owner_, __ATOMIC_RELAXED) == arch::percpu_self()->id; }

void SpinLock::unlock() CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    PerCpu* me = arch::percpu_self();
    if (me->locks_held != 0) me->locks_held = me->locks_held - 1;
    auto r = static_cast<unsigned>(rank_);
    if (rank_ != LockRank::none && me->rank_held[r] != 0) --me->rank_held[r];
    __atomic_store_n(&owner_, kNoOwner, __ATOMIC_RELAXED);
    __atomic_store_n(&serving_, serving_ + 1, __ATOMIC_RELEASE);
}

unsigned spinlock_held_count() { return arch::percpu_self()->locks_held; }

void SpinLockIrq::lock(const char* file, int line) CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    arch::IrqState s = arch::irq_save();
    lock_.lock(file, line);
    saved_irq_ = s;
}

void SpinLockIrq::lock_nested(const char* file, int line) CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    arch::IrqState s = arch::irq_save();
    lock_.lock_nested(file, line);
    saved_irq_ = s;
}

bool SpinLockIrq::try_lock(const char* file, int line) CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    arch::IrqState s = arch::irq_save();
    if (lock_.try_lock(file, line)) {
        saved_irq_ = s;
        return true;
    }
    arch::irq_restore(s);
    return false;
}

void SpinLockIrq::unlock() CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    arch::IrqState s = saved_irq_;
    lock_.unlock();
    arch::irq_restore(s);
}

#endif

void SpinLock::lock(const char* file, int line) CAPOS_NO_THREAD_SAFETY_ANALYSIS { acquire(file, line, false); }
void SpinLock::lock_nested(const char* file, int line) CAPOS_NO_THREAD_SAFETY_ANALYSIS { acquire(file, line, true); }

bool SpinLock::try_lock(const char* file, int line) CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    uint32_t cur = __atomic_load_n(&serving_, __ATOMIC_RELAXED);
    uint32_t expected = cur;
    // Free exactly when next_ == serving_: take ticket `cur` only then.
    if (!__atomic_compare_exchange_n(&next_, &expected, cur + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        return false;
    }
    nested_ = false;
    acquired(file, line);
    if (stats_ != nullptr) record(stats_, false, 0);
    return true;
}

void SpinLock::force_unlock() CAPOS_NO_THREAD_SAFETY_ANALYSIS {
    __atomic_store_n(&owner_, kNoOwner, __ATOMIC_RELAXED);
    __atomic_store_n(&serving_, __atomic_load_n(&next_, __ATOMIC_RELAXED), __ATOMIC_RELEASE);
}

}  // namespace kern
