// trace_io.h: reading placement traces (the kernel's "T ..." lines) on the host.
//
// A trace is the serial log of a run with tracing on (or a simulator's
// output): every line that contains "T <cpu> <tsc> <kind> ..." is a record
// (see kern::format_trace). Records are merged across CPUs by TSC (ties
// keep log order). Helpers turn event records back into policy Events and
// decision records into policy Decisions, so the replay tool and the
// conformance checker see what the policy server saw.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../../microkernel/sched/sched_events.h"
#include "../../servers/placement/common/policy.h"

namespace replay {

std::vector<kern::TraceRecord> parse_trace_text(const std::string& text);
std::vector<kern::TraceRecord> read_trace_file(const std::string& path);
// The text of a file ("" when it cannot be read).
std::string read_text_file(const std::string& path);

// One log may hold several trace dumps (SchedulerControl.traceDump prints
// the records, then "[strace] tsc_hz=..."; each dump clears the buffer, and
// TSCs restart nowhere, so merged dumps would read as one run with gaps).
// Splits `text` at those end lines: one text per dump (its end line
// included), in log order; what
// follows the last end line is a dump of its own if it holds a record. A
// text without end lines (a simulator trace) is one dump.
std::vector<std::string> split_dumps(const std::string& text);
// The TSC rate a dump's end line gives ("[strace] tsc_hz=N"), in cycles per
// microsecond, rounded; 0 when the text has none (a simulator trace, whose
// time unit is the microsecond already).
uint64_t tsc_per_us_of(const std::string& dump);
std::string format_records(const std::vector<kern::TraceRecord>& recs);

// E records (in seq order) as policy events.
std::vector<placement::Event> events_of(const std::vector<kern::TraceRecord>& recs, uint64_t tsc_per_us);
// D records (in received order) as policy decisions.
std::vector<placement::Decision> decisions_of(const std::vector<kern::TraceRecord>& recs);

// Record <-> event/decision conversions (shared with the simulator).
kern::TraceRecord record_of_event(const kern::SchedEvent& e, uint32_t recording_cpu, uint64_t tsc);
kern::TraceRecord record_of_decision(const placement::Decision& d, uint8_t outcome, uint32_t recording_cpu,
                                     uint64_t tsc);
placement::Event event_of_record(const kern::TraceRecord& r, uint64_t tsc_per_us);

}  // namespace replay
