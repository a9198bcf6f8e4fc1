// shares_page.h - the MemoryObject page the capOS "shares" coordinator and its worker processes share.
//
// The coordinator (shares.cpp) allocates it, maps it, and grants it as
// "results" to every worker process (shares_worker.cpp). Workers spin until
// the coordinator has started all of them and written the window (start and
// end, TSC), then each thread measures its own CPU time over the window and
// fills its slot; `done` is written last.
#pragma once

#include <stdint.h>

#include "shares.h"

namespace benchcap {

struct alignas(64) SharesWindow {
    uint64_t start;  // TSC; 0 until every worker process exists
    uint64_t end;
    uint32_t abort;  // nonzero: the coordinator gave up; workers exit
    uint32_t pad32_;
    uint64_t tsc_hz;  // written before start: lets workers sleep (not spin) until just before it
    uint64_t pad_[4];
};
static_assert(sizeof(SharesWindow) == 64);

struct alignas(64) SharesSlot {
    uint64_t cycles;  // Thread.cpuTime at the end minus at the start
    uint64_t work;    // blocks hashed in the window (diagnostics)
    uint64_t sink;    // the hash, so the loop is not optimised away
    uint32_t weight;  // as set with Thread.setWeight
    uint32_t cpu;     // CPU at the end (diagnostics)
    uint32_t status;  // 0 ok; else which step failed (shares_worker.cpp)
    uint32_t pad32_;
    uint64_t done;
    uint64_t late;  // TSC after the final reading minus the window's end (0 if before)
    uint64_t pad_[1];
};
static_assert(sizeof(SharesSlot) == 64);

struct SharesPage {
    SharesWindow window;
    SharesSlot slots[bench::kSharesMaxThreads];
};
inline constexpr uint64_t kSharesPageBytes = 4096;
static_assert(sizeof(SharesPage) <= kSharesPageBytes);

}  // namespace benchcap
