// pack.h: the tutorial's exercise policy (docs/writing-a-policy.md, section 8):
// fill the lowest CPU up to k runnable threads, then the next.
//
// A consolidating policy: a waking thread goes to the lowest-numbered CPU
// that holds fewer than k runnable threads (counted by this policy's own
// table: queued or running, by their last assignment), or, with every CPU
// full, to the one holding fewest. Higher CPUs stay idle until the lower
// ones are full, which is what the consolidation workload measures (CPUs
// used, per-CPU busy time), at the price of waits that the conformance
// checker reports as idle-beside-waiting. One argument, k (1..256, default
// 2): k=1 spreads like a least-loaded policy, large k packs everything on
// CPU 0.
#pragma once

#include "../common/policy.h"
#include "../common/policy_args.h"

namespace placement {

class Pack final : public Policy {
public:
    const char* name() const override { return "pack"; }
    uint32_t version() const override { return 1; }
    bool configure(const KeyValues& args, ArgError& err) override {
        uint64_t k = k_;
        if (!single_u64_arg(args, name(), "k", 1, kMaxThreads, k, err)) return false;
        k_ = static_cast<uint32_t>(k);  // all checked: nothing changes on a refusal
        return true;
    }
    void start(uint32_t ncpus) override { ncpus_ = ncpus == 0 ? 1 : (ncpus > kMaxCpus ? kMaxCpus : ncpus); }
    void on_event(const Event& e, Decisions& out) override {
        last_seq_ = e.seq;
        if (threads_.note_left(e) || e.kind != EventKind::thread_runnable) return;
        if (ThreadPlacement* t = threads_.find(e.thread_id)) t->runnable = false;  // not counted while we choose
        const uint32_t cpu = choose();
        (void)threads_.note_placed(e, cpu);  // full table: placed, but not handed over
        out.push(assign(e.seq, e.thread_id, cpu));
    }
    void export_state(PolicyState& s) const override { export_table(*this, threads_, ncpus_, last_seq_, s); }
    bool import_state(const PolicyState& s) override {
        // Any policy's snapshot will do: pack needs only the thread table
        // (whose CPUs may be over our count: start() is told the real one,
        // and such threads count on no CPU until they wake).
        return import_table(s, threads_, ncpus_, last_seq_);
    }

private:
    // The lowest CPU with fewer than k runnable threads, else the least loaded.
    uint32_t choose() const {
        uint32_t load[kMaxCpus] = {};
        for (uint32_t i = 0; i < threads_.n; ++i)
            if (threads_.t[i].runnable && threads_.t[i].cpu < ncpus_) ++load[threads_.t[i].cpu];
        uint32_t least = 0;
        for (uint32_t c = 0; c < ncpus_; ++c) {
            if (load[c] < k_) return c;
            if (load[c] < load[least]) least = c;
        }
        return least;
    }

    ThreadTable threads_;
    uint32_t ncpus_ = 1;
    uint32_t k_ = 2;
    uint64_t last_seq_ = 0;
};

}  // namespace placement
