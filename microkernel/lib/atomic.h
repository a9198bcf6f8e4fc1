// atomic.h: the kernel's atomics, over the compiler's __atomic builtins.
//
// Why not std::atomic: libstdc++'s <atomic> pulls in <system_error> and
// long-double overloads, which clang refuses under -mgeneral-regs-only (the
// kernel has no FPU state of its own). These builtins are what <atomic>
// compiles to on both compilers, so host tests of the same headers see the
// same code.
//
// The free functions take any trivially copyable T (enums included): the
// generic builtins accept them on gcc and clang alike, where the _n forms
// accept only integers and pointers on clang.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace kern {

enum class MemOrder : int {
    relaxed = __ATOMIC_RELAXED,
    acquire = __ATOMIC_ACQUIRE,
    release = __ATOMIC_RELEASE,
    acq_rel = __ATOMIC_ACQ_REL,
    seq_cst = __ATOMIC_SEQ_CST,
};

template <class T>
inline T atomic_load(const T* p, MemOrder o) {
    T v;
    __atomic_load(p, &v, static_cast<int>(o));
    return v;
}

template <class T>
inline void atomic_store(T* p, T v, MemOrder o) {
    __atomic_store(p, &v, static_cast<int>(o));
}

// Strong compare-and-swap: on failure `expected` gets the value found.
template <class T>
inline bool atomic_cas(T* p, T& expected, T desired, MemOrder success, MemOrder failure) {
    return __atomic_compare_exchange(p, &expected, &desired, false, static_cast<int>(success),
                                     static_cast<int>(failure));
}

// A value read and written only atomically (the subset of std::atomic the
// kernel uses). Integers, bools and pointers.
template <class T>
class Atomic {
public:
    constexpr Atomic() = default;
    constexpr Atomic(T v) : v_(v) {}  // NOLINT: brace-initialised like std::atomic
    Atomic(const Atomic&) = delete;
    Atomic& operator=(const Atomic&) = delete;

    T load(MemOrder o) const { return __atomic_load_n(&v_, static_cast<int>(o)); }
    void store(T v, MemOrder o) { __atomic_store_n(&v_, v, static_cast<int>(o)); }
    T exchange(T v, MemOrder o) { return __atomic_exchange_n(&v_, v, static_cast<int>(o)); }
    T fetch_add(T d, MemOrder o) { return __atomic_fetch_add(&v_, d, static_cast<int>(o)); }
    T fetch_sub(T d, MemOrder o) { return __atomic_fetch_sub(&v_, d, static_cast<int>(o)); }
    // Weak: may fail spuriously (callers loop). On failure `expected` gets
    // the value found. The failure order is the success order without its
    // release part, as std::atomic's one-order form does.
    bool compare_exchange_weak(T& expected, T desired, MemOrder o) {
        return __atomic_compare_exchange_n(&v_, &expected, desired, true, static_cast<int>(o), failure_order(o));
    }
    bool compare_exchange_strong(T& expected, T desired, MemOrder o) {
        return __atomic_compare_exchange_n(&v_, &expected, desired, false, static_cast<int>(o), failure_order(o));
    }

private:
    static constexpr int failure_order(MemOrder o) {
        return o == MemOrder::acq_rel   ? __ATOMIC_ACQUIRE
               : o == MemOrder::release ? __ATOMIC_RELAXED
                                        : static_cast<int>(o);
    }
    T v_{};
};

}  // namespace kern
