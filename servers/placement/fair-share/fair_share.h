// fair_share.h: weighted fair sharing of CPU time between processes.
//
// Shares: a process's weight is the weight its threads carry (given at
// spawn); a process's share is split evenly between its runnable threads
// (effective weight = process weight * 1024 / runnable threads of it). The
// kernel's per-CPU queues are round-robin, so the policy turns shares into
// slices: a thread's slice is proportional to its effective weight
// (kBaseSliceNs for the smallest runnable effective weight). Two CPU-bound
// threads of weights 1 and 3 on one CPU thus get 8 ms and 24 ms turns: 1:3.
// Whenever the runnable set changes, the slices of the other runnable
// threads are re-sized too (unsolicited slice decisions).
//
// Placement: a runnable thread stays on its CPU while that CPU's weighted
// load (excluding it) is no more than the least loaded CPU's plus its own
// weight (moving would not make anything fairer, and the cache stays warm);
// otherwise it goes to the least loaded CPU. When a load report says a CPU
// is idle while another has a queue (two or more runnable), one of the
// queued threads is moved to the idle CPU (an unsolicited assign).
// Rotation: every kRotateEvery load reports, when CPUs share threads
// (more runnable threads than CPUs), the longest-resident thread of the
// reporting CPU swaps places with the longest-resident one of the next CPU,
// so CPUs that are slower for reasons the policy cannot see (interrupts,
// the server itself, a busy host) do not shortchange the same threads.
//
// Argument (Policy::configure): slice_ms=N, the slice of the smallest
// runnable share, 1..200 ms (default 8). Larger slices mean fewer switches
// and coarser sharing; the kernel counts slices in whole 4 ms ticks (the
// nearest, at least one), so values that are not multiples of 4 are rounded.
//
// Deterministic: decisions depend only on the events, in order.
#pragma once

#include "../common/policy.h"

namespace placement {

class FairShare final : public Policy {
public:
    static constexpr uint64_t kBaseSliceNs = 2 * kTickNs;  // default of slice_ms
    static constexpr uint64_t kMaxSliceNs = 50 * kTickNs;
    static constexpr uint32_t kRotateEvery = 3;

    const char* name() const override { return "fair-share"; }
    uint32_t version() const override { return 1; }
    bool configure(const KeyValues& args, ArgError& err) override;
    void start(uint32_t ncpus) override;
    uint64_t base_slice_ns() const { return base_slice_ns_; }
    void on_event(const Event& e, Decisions& out) override;
    void export_state(PolicyState& s) const override;
    bool import_state(const PolicyState& s) override;

    // For tests: the CPU the policy assigned to tid (kNoCpu if unknown).
    uint32_t cpu_of(uint64_t tid) const;

private:
    uint64_t eff_weight(const ThreadPlacement& t) const;
    uint64_t slice_for(const ThreadPlacement& t) const;
    uint64_t cpu_load(uint32_t cpu, uint64_t except_tid) const;
    uint32_t choose(const ThreadPlacement& t, uint32_t kernel_cpu) const;
    void rebalance(const Event& e, Decisions& out);
    // Re-sizes the slices of runnable threads (except `skip`) whose share
    // changed because the set of runnable threads changed.
    void refresh_slices(uint64_t skip, Decisions& out);

    ThreadTable threads_;
    uint32_t ncpus_ = 1;
    uint32_t reported_[kMaxCpus] = {};  // runnable per CPU from the last load report
    uint64_t last_seq_ = 0;
    uint64_t load_reports_ = 0;
    uint64_t base_slice_ns_ = kBaseSliceNs;
};

}  // namespace placement
