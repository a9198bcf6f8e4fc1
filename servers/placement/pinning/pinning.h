// pinning.h: the tutorial policy (docs/writing-a-policy.md): every process lives on one CPU.
//
// A process's threads all go to CPU (process id mod CPUs): caches stay
// warm and processes never share a CPU with each other unless there are
// more processes than CPUs. It never balances, which the conformance
// checker points out when two busy processes land on the same CPU.
#pragma once

#include "../common/policy.h"

namespace placement {

class Pinning final : public Policy {
public:
  const char* name() const override { return "pinning"; }
  uint32_t version() const override { return 1; }
  void start(uint32_t ncpus) override { ncpus_ = ncpus == 0 ? 1 : ncpus; }
  void on_event(const Event& e, Decisions& out) override {
    last_seq_ = e.seq;
    if (e.kind != EventKind::thread_runnable) return;
    out.push(assign(e.seq, e.thread_id, static_cast<uint32_t>(e.process_id % ncpus_)));
  }
  void export_state(PolicyState& s) const override {
    copy_name(s.policy, sizeof s.policy, name());
    s.version = version();
    s.last_seq = last_seq_;
    s.ncpus = ncpus_;
  }
  bool import_state(const PolicyState& s) override {
    if (s.ncpus == 0 || s.ncpus > kMaxCpus) return false;
    ncpus_ = s.ncpus;
    last_seq_ = s.last_seq;
    return true;
  }

private:
  uint32_t ncpus_ = 1;
  uint64_t last_seq_ = 0;
};

}  // namespace placement
