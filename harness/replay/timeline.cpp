// timeline.cpp: see timeline.h.
#include "timeline.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace replay {

namespace {

char letter(size_t i) {
    if (i < 26) return static_cast<char>('a' + i);
    if (i < 52) return static_cast<char>('A' + (i - 26));
    return '#';
}

}  // namespace

std::string timeline(const std::vector<kern::TraceRecord>& recs, const TimelineOptions& o) {
    const uint32_t cols = std::clamp<uint32_t>(o.cols, 1, 1000);
    // Switch-ins per CPU in TSC order (the reader merges CPUs by TSC).
    std::map<uint32_t, std::vector<const kern::TraceRecord*>> per_cpu;
    std::map<uint64_t, size_t> index;     // thread id -> letter index, by first appearance
    std::map<uint64_t, uint64_t> pid_of;  // from events, where known
    uint64_t t0 = ~0ull, t1 = 0;
    for (const auto& r : recs) {
        if (r.kind == kern::TraceKind::event && r.thread_id != 0) pid_of.emplace(r.thread_id, r.a);
        if (r.kind != kern::TraceKind::switch_in) continue;
        per_cpu[r.cpu].push_back(&r);
        if (r.thread_id != 0) index.emplace(r.thread_id, index.size());
        t0 = std::min(t0, r.tsc);
        t1 = std::max(t1, r.tsc);
    }
    if (per_cpu.empty()) return "no switch-in records\n";
    for (auto& [cpu, v] : per_cpu)
        std::stable_sort(v.begin(), v.end(), [](const auto* a, const auto* b) { return a->tsc < b->tsc; });
    const uint64_t span = t1 > t0 ? t1 - t0 : 1;
    std::string out;
    char line[160];
    if (o.tsc_per_us != 0)
        std::snprintf(line, sizeof line, "timeline: %zu cpus, %zu threads, %llu tsc (%.1f us), %u columns of %.1f us\n",
                      per_cpu.size(), index.size(), static_cast<unsigned long long>(span),
                      static_cast<double>(span) / static_cast<double>(o.tsc_per_us), cols,
                      static_cast<double>(span) / static_cast<double>(o.tsc_per_us) / cols);
    else
        std::snprintf(line, sizeof line, "timeline: %zu cpus, %zu threads, %llu tsc, %u columns of %llu tsc\n",
                      per_cpu.size(), index.size(), static_cast<unsigned long long>(span), cols,
                      static_cast<unsigned long long>((span + cols - 1) / cols));
    out += line;
    for (const auto& [cpu, v] : per_cpu) {
        // For each column, the time each thread held the CPU inside it.
        std::vector<std::map<uint64_t, uint64_t>> held(cols);
        for (size_t i = 0; i < v.size(); ++i) {
            const uint64_t from = v[i]->tsc;
            const uint64_t to = i + 1 < v.size() ? v[i + 1]->tsc : t1;
            for (uint64_t a = from; a < to;) {
                const uint64_t col = std::min<uint64_t>((a - t0) * cols / span, cols - 1);
                const uint64_t col_end = t0 + (col + 1) * span / cols;
                const uint64_t b = std::min(to, std::max(col_end, a + 1));
                held[col][v[i]->thread_id] += b - a;
                a = b;
            }
        }
        std::snprintf(line, sizeof line, "cpu %2u |", cpu);
        out += line;
        for (uint32_t c = 0; c < cols; ++c) {
            if (held[c].empty()) {
                out += ' ';
                continue;
            }
            auto best = std::max_element(held[c].begin(), held[c].end(),
                                         [](const auto& x, const auto& y) { return x.second < y.second; });
            out += best->first == 0 ? '.' : letter(index[best->first]);
        }
        out += "|\n";
    }
    out += "legend: . idle";
    std::vector<std::pair<size_t, uint64_t>> order;
    for (const auto& [tid, i] : index) order.emplace_back(i, tid);
    std::sort(order.begin(), order.end());
    for (const auto& [i, tid] : order) {
        auto p = pid_of.find(tid);
        if (p != pid_of.end())
            std::snprintf(line, sizeof line, ", %c thread %llu (process %llu)", letter(i),
                          static_cast<unsigned long long>(tid), static_cast<unsigned long long>(p->second));
        else std::snprintf(line, sizeof line, ", %c thread %llu", letter(i), static_cast<unsigned long long>(tid));
        out += line;
    }
    out += "\n";
    return out;
}

}  // namespace replay
