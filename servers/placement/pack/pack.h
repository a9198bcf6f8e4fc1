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
        for (uint32_t i = 0; i < args.n; ++i) {
            if (!args.kv[i].key_is("k")) {
                err.add("unknown key '")
                    .add(args.kv[i].key, args.kv[i].key_len)
                    .add("' (pack takes k=1..")
                    .add_u64(kMaxThreads)
                    .add(")");
                return false;
            }
            if (!value_u64(args.kv[i], 1, kMaxThreads, k, err)) return false;
        }
        k_ = static_cast<uint32_t>(k);  // all checked: nothing changes on a refusal
        return true;
    }
    void start(uint32_t ncpus) override { ncpus_ = ncpus == 0 ? 1 : (ncpus > kMaxCpus ? kMaxCpus : ncpus); }
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
                ThreadPlacement* t = threads_.get(e.thread_id, e.process_id);
                if (t != nullptr) t->runnable = false;  // not counted while we choose its CPU
                const uint32_t cpu = choose();
                if (t != nullptr) {  // full table: placed, but not handed over
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
        // Any policy's snapshot will do: pack needs only the thread table
        // (whose CPUs may be over our count: start() is told the real one,
        // and such threads count on no CPU until they wake).
        if (s.ncpus == 0 || s.ncpus > kMaxCpus || s.nthreads > kMaxThreads) return false;
        ncpus_ = s.ncpus;
        threads_.n = s.nthreads;
        for (uint32_t i = 0; i < s.nthreads; ++i) threads_.t[i] = s.threads[i];
        last_seq_ = s.last_seq;
        return true;
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
