// fair_share_weights_test.cpp: fair-share keeps CPUs evenly weighted when weights arrive after placement.
//
// The "shares" workload (harness/run policies) starts six threads at the
// default weight; each sets its own weight while running, and the policy
// hears it only at that thread's next wake-up. These tests feed the policy
// that event order directly, then in the host simulator check the CPU time
// the weight classes get.
#include <catch2/catch_test_macros.hpp>
#include <cmath>
#include <vector>

#include "sim.h"
#include "../../servers/placement/fair-share/fair_share.h"

using namespace placement;

namespace {

struct Feeder {
  FairShare& fs;
  uint64_t seq = 1;
  uint64_t t_ns = 0;
  Decisions out;
  // Applies assigns of `out` nowhere: the policy's own table is what the tests read (cpu_of).
  void runnable(uint64_t tid, uint32_t weight, uint32_t cpu, bool created) {
    Event e;
    e.thread_id = tid;
    e.process_id = 7;  // one process, as the workload's "threads" variant
    e.weight = weight;
    e.cpu = cpu;
    e.time_ns = t_ns += 1000;
    if (created) {
      e.seq = seq++;
      e.kind = EventKind::thread_created;
      fs.on_event(e, out);
    }
    e.seq = seq++;
    e.kind = EventKind::thread_runnable;
    fs.on_event(e, out);
  }
  void load(uint32_t cpu, uint32_t runnable) {
    Event e;
    e.seq = seq++;
    e.time_ns = t_ns += 100'000'000;
    e.kind = EventKind::cpu_load;
    e.cpu = cpu;
    e.runnable = runnable;
    fs.on_event(e, out);
  }
};

}  // namespace

TEST_CASE("fair-share: weights learned after placement are balanced across CPUs", "[placement]") {
  FairShare fs;
  fs.start(2);
  Feeder f{fs};
  for (uint64_t tid = 1; tid <= 6; ++tid) f.runnable(tid, kDefaultWeight, 0, true);
  // Placed at the default weight, three a CPU; the real weights then come
  // at wake-ups: both heavy threads on one CPU and the light ones on the
  // other, the lightest first, so each stays where it is (the placement at
  // a wake-up alone keeps them: moving would not even out the load then).
  uint32_t weights[7] = {};
  std::vector<uint64_t> on[2];
  for (uint64_t tid = 1; tid <= 6; ++tid) on[fs.cpu_of(tid)].push_back(tid);
  REQUIRE(on[0].size() == 3);
  REQUIRE(on[1].size() == 3);
  const uint32_t heavy[3] = {1024, 1024, 110}, light[3] = {335, 335, 110};
  for (int k = 0; k < 3; ++k) {
    weights[on[0][k]] = heavy[k];
    weights[on[1][k]] = light[k];
  }
  for (int k = 2; k >= 0; --k) {
    f.runnable(on[1][k], weights[on[1][k]], 1, false);
    f.runnable(on[0][k], weights[on[0][k]], 0, false);
  }
  auto loads = [&] {
    std::vector<uint64_t> l(2, 0);
    for (uint64_t tid = 1; tid <= 6; ++tid) {
      REQUIRE(fs.cpu_of(tid) < 2);
      l[fs.cpu_of(tid)] += weights[tid];
    }
    return l;
  };
  auto before = loads();
  INFO("loads after the wake-ups: " << before[0] << " " << before[1]);
  CHECK(before[0] != before[1]);  // the case this is about: arrival order left them uneven
  for (int k = 0; k < 12; ++k) f.load(static_cast<uint32_t>(k % 2), 3);
  auto after = loads();
  INFO("loads after 12 load reports: " << after[0] << " " << after[1]);
  CHECK(after[0] == 1469);  // 1024 + 335 + 110 on each CPU: the only even split
  CHECK(after[1] == 1469);
}

TEST_CASE("fair-share: an even split is left alone (no ping-pong between CPUs)", "[placement]") {
  FairShare fs;
  fs.start(2);
  Feeder f{fs};
  for (uint64_t tid = 1; tid <= 3; ++tid) f.runnable(tid, kDefaultWeight, 0, true);
  const uint32_t c1 = fs.cpu_of(1), c2 = fs.cpu_of(2), c3 = fs.cpu_of(3);
  // Three equal threads on two CPUs: a move only turns 2:1 into 1:2.
  f.out.clear();
  for (int k = 0; k < 2; ++k) f.load(static_cast<uint32_t>(k % 2), 2);  // before the first rotation
  CHECK(f.out.n == 0);
  CHECK(fs.cpu_of(1) == c1);
  CHECK(fs.cpu_of(2) == c2);
  CHECK(fs.cpu_of(3) == c3);
}

TEST_CASE("fair-share: six threads in three weight classes on 2 CPUs get their weighted shares", "[placement]") {
  FairShare fs;
  replay::SimOptions o;
  o.ncpus = 2;
  replay::Sim sim(o, &fs);
  const uint32_t weights[6] = {110, 110, 335, 335, 1024, 1024};  // light ones first
  std::vector<uint64_t> ids;
  for (uint32_t w : weights) {
    replay::SimThreadSpec s;
    s.pid = 1;
    s.weight = w;
    s.work_ticks = 100000;
    ids.push_back(sim.add_thread(s));
  }
  sim.step(6000);
  // Water-filled fair share of 2 CPUs: w / 2938 x 2 x ticks, none above one CPU.
  for (size_t i = 0; i < ids.size(); ++i) {
    const double want = 6000.0 * 2 * weights[i] / 2938.0;
    const double got = static_cast<double>(sim.cpu_ticks_of(ids[i]));
    INFO("thread " << i << " weight " << weights[i] << " got " << got << " want " << want);
    CHECK(std::fabs(got / want - 1.0) < 0.15);
  }
}
