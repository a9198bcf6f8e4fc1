// fault_inject.h: allocation fault injection in the kernel (issue 18;
// docs/fault-injection.md). The decisions are debug/fault_plan (host-tested);
// this is where the kernel keeps its plans and asks them.
//
// Two sources of injected failures:
//   * the global plan, from the command line (fail_frame_nth=, fail_heap_nth=,
//     fail_frame_every=, fail_heap_every=): counts every frame and heap
//     allocation on any CPU, in any thread, from the moment the first user
//     process has been created and started (start_counting(), called by
//     start_first_process), so kernel initialisation and the first process's
//     own creation are never the target;
//   * per-thread plans (Thread::fault_plan_), armed by a test through the
//     FaultInjection capability (object/fault_injection.h): count only the
//     allocations made while that thread is the current thread, i.e. its
//     system calls and the submissions it dispatches.
// A failed allocation returns Error::out_of_memory exactly as exhaustion
// would. When no option enabled injection, should_fail() costs one load of a
// global flag and a branch that is never taken.
#pragma once

#include <stdint.h>

#include "debug/fault_plan.h"

namespace kern::fault {

// True once any injection is possible (a command-line rule or
// fault_inject=on). Written only while the command line is parsed.
extern bool g_enabled;

bool should_fail_slow(Kind k);

// The hook of frame_alloc, frame_alloc_contiguous and kmalloc: true if this
// allocation must fail. Any context.
inline bool should_fail(Kind k) { return __builtin_expect(g_enabled, false) && should_fail_slow(k); }

// Command line: a global rule for kind k (nth or every-k; 0 leaves it as is).
void set_boot_rule(Kind k, uint64_t nth, uint64_t every);
// Command line: fault_inject=on, the FaultInjection capability for a utest.
void set_grant(bool on);
bool grant_enabled();
// The global plan starts counting (start_first_process, once).
void start_counting();
// The global plan's figures, for the boot log.
void report_boot_rules();

}  // namespace kern::fault
