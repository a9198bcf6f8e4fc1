// pinning.h: the tutorial policy (docs/writing-a-policy.md): every process lives on one CPU.
//
// A process's threads all go to CPU (process id mod CPUs): caches stay
// warm and processes never share a CPU with each other unless there are
// more processes than CPUs. It never balances, which the conformance
// checker points out when two busy processes land on the same CPU.
//
// It keeps a thread table only to hand it over: a successor (hot swap)
// must learn every live thread, whichever policy it is.
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
        if (threads_.note_left(e) || e.kind != EventKind::thread_runnable) return;
        const uint32_t cpu = static_cast<uint32_t>(e.process_id % ncpus_);
        (void)threads_.note_placed(e, cpu);
        out.push(assign(e.seq, e.thread_id, cpu));
    }
    void export_state(PolicyState& s) const override { export_table(*this, threads_, ncpus_, last_seq_, s); }
    bool import_state(const PolicyState& s) override { return import_table(s, threads_, ncpus_, last_seq_); }

private:
    ThreadTable threads_;
    uint32_t ncpus_ = 1;
    uint64_t last_seq_ = 0;
};

}  // namespace placement
