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
        switch (e.kind) {
            case EventKind::thread_exited:
                threads_.remove(e.thread_id);
                return;
            case EventKind::thread_blocked:
                if (ThreadPlacement* t = threads_.find(e.thread_id)) t->runnable = false;
                return;
            case EventKind::thread_runnable: {
                const uint32_t cpu = static_cast<uint32_t>(e.process_id % ncpus_);
                if (ThreadPlacement* t = threads_.get(e.thread_id, e.process_id)) {  // full: placed, not handed over
                    t->cpu = cpu;
                    t->weight = e.weight;
                    t->runnable = true;
                }
                out.push(assign(e.seq, e.thread_id, cpu));
                return;
            }
            default:
                return;
        }
    }
    void export_state(PolicyState& s) const override {
        copy_name(s.policy, sizeof s.policy, name());
        s.version = version();
        s.last_seq = last_seq_;
        s.ncpus = ncpus_;
        s.nthreads = threads_.n;
        for (uint32_t i = 0; i < threads_.n; ++i) s.threads[i] = threads_.t[i];
    }
    bool import_state(const PolicyState& s) override {
        if (s.ncpus == 0 || s.ncpus > kMaxCpus || s.nthreads > kMaxThreads) return false;
        ncpus_ = s.ncpus;
        threads_.n = s.nthreads;
        for (uint32_t i = 0; i < s.nthreads; ++i) threads_.t[i] = s.threads[i];
        last_seq_ = s.last_seq;
        return true;
    }

private:
    ThreadTable threads_;
    uint32_t ncpus_ = 1;
    uint64_t last_seq_ = 0;
};

}  // namespace placement
