// fault_inject.h - the decision logic of allocation fault injection: which
// frame or heap allocation fails (pure; host-tested in
// test/unit/debug/fault_plan_test.cpp).
//
// A Plan holds one Counter per kind of allocation. Each Counter counts the
// allocations it is asked about (next()) and answers whether that one must
// fail: the nth counted one (1-based) and/or every k-th. The kernel keeps two
// kinds of plan (debug/fault_inject.h): one global plan from the command line
// (fail_frame_nth= etc.), shared by every CPU, and one per thread armed
// through the FaultInjection capability. Counters use atomic increments so
// the global plan needs no lock; a per-thread plan is only touched by its
// own thread and pays the same (cheap) price for one code path.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"

namespace kern::fault {

enum class Kind : uint8_t { frame = 0, heap = 1 };
inline constexpr unsigned kKinds = 2;

// When allocations of one kind fail. 0 in a field: that rule is off.
struct Rule {
    uint64_t nth = 0;    // the nth counted allocation (1-based) fails, once
    uint64_t every = 0;  // every k-th counted allocation fails (k, 2k, 3k, ...)
    bool active() const { return nth != 0 || every != 0; }
};

struct Counter {
    Rule rule;
    uint64_t seen = 0;      // allocations counted so far
    uint64_t injected = 0;  // of those, the ones failed

    // Counts one allocation; true if it must fail.
    bool next() {
        const uint64_t n = __atomic_add_fetch(&seen, 1, __ATOMIC_RELAXED);
        const bool fail = (rule.nth != 0 && n == rule.nth) || (rule.every != 0 && n % rule.every == 0);
        if (fail) __atomic_add_fetch(&injected, 1, __ATOMIC_RELAXED);
        return fail;
    }
    uint64_t seen_now() const { return __atomic_load_n(&seen, __ATOMIC_RELAXED); }
    uint64_t injected_now() const { return __atomic_load_n(&injected, __ATOMIC_RELAXED); }
};

struct Plan {
    Counter kinds[kKinds];
    // While false nothing is counted and nothing fails. Set last by arm(),
    // cleared first by disarm(), so a reader that sees it set sees the rules.
    bool armed = false;

    bool is_armed() const { return __atomic_load_n(&armed, __ATOMIC_ACQUIRE); }
    // Counts one allocation of kind k; true if it must fail. Counts nothing
    // while not armed.
    bool next(Kind k) { return is_armed() && kinds[static_cast<unsigned>(k)].next(); }

    // Resets every counter, installs the rules (either may be inactive: its
    // allocations are still counted) and starts counting.
    void arm(const Rule& frame, const Rule& heap) {
        __atomic_store_n(&armed, false, __ATOMIC_RELEASE);
        kinds[0] = Counter{frame, 0, 0};
        kinds[1] = Counter{heap, 0, 0};
        __atomic_store_n(&armed, true, __ATOMIC_RELEASE);
    }

    // Stops counting; the counters keep their values for the report.
    void disarm() { __atomic_store_n(&armed, false, __ATOMIC_RELEASE); }

    uint64_t injected() const { return kinds[0].injected_now() + kinds[1].injected_now(); }
    uint64_t seen(Kind k) const { return kinds[static_cast<unsigned>(k)].seen_now(); }
};

// Parses a count option value: decimal digits only, at least 1, at most
// 2^63. Errors: invalid_argument (empty, a non-digit, 0), overflow.
Result<uint64_t> parse_count(const char* s, size_t len);

}  // namespace kern::fault
