// tools_main.cpp: placement-tool: replay, conformance check and simulation from the command line.
//
//   placement-tool replay <policy> <ncpus> <trace.log>   exit 0 if decisions are reproduced exactly
//   placement-tool check <trace.log> [--tsc-per-us N] [--max-wait-us N] [--min-jain X]
//   placement-tool sim <policy> <ncpus> <threads> [--weights a,b,..]   prints a trace to stdout
//   placement-tool shares <trace> [--max-weight W] [--tolerance X]     weighted CPU shares agree?
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "conformance.h"
#include "policies.h"
#include "replay.h"
#include "sim.h"
#include "trace_io.h"

namespace {
int usage() {
  std::fprintf(stderr,
               "usage: placement-tool replay <policy> <ncpus> <trace>\n"
               "       placement-tool check <trace> [--tsc-per-us N] [--max-wait-us N] [--min-jain X]\n"
               "       placement-tool sim <policy> <ncpus> <threads> [--weights w1,w2,...] [--ticks N]\n"
               "       placement-tool shares <trace> [--max-weight W] [--tolerance X]\n");
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string cmd = argv[1];
  if (cmd == "replay" && argc == 5) {
    auto p = replay::make_policy(argv[2]);
    if (!p) return usage();
    auto recs = replay::read_trace_file(argv[4]);
    auto r = replay::replay_trace(recs, p->get(), static_cast<uint32_t>(std::atoi(argv[3])));
    std::cout << r.text();
    return r.identical() ? 0 : 1;
  }
  if (cmd == "check") {
    replay::ConformanceOptions o;
    for (int i = 3; i + 1 < argc; i += 2) {
      if (!std::strcmp(argv[i], "--tsc-per-us")) o.tsc_per_us = std::strtoull(argv[i + 1], nullptr, 0);
      else if (!std::strcmp(argv[i], "--max-wait-us")) o.max_wait_us = std::strtoull(argv[i + 1], nullptr, 0);
      else if (!std::strcmp(argv[i], "--min-jain")) o.min_jain = std::atof(argv[i + 1]);
      else return usage();
    }
    auto rep = replay::check_conformance(replay::read_trace_file(argv[2]), o);
    std::cout << rep.text();
    return rep.ok() ? 0 : 1;
  }
  if (cmd == "shares") {
    // CPU time per unit of weight of the threads whose weight is at most
    // --max-weight (the test's explicitly weighted workers); they must agree
    // within --tolerance (max/min - 1).
    uint64_t max_weight = 1000;
    double tol = 0.10;
    for (int i = 3; i + 1 < argc; i += 2) {
      if (!std::strcmp(argv[i], "--max-weight")) max_weight = std::strtoull(argv[i + 1], nullptr, 0);
      else if (!std::strcmp(argv[i], "--tolerance")) tol = std::atof(argv[i + 1]);
      else return usage();
    }
    replay::ConformanceOptions o;
    o.min_jain = 0;
    auto rep = replay::check_conformance(replay::read_trace_file(argv[2]), o);
    double mn = 0, mx = 0;
    int n = 0;
    // Tick-sampled CPU time when the trace has it for every thread (the
    // kernel's K records), else TSC time between switch-ins.
    bool use_ticks = true;
    for (auto& [tid, w] : rep.weight_of)
      if (w != 0 && w <= max_weight && rep.ticks.count(tid) == 0) use_ticks = false;
    for (auto& [tid, w] : rep.weight_of) {
      if (w == 0 || w > max_weight) continue;
      uint64_t t = use_ticks ? rep.ticks[tid] : rep.cpu_time[tid];
      double per = static_cast<double>(t) / w;
      std::printf("thread %llu weight %u %s %llu per_weight %.1f\n", static_cast<unsigned long long>(tid), w,
                  use_ticks ? "ticks" : "tsc_time", static_cast<unsigned long long>(t), per);
      if (n == 0 || per < mn) mn = per;
      if (n == 0 || per > mx) mx = per;
      ++n;
    }
    double spread = n > 0 && mn > 0 ? mx / mn - 1 : 1e9;
    std::printf("shares: threads=%d spread=%.3f tolerance=%.3f -> %s\n", n, spread, tol,
                n >= 2 && spread <= tol ? "PASS" : "FAIL");
    return n >= 2 && spread <= tol ? 0 : 1;
  }
  if (cmd == "sim" && argc >= 5) {
    auto p = replay::make_policy(argv[2]);
    if (!p) return usage();
    replay::SimOptions o;
    o.ncpus = static_cast<uint32_t>(std::atoi(argv[3]));
    int n = std::atoi(argv[4]);
    std::string weights;
    uint64_t ticks = 2000;
    for (int i = 5; i + 1 < argc; i += 2) {
      if (!std::strcmp(argv[i], "--weights")) weights = argv[i + 1];
      else if (!std::strcmp(argv[i], "--ticks")) ticks = std::strtoull(argv[i + 1], nullptr, 0);
      else return usage();
    }
    replay::Sim sim(o, &p->get());
    size_t pos = 0;
    for (int i = 0; i < n; ++i) {
      replay::SimThreadSpec s;
      s.pid = static_cast<uint64_t>(i + 1);
      s.work_ticks = 500;
      if (!weights.empty()) {
        size_t e = weights.find(',', pos);
        s.weight = static_cast<uint32_t>(std::atoi(weights.substr(pos, e - pos).c_str()));
        pos = e == std::string::npos ? weights.size() : e + 1;
      }
      (void)sim.add_thread(s);
    }
    bool done = sim.run(ticks);
    std::cout << replay::format_records(sim.trace());
    for (auto& l : sim.log) std::cerr << l << "\n";
    return done ? 0 : 1;
  }
  return usage();
}
