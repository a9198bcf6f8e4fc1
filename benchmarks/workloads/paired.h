// benchmarks/workloads/paired.h — the run order of a paired boot, shared by the capOS coordinator and the Linux baseline.
//
// A paired boot measures a speedup inside one boot: with k CPUs it runs the
// same workload with 1 worker (A) and with k workers (B) alternately, in
// ABBA blocks (A B B A, repeated). This host gives whole boots one of a few
// speeds; within one boot the speed is the same for A and B, so the ratio
// of A's to B's times cancels it, and the ABBA order also cancels a linear
// drift within the boot (A and B have the same mean position in time).
// The window label names the run for host-side attribution
// (`[bench-window] begin <label>` / `end <label>` lines around each run).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "result_line.h"

namespace bench {

// Runs in a paired boot of `blocks` ABBA blocks.
constexpr uint32_t paired_runs(uint32_t blocks) { return 4 * blocks; }

// Workers of run i (0-based) of a paired boot with k CPUs.
constexpr uint32_t paired_workers(uint32_t i, uint32_t k) {
    const uint32_t p = i % 4;
    return (p == 0 || p == 3) ? 1 : k;
}

static_assert(paired_workers(0, 2) == 1 && paired_workers(1, 2) == 2 && paired_workers(2, 2) == 2 &&
              paired_workers(3, 2) == 1 && paired_workers(4, 2) == 1);

// "<workload>-<run>-w<workers>", e.g. "process-3-w1". Returns the length, 0 if too small.
inline size_t format_window_label(char* buf, size_t cap, const char* workload, uint32_t run, uint32_t workers) {
    LineWriter w(buf, cap);
    w.str(workload).str("-").u64(run).str("-w").u64(workers);
    return w.ok() ? w.size() : 0;
}

// "[bench-window] begin <label>" or "... end <label>": the host samples the
// vCPU threads' CPU time and QEMU's statistics when it reads the line. Printed
// just outside the timed window, never inside it.
inline size_t format_window_line(char* buf, size_t cap, bool begin, const char* label) {
    LineWriter w(buf, cap);
    w.str("[bench-window] ").str(begin ? "begin " : "end ").str(label);
    return w.ok() ? w.size() : 0;
}

}  // namespace bench
