// sched_events.cpp: decision validation, trace formatting and parsing.
#include "sched/sched_events.h"

#include "capos/fmt/format.h"

namespace kern {

const char* sched_reason_name(SchedReason r) {
    switch (r) {
        case SchedReason::none:
            return "none";
        case SchedReason::deadline_misses:
            return "repeated deadline misses";
        case SchedReason::server_exited:
            return "server exited";
        case SchedReason::invalid_decision:
            return "invalid decision";
        case SchedReason::malformed:
            return "malformed message";
        case SchedReason::detached:
            return "detached";
        case SchedReason::replaced:
            return "replaced by a successor";
    }
    return "?";
}

DecisionCheck check_decision(const SchedDecision& d, const DecisionLimits& lim, const char** why) {
    const char* dummy = nullptr;
    const char*& w = why != nullptr ? *why : dummy;
    w = "ok";
    // A seq the kernel never handed out cannot be a late answer: it is made up.
    if (d.answers_seq > lim.last_posted_seq) {
        w = "answers an event that was never posted";
        return DecisionCheck::invalid;
    }
    switch (d.kind) {
        case SchedDecisionKind::none:
            return DecisionCheck::ok;
        case SchedDecisionKind::assign: {
            if (d.thread_id == 0) {
                w = "assign without a thread";
                return DecisionCheck::invalid;
            }
            if (d.cpu_mask != 0) {
                if ((d.cpu_mask & lim.online_mask) == 0) {
                    w = "assign to a CPU set with no online CPU";
                    return DecisionCheck::invalid;
                }
                return DecisionCheck::ok;
            }
            if (d.cpu >= lim.ncpus || d.cpu >= 64 || ((lim.online_mask >> d.cpu) & 1) == 0) {
                w = "assign to a CPU that is out of range or offline";
                return DecisionCheck::invalid;
            }
            return DecisionCheck::ok;
        }
        case SchedDecisionKind::thread_weight:
        case SchedDecisionKind::process_weight:
            if ((d.kind == SchedDecisionKind::thread_weight ? d.thread_id : d.process_id) == 0) {
                w = "weight without a target";
                return DecisionCheck::invalid;
            }
            if (d.value < kMinWeight || d.value > kMaxWeight) {
                w = "weight out of range 1..10000";
                return DecisionCheck::invalid;
            }
            return DecisionCheck::ok;
        case SchedDecisionKind::slice:
        case SchedDecisionKind::default_slice:
            if (d.kind == SchedDecisionKind::slice && d.thread_id == 0) {
                w = "slice without a thread";
                return DecisionCheck::invalid;
            }
            if (d.value > kMaxSliceNs || (d.kind == SchedDecisionKind::default_slice && d.value == 0)) {
                w = "slice out of range";
                return DecisionCheck::invalid;
            }
            return DecisionCheck::ok;
    }
    w = "unknown decision kind";
    return DecisionCheck::invalid;
}

namespace {
constexpr char kKindChar[] = {'?', 'E', 'D', 'P', 'S', 'A', 'K'};

const char* parse_u64(const char* p, uint64_t* out) {
    while (*p == ' ') ++p;
    if (*p < '0' || *p > '9') return nullptr;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        uint64_t d = static_cast<uint64_t>(*p - '0');
        if (v > (~uint64_t{0} - d) / 10) return nullptr;
        v = v * 10 + d;
        ++p;
    }
    *out = v;
    return p;
}
}  // namespace

size_t format_trace(const TraceRecord& r, char* buf, size_t cap) {
    unsigned k = static_cast<unsigned>(r.kind);
    char kc = k < sizeof kKindChar ? kKindChar[k] : '?';
    size_t n =
        capos::fmt::snformat(buf, cap, "T %u %llu %c %u %llu %llu %llu %llu %u", r.cpu,
                             static_cast<unsigned long long>(r.tsc), kc, static_cast<unsigned>(r.sub),
                             static_cast<unsigned long long>(r.seq), static_cast<unsigned long long>(r.thread_id),
                             static_cast<unsigned long long>(r.a), static_cast<unsigned long long>(r.b), r.c);
    return n < cap ? n : (cap == 0 ? 0 : cap - 1);
}

bool parse_trace(const char* line, TraceRecord* out) {
    const char* p = line;
    while (*p == ' ') ++p;
    if (p[0] != 'T' || p[1] != ' ') return false;
    p += 2;
    uint64_t cpu = 0, sub = 0, c = 0;
    TraceRecord r;
    if ((p = parse_u64(p, &cpu)) == nullptr) return false;
    if ((p = parse_u64(p, &r.tsc)) == nullptr) return false;
    while (*p == ' ') ++p;
    char kc = *p++;
    unsigned k = 0;
    for (unsigned i = 1; i < sizeof kKindChar; ++i)
        if (kKindChar[i] == kc) k = i;
    if (k == 0) return false;
    if ((p = parse_u64(p, &sub)) == nullptr) return false;
    if ((p = parse_u64(p, &r.seq)) == nullptr) return false;
    if ((p = parse_u64(p, &r.thread_id)) == nullptr) return false;
    if ((p = parse_u64(p, &r.a)) == nullptr) return false;
    if ((p = parse_u64(p, &r.b)) == nullptr) return false;
    if ((p = parse_u64(p, &c)) == nullptr) return false;
    if (cpu >= 64 || sub > 255 || c > 0xffffffffu) return false;
    r.cpu = static_cast<uint32_t>(cpu);
    r.c = static_cast<uint32_t>(c);
    r.kind = static_cast<TraceKind>(k);
    r.sub = static_cast<uint8_t>(sub);
    *out = r;
    return true;
}

uint32_t slice_ns_to_ticks(uint64_t ns, uint64_t tick_ns) {
    if (tick_ns == 0) return 1;
    uint64_t t = (ns + tick_ns / 2) / tick_ns;
    if (t == 0) t = 1;
    if (t > 100000) t = 100000;
    return static_cast<uint32_t>(t);
}

}  // namespace kern
