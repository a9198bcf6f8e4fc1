// trace_io.cpp: parsing, merging and converting placement trace records.
#include "trace_io.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace replay {

std::vector<kern::TraceRecord> parse_trace_text(const std::string& text) {
    std::vector<kern::TraceRecord> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        // Records may follow a log prefix ("[strace] T ...").
        size_t p = line.find("T ");
        while (p != std::string::npos) {
            kern::TraceRecord r;
            if ((p == 0 || line[p - 1] == ' ') && kern::parse_trace(line.c_str() + p, &r)) {
                out.push_back(r);
                break;
            }
            p = line.find("T ", p + 1);
        }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const kern::TraceRecord& a, const kern::TraceRecord& b) { return a.tsc < b.tsc; });
    return out;
}

std::string read_text_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<kern::TraceRecord> read_trace_file(const std::string& path) {
    return parse_trace_text(read_text_file(path));
}

std::vector<std::string> split_dumps(const std::string& text) {
    std::vector<std::string> dumps;
    std::string cur;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("[strace] tsc_hz=") != std::string::npos) {
            cur += line;  // kept: the dump's own clock rate (tsc_per_us_of)
            cur.push_back('\n');
            dumps.push_back(cur);
            cur.clear();
            continue;
        }
        cur += line;
        cur.push_back('\n');
    }
    if (dumps.empty() || !parse_trace_text(cur).empty()) dumps.push_back(cur);
    return dumps;
}

uint64_t tsc_per_us_of(const std::string& dump) {
    const std::string key = "[strace] tsc_hz=";
    const size_t at = dump.rfind(key);
    if (at == std::string::npos) return 0;
    const uint64_t hz = std::strtoull(dump.c_str() + at + key.size(), nullptr, 10);
    return (hz + 500'000) / 1'000'000;
}

std::string format_records(const std::vector<kern::TraceRecord>& recs) {
    std::string s;
    char buf[200];
    for (const auto& r : recs) {
        size_t n = kern::format_trace(r, buf, sizeof buf);
        s.append(buf, n);
        s.push_back('\n');
    }
    return s;
}

kern::TraceRecord record_of_event(const kern::SchedEvent& e, uint32_t recording_cpu, uint64_t tsc) {
    kern::TraceRecord r;
    r.tsc = tsc;
    r.seq = e.seq;
    r.cpu = recording_cpu;
    r.kind = kern::TraceKind::event;
    r.sub = static_cast<uint8_t>(e.kind);
    r.thread_id = e.thread_id;
    r.c = e.cpu;
    switch (e.kind) {
        case kern::SchedEventKind::cpu_load:
            r.a = e.runnable;
            r.b = e.weight;
            break;
        case kern::SchedEventKind::deadline_missed:
            r.a = e.aux;
            break;
        case kern::SchedEventKind::demoted:
            r.a = static_cast<uint64_t>(e.reason);
            break;
        default:
            r.a = e.process_id;
            r.b = e.weight;
            break;
    }
    return r;
}

placement::Event event_of_record(const kern::TraceRecord& r, uint64_t tsc_per_us) {
    placement::Event e;
    e.seq = r.seq;
    e.time_ns = tsc_per_us != 0 ? r.tsc * 1000 / tsc_per_us : r.tsc;
    e.kind = static_cast<placement::EventKind>(r.sub);
    e.thread_id = r.thread_id;
    e.cpu = r.c;
    switch (e.kind) {
        case placement::EventKind::cpu_load:
            e.runnable = static_cast<uint32_t>(r.a);
            e.weight = static_cast<uint32_t>(r.b);
            break;
        case placement::EventKind::deadline_missed:
            e.aux = r.a;
            break;
        case placement::EventKind::demoted:
            e.aux = r.a;
            break;
        default:
            e.process_id = r.a;
            e.weight = static_cast<uint32_t>(r.b);
            break;
    }
    return e;
}

kern::TraceRecord record_of_decision(const placement::Decision& d, uint8_t outcome, uint32_t recording_cpu,
                                     uint64_t tsc) {
    kern::TraceRecord r;
    r.tsc = tsc;
    r.seq = d.answers_seq;
    r.cpu = recording_cpu;
    r.kind = kern::TraceKind::decision;
    r.sub = static_cast<uint8_t>(d.kind);
    r.thread_id = d.kind == placement::DecisionKind::process_weight ? d.process_id : d.thread_id;
    r.a = d.value;
    r.b = outcome;
    r.c = d.cpu;
    return r;
}

std::vector<placement::Event> events_of(const std::vector<kern::TraceRecord>& recs, uint64_t tsc_per_us) {
    std::vector<placement::Event> out;
    for (const auto& r : recs)
        if (r.kind == kern::TraceKind::event) out.push_back(event_of_record(r, tsc_per_us));
    std::stable_sort(out.begin(), out.end(),
                     [](const placement::Event& a, const placement::Event& b) { return a.seq < b.seq; });
    return out;
}

std::vector<placement::Decision> decisions_of(const std::vector<kern::TraceRecord>& recs) {
    std::vector<placement::Decision> out;
    for (const auto& r : recs) {
        if (r.kind != kern::TraceKind::decision) continue;
        placement::Decision d;
        d.answers_seq = r.seq;
        d.kind = static_cast<placement::DecisionKind>(r.sub);
        if (d.kind == placement::DecisionKind::process_weight) d.process_id = r.thread_id;
        else d.thread_id = r.thread_id;
        d.value = r.a;
        d.cpu = r.c;
        out.push_back(d);
    }
    return out;
}

}  // namespace replay
