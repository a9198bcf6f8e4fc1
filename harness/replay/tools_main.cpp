// tools_main.cpp: placement-tool: replay, conformance check and simulation from the command line.
//
// A policy is given as a spec `name[:key=value,...]` (policies.h), either in
// the <policy> position or as `--policy SPEC` in front of the other words.
//   placement-tool replay <policy> <ncpus> <trace.log>   exit 0 if decisions are reproduced exactly
//   placement-tool check <trace.log> [--tsc-per-us N] [--cpus N] [--max-wait-us N] [--max-idle-waiting F] [--idle-grace-us N] [--min-jain X]
//                        [--policy SPEC [--ncpus N]]  also replays the trace under SPEC (must be identical)
//                        [--dump N]  only the N-th trace dump of the log (default: each dump, checked alone)
//   placement-tool sim <policy> <ncpus> <threads> [--weights a,b,..] [--work ..] [--burst ..] [--block ..] [--start ..]
//                                     prints a trace to stdout and a summary line (Sim::summary) to stderr
//   placement-tool shares <trace> [--max-weight W] [--tolerance X] [--by tsc|ticks]   weighted CPU shares agree?
//   placement-tool timeline <trace> [--cols N] [--tsc-per-us N] [--dump N]   a text per-CPU timeline (timeline.h)
// --tsc-per-us defaults to each dump's own rate (its "[strace] tsc_hz=" line);
// traces without one (the simulator's) are in microseconds.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "conformance.h"
#include "policies.h"
#include "replay.h"
#include "sim.h"
#include "timeline.h"
#include "trace_io.h"

namespace {
int usage() {
    std::fprintf(
        stderr,
        "usage: placement-tool replay <policy> <ncpus> <trace>\n"
        "       placement-tool check <trace> [--tsc-per-us N] [--cpus N] [--max-wait-us N] [--max-idle-waiting F]\n"
        "                                [--idle-grace-us N] [--min-jain X] [--policy SPEC [--ncpus N]] [--dump N]\n"
        "       placement-tool sim <policy> <ncpus> <threads> [--weights w,..] [--work t,..] [--burst t,..]\n"
        "                          [--block t,..] [--start t,..] [--ticks N]   (per-thread lists, in ticks)\n"
        "       placement-tool shares <trace> [--max-weight W] [--tolerance X] [--by tsc|ticks]\n"
        "       placement-tool timeline <trace> [--cols N] [--tsc-per-us N] [--dump N]\n"
        "       (--tsc-per-us: default the dump's own tsc_hz line, else 1: simulator traces are in us)\n"
        "       (a policy is a spec: name[:key=value,...], e.g. fair-share:slice_ms=4; `--policy SPEC` may\n"
        "        stand in front of replay's and sim's other words instead of <policy>)\n");
    return 2;
}

// The policy of a spec, or a message on stderr (exit 2) saying why not.
std::unique_ptr<replay::PolicyBox> policy_or_complain(const char* spec) {
    std::string why;
    auto p = replay::make_policy(spec, &why);
    if (!p) std::fprintf(stderr, "placement-tool: policy '%s': %s\n", spec, why.c_str());
    return p;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return usage();
    std::string cmd = argv[1];
    // `replay|sim --policy SPEC ...` is `replay|sim SPEC ...`.
    std::vector<char*> words(argv, argv + argc);
    if ((cmd == "replay" || cmd == "sim") && argc >= 4 && !std::strcmp(argv[2], "--policy")) {
        words.erase(words.begin() + 2);
        argc = static_cast<int>(words.size());
        argv = words.data();
    }
    if (cmd == "replay" && argc == 5) {
        auto p = policy_or_complain(argv[2]);
        if (!p) return 2;
        auto recs = replay::read_trace_file(argv[4]);
        auto r = replay::replay_trace(recs, p->get(), static_cast<uint32_t>(std::atoi(argv[3])));
        std::cout << r.text();
        return r.identical() ? 0 : 1;
    }
    if (cmd == "check") {
        replay::ConformanceOptions o;
        const char* spec = nullptr;
        uint32_t replay_cpus = 0;
        int dump = 0;  // 0: every dump in the log, each checked alone
        bool tsc_given = false;
        for (int i = 3; i + 1 < argc; i += 2) {
            if (!std::strcmp(argv[i], "--tsc-per-us")) tsc_given = true;
            if (!std::strcmp(argv[i], "--policy")) spec = argv[i + 1];
            else if (!std::strcmp(argv[i], "--dump")) dump = std::atoi(argv[i + 1]);
            else if (!std::strcmp(argv[i], "--ncpus"))
                replay_cpus = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 0));
            else if (!std::strcmp(argv[i], "--tsc-per-us")) o.tsc_per_us = std::strtoull(argv[i + 1], nullptr, 0);
            else if (!std::strcmp(argv[i], "--max-wait-us")) o.max_wait_us = std::strtoull(argv[i + 1], nullptr, 0);
            else if (!std::strcmp(argv[i], "--cpus"))
                o.cpus = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 0));
            else if (!std::strcmp(argv[i], "--max-idle-waiting")) o.max_idle_waiting_fraction = std::atof(argv[i + 1]);
            else if (!std::strcmp(argv[i], "--idle-grace-us")) o.idle_grace_us = std::strtoull(argv[i + 1], nullptr, 0);
            else if (!std::strcmp(argv[i], "--min-jain")) o.min_jain = std::atof(argv[i + 1]);
            else return usage();
        }
        if ((argc - 3) % 2 != 0) return usage();
        const std::vector<std::string> dumps = replay::split_dumps(replay::read_text_file(argv[2]));
        if (dump < 0 || static_cast<size_t>(dump) > dumps.size()) {
            std::fprintf(stderr, "placement-tool: --dump %d: the log holds %zu trace dump(s)\n", dump, dumps.size());
            return 2;
        }
        bool ok = true;
        int checked = 0;
        for (size_t k = 0; k < dumps.size(); ++k) {
            if (dump != 0 && k + 1 != static_cast<size_t>(dump)) continue;
            auto recs = replay::parse_trace_text(dumps[k]);
            const bool has_events = std::any_of(
                recs.begin(), recs.end(), [](const kern::TraceRecord& r) { return r.kind == kern::TraceKind::event; });
            if (dumps.size() > 1) std::cout << "dump " << k + 1 << " of " << dumps.size() << ":\n";
            if (!has_events && dump == 0 && dumps.size() > 1) {
                std::cout << "  no events (nothing was placed while it recorded): skipped\n";
                continue;
            }
            ++checked;
            // Without --tsc-per-us, the dump's own rate (its tsc_hz line): a
            // kernel trace read as microseconds would make every wait 2600 times
            // too long.
            replay::ConformanceOptions ok_o = o;
            if (!tsc_given) {
                if (uint64_t t = replay::tsc_per_us_of(dumps[k]); t != 0) {
                    ok_o.tsc_per_us = t;
                    std::cout << "  time: " << t << " TSC cycles per us (the dump's tsc_hz)\n";
                }
            }
            auto rep = replay::check_conformance(recs, ok_o);
            std::cout << rep.text();
            ok = ok && rep.ok();
            if (spec != nullptr) {
                // The trace's decisions must also be this policy's (with these arguments).
                auto p = policy_or_complain(spec);
                if (!p) return 2;
                uint32_t n = replay_cpus != 0 ? replay_cpus : (o.cpus != 0 ? o.cpus : 1);
                auto r = replay::replay_trace(recs, p->get(), n);
                std::cout << "replay under " << spec << " on " << n << " cpus: " << r.text();
                ok = ok && r.identical();
            }
        }
        if (checked == 0) {
            std::cout << "no trace dump with events\n";
            return 1;
        }
        return ok ? 0 : 1;
    }
    if (cmd == "shares") {
        // CPU time per unit of weight of the threads whose weight is at most
        // --max-weight (the test's explicitly weighted workers); they must agree
        // within --tolerance (max/min - 1). Judged by measured CPU time (TSC
        // between the thread's switch-in and the next switch-in on its CPU), not
        // by tick samples: the tick is what enforces the slices, so judging by it
        // would grade the policy with its own ruler. Tick samples (K records) are
        // printed beside, or judged with --by ticks.
        uint64_t max_weight = 1000;
        double tol = 0.10;
        bool by_ticks = false;
        for (int i = 3; i + 1 < argc; i += 2) {
            if (!std::strcmp(argv[i], "--max-weight")) max_weight = std::strtoull(argv[i + 1], nullptr, 0);
            else if (!std::strcmp(argv[i], "--tolerance")) tol = std::atof(argv[i + 1]);
            else if (!std::strcmp(argv[i], "--by") && !std::strcmp(argv[i + 1], "ticks")) by_ticks = true;
            else if (!std::strcmp(argv[i], "--by") && !std::strcmp(argv[i + 1], "tsc")) by_ticks = false;
            else return usage();
        }
        replay::ConformanceOptions o;
        o.min_jain = 0;
        auto rep = replay::check_conformance(replay::read_trace_file(argv[2]), o);
        double mn = 0, mx = 0;
        int n = 0;
        for (auto& [tid, w] : rep.weight_of) {
            if (w == 0 || w > max_weight) continue;
            const bool has_ticks = rep.ticks.count(tid) != 0;
            if (by_ticks && !has_ticks) {
                std::printf("thread %llu weight %u: no tick record (did not exit inside the trace)\n",
                            static_cast<unsigned long long>(tid), w);
                return 1;
            }
            const uint64_t t = by_ticks ? rep.ticks[tid] : rep.cpu_time[tid];
            double per = static_cast<double>(t) / w;
            if (has_ticks)
                std::printf("thread %llu weight %u tsc_time %llu ticks %llu per_weight %.1f\n",
                            static_cast<unsigned long long>(tid), w, static_cast<unsigned long long>(rep.cpu_time[tid]),
                            static_cast<unsigned long long>(rep.ticks[tid]), per);
            else
                std::printf("thread %llu weight %u tsc_time %llu per_weight %.1f\n",
                            static_cast<unsigned long long>(tid), w, static_cast<unsigned long long>(rep.cpu_time[tid]),
                            per);
            if (n == 0 || per < mn) mn = per;
            if (n == 0 || per > mx) mx = per;
            ++n;
        }
        double spread = n > 0 && mn > 0 ? mx / mn - 1 : 1e9;
        std::printf("shares: by=%s threads=%d spread=%.3f tolerance=%.3f -> %s\n", by_ticks ? "ticks" : "tsc", n,
                    spread, tol, n >= 2 && spread <= tol ? "PASS" : "FAIL");
        return n >= 2 && spread <= tol ? 0 : 1;
    }
    if (cmd == "timeline") {
        // One timeline per trace dump in the log (split_dumps), or only dump N (1-based).
        replay::TimelineOptions o;
        int dump = 0;
        for (int i = 3; i + 1 < argc; i += 2) {
            if (!std::strcmp(argv[i], "--cols")) o.cols = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 0));
            else if (!std::strcmp(argv[i], "--tsc-per-us")) o.tsc_per_us = std::strtoull(argv[i + 1], nullptr, 0);
            else if (!std::strcmp(argv[i], "--dump")) dump = std::atoi(argv[i + 1]);
            else return usage();
        }
        if (o.cols == 0 || o.cols > 1000) {
            std::fprintf(stderr, "placement-tool timeline: --cols must be 1..1000\n");
            return 2;
        }
        const std::string text = replay::read_text_file(argv[2]);
        const auto dumps = replay::split_dumps(text);
        if (dump < 0 || dump > static_cast<int>(dumps.size())) {
            std::fprintf(stderr, "placement-tool timeline: --dump %d: the log holds %zu dump(s)\n", dump, dumps.size());
            return 2;
        }
        bool any = false;
        for (size_t d = 0; d < dumps.size(); ++d) {
            if (dump != 0 && static_cast<int>(d) + 1 != dump) continue;
            const auto recs = replay::parse_trace_text(dumps[d]);
            if (dumps.size() > 1) std::printf("dump %zu:\n", d + 1);
            replay::TimelineOptions d_o = o;
            if (d_o.tsc_per_us == 0) d_o.tsc_per_us = replay::tsc_per_us_of(dumps[d]);  // the dump's own rate
            const std::string t = replay::timeline(recs, d_o);
            std::fputs(t.c_str(), stdout);
            any = any || t.rfind("no switch-in", 0) != 0;
        }
        return any ? 0 : 1;
    }
    if (cmd == "sim" && argc >= 5) {
        auto p = policy_or_complain(argv[2]);
        if (!p) return 2;
        replay::SimOptions o;
        o.ncpus = static_cast<uint32_t>(std::atoi(argv[3]));
        int n = std::atoi(argv[4]);
        // Per-thread lists, comma-separated; a list shorter than the thread
        // count repeats its last value (so `--work 300` gives every thread 300).
        std::vector<uint64_t> weights, work, burst, block, start;
        uint64_t ticks = 2000;
        bool ok = true;
        auto list = [&ok](const char* text) {
            std::vector<uint64_t> v;
            for (const char* c = text; *c != '\0';) {
                char* end = nullptr;
                v.push_back(std::strtoull(c, &end, 0));
                if (end == c || (*end != ',' && *end != '\0')) {
                    ok = false;
                    break;
                }
                c = *end == ',' ? end + 1 : end;
            }
            if (v.empty()) ok = false;
            return v;
        };
        for (int i = 5; i + 1 < argc; i += 2) {
            if (!std::strcmp(argv[i], "--weights")) weights = list(argv[i + 1]);
            else if (!std::strcmp(argv[i], "--work")) work = list(argv[i + 1]);
            else if (!std::strcmp(argv[i], "--burst")) burst = list(argv[i + 1]);
            else if (!std::strcmp(argv[i], "--block")) block = list(argv[i + 1]);
            else if (!std::strcmp(argv[i], "--start")) start = list(argv[i + 1]);
            else if (!std::strcmp(argv[i], "--ticks")) ticks = std::strtoull(argv[i + 1], nullptr, 0);
            else return usage();
        }
        if (!ok || n <= 0 || o.ncpus == 0) {
            std::fprintf(stderr,
                         "placement-tool sim: bad thread count, CPU count or list (numbers separated by commas)\n");
            return 2;
        }
        auto at = [](const std::vector<uint64_t>& v, int i, uint64_t dflt) {
            return v.empty() ? dflt : v[std::min<size_t>(static_cast<size_t>(i), v.size() - 1)];
        };
        replay::Sim sim(o, &p->get());
        for (int i = 0; i < n; ++i) {
            replay::SimThreadSpec s;
            s.pid = static_cast<uint64_t>(i + 1);
            s.weight = static_cast<uint32_t>(at(weights, i, s.weight));
            s.work_ticks = at(work, i, 500);
            s.burst_ticks = at(burst, i, 0);
            s.block_ticks = at(block, i, 0);
            s.start_tick = at(start, i, 0);
            (void)sim.add_thread(s);
        }
        bool done = sim.run(ticks);
        std::cout << replay::format_records(sim.trace());
        for (auto& l : sim.log) std::cerr << l << "\n";
        std::cerr << sim.summary() << "\n";
        return done ? 0 : 1;
    }
    return usage();
}
