// replay.cpp: replay a recorded event stream through a policy and report differences.
#include "replay.h"

#include <cstdio>

#include "trace_io.h"

namespace replay {

std::string describe(const placement::Decision& d) {
    char b[160];
    std::snprintf(
        b, sizeof b, "{answers=%llu kind=%u thread=%llu cpu=%u value=%llu}",
        static_cast<unsigned long long>(d.answers_seq), static_cast<unsigned>(d.kind),
        static_cast<unsigned long long>(d.kind == placement::DecisionKind::process_weight ? d.process_id : d.thread_id),
        d.cpu, static_cast<unsigned long long>(d.value));
    return b;
}

ReplayResult replay_trace(const std::vector<kern::TraceRecord>& recs, placement::Policy& policy, uint32_t ncpus) {
    ReplayResult res;
    std::vector<placement::Decision> rec = decisions_of(recs);
    std::vector<placement::Decision> rep;
    policy.start(ncpus);
    // The server saw events from its attach on (A record: the first seq it
    // read); earlier ones were only traced. Replay the last attach in the trace
    // that precedes the first recorded decision.
    uint64_t first_seq = 0;
    uint64_t first_decision_tsc = ~0ull;
    for (const auto& r : recs)
        if (r.kind == kern::TraceKind::decision && r.tsc < first_decision_tsc) first_decision_tsc = r.tsc;
    for (const auto& r : recs)
        if (r.kind == kern::TraceKind::attach && r.tsc <= first_decision_tsc) first_seq = r.seq;
    placement::Decisions out;
    for (const placement::Event& e : events_of(recs, 1)) {
        if (e.seq < first_seq) continue;
        out.clear();
        policy.on_event(e, out);
        for (size_t i = 0; i < out.n; ++i) rep.push_back(out.d[i]);
    }
    res.recorded = rec.size();
    res.replayed = rep.size();
    for (size_t i = 0; i < rec.size(); ++i) {
        placement::Decision got = i < rep.size() ? rep[i] : placement::Decision{};
        if (i < rep.size() && got == rec[i]) {
            ++res.matched;
            continue;
        }
        ++res.mismatches;
        if (res.diffs.size() < 50) res.diffs.push_back(ReplayDiff{i, rec[i], got});
    }
    return res;
}

std::string ReplayResult::text() const {
    std::string s;
    char b[160];
    std::snprintf(b, sizeof b, "replay: recorded=%zu replayed=%zu matched=%zu mismatches=%zu -> %s\n", recorded,
                  replayed, matched, mismatches, identical() ? "IDENTICAL" : "DIFFERENT");
    s += b;
    for (const auto& d : diffs)
        s += "  #" + std::to_string(d.index) + " recorded " + describe(d.recorded) + " replayed " +
             describe(d.replayed) + "\n";
    return s;
}

}  // namespace replay
