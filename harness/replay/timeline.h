// timeline.h: a text per-CPU timeline of a placement trace, for a terminal on a headless machine.
//
// One row per CPU, `cols` columns between the trace's first and last
// switch-in: each column shows the thread that ran longest in its span
// (letters a-z then A-Z for the first 52 threads in order of first
// appearance, '#' for any later one), '.' for idle (thread 0) and ' ' where
// the CPU has no switch-in yet. A legend maps letters to thread ids (and
// process ids where an event named them). Built from switch_in records
// only: what ran, not what the policy decided.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../../microkernel/sched/sched_events.h"

namespace replay {

struct TimelineOptions {
    uint32_t cols = 100;      // columns per CPU row (1..1000)
    uint64_t tsc_per_us = 0;  // if set, the span is also given in microseconds
};

// The timeline text; "no switch-in records\n" when the trace has none.
std::string timeline(const std::vector<kern::TraceRecord>& recs, const TimelineOptions& o);

}  // namespace replay
