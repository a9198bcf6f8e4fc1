// tools_main.cpp: placement-tool: replay, conformance check and simulation from the command line.
//
//   placement-tool replay <policy> <ncpus> <trace.log>   exit 0 if decisions are reproduced exactly
//   placement-tool check <trace.log> [--tsc-per-us N] [--cpus N] [--max-wait-us N] [--max-idle-waiting F] [--idle-grace-us N] [--min-jain X]
//   placement-tool sim <policy> <ncpus> <threads> [--weights a,b,..]   prints a trace to stdout
//   placement-tool shares <trace> [--max-weight W] [--tolerance X] [--by tsc|ticks]   weighted CPU shares agree?
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
               "       placement-tool check <trace> [--tsc-per-us N] [--cpus N] [--max-wait-us N] [--max-idle-waiting F]\n"
               "                                [--idle-grace-us N] [--min-jain X]\n"
               "       placement-tool sim <policy> <ncpus> <threads> [--weights w1,w2,...] [--ticks N]\n"
               "       placement-tool shares <trace> [--max-weight W] [--tolerance X] [--by tsc|ticks]\n");
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
      else if (!std::strcmp(argv[i], "--cpus")) o.cpus = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 0));
      else if (!std::strcmp(argv[i], "--max-idle-waiting")) o.max_idle_waiting_fraction = std::atof(argv[i + 1]);
      else if (!std::strcmp(argv[i], "--idle-grace-us")) o.idle_grace_us = std::strtoull(argv[i + 1], nullptr, 0);
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
        std::printf("thread %llu weight %u tsc_time %llu per_weight %.1f\n", static_cast<unsigned long long>(tid), w,
                    static_cast<unsigned long long>(rep.cpu_time[tid]), per);
      if (n == 0 || per < mn) mn = per;
      if (n == 0 || per > mx) mx = per;
      ++n;
    }
    double spread = n > 0 && mn > 0 ? mx / mn - 1 : 1e9;
    std::printf("shares: by=%s threads=%d spread=%.3f tolerance=%.3f -> %s\n", by_ticks ? "ticks" : "tsc", n, spread,
                tol, n >= 2 && spread <= tol ? "PASS" : "FAIL");
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
