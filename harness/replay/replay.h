// replay.h: re-running a policy on a recorded event stream and diffing its decisions.
#pragma once

#include <string>
#include <vector>

#include "../../microkernel/sched/sched_events.h"
#include "../../servers/placement/common/policy.h"

namespace replay {

struct ReplayDiff {
    size_t index;  // position in the recorded decision list
    placement::Decision recorded;
    placement::Decision replayed;
};

struct ReplayResult {
    size_t recorded = 0, replayed = 0, matched = 0;
    std::vector<ReplayDiff> diffs;  // first mismatches (at most 50)
    size_t mismatches = 0;
    bool identical() const { return mismatches == 0 && replayed >= recorded; }
    std::string text() const;
};

// Feeds the trace's events (seq order) to `policy` (started with ncpus) and
// compares its decisions, in order, with the recorded ones. Decisions the
// policy makes after the last recorded one (events the server never saw,
// e.g. after it was demoted) are not differences.
ReplayResult replay_trace(const std::vector<kern::TraceRecord>& recs, placement::Policy& policy, uint32_t ncpus);

std::string describe(const placement::Decision& d);

}  // namespace replay
