// helpers.h: small helpers the in-kernel tests share (ktest/*_tests.cpp and
// the x86_64 ones, arch/x86_64/ktest_*.cpp).
#pragma once

#include <stdint.h>

#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "object/thread.h"
#include "sched/sched.h"

namespace kern::ktest_helpers {

inline uint64_t now() { return arch::read_cycles(); }
inline uint64_t ms_cycles(uint64_t ms) { return arch::ns_to_cycles(ms * 1000000ull); }
inline unsigned ncpus() { return sched::cpu_count(); }

// Joins every thread in ts; false if any join failed.
inline bool join_all(Thread** ts, unsigned n) {
    bool ok = true;
    for (unsigned i = 0; i < n; ++i) {
        if (ts[i] != nullptr && !ts[i]->join().ok()) ok = false;
        ts[i] = nullptr;
    }
    return ok;
}

// Sorts v[0..n) ascending (insertion sort: the samples are few).
inline void sort(uint64_t* v, unsigned n) {
    for (unsigned i = 1; i < n; ++i) {
        uint64_t x = v[i];
        unsigned j = i;
        for (; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];
        v[j] = x;
    }
}

}  // namespace kern::ktest_helpers
