// round_robin.h: the smallest useful policy: runnable threads go to the CPUs in turn.
//
// It ignores weights and load, with one exception that keeps it work
// conserving: when the kernel reports a CPU idle while another CPU has a
// queue, the newest runnable thread of that CPU moves to the idle one. It
// exists to show how little a policy needs (compare docs/writing-a-policy.md)
// and as the other side of hot-swap tests.
//
// Argument (Policy::configure): slice_ms=N, the slice every assignment
// carries, 1..1000 ms (the kernel's bound); without it the kernel's default
// slice applies. Same rounding as fair-share's: whole 4 ms ticks.
#pragma once

#include "../common/policy.h"

namespace placement {

class RoundRobin final : public Policy {
public:
    const char* name() const override { return "round-robin"; }
    uint32_t version() const override { return 1; }
    bool configure(const KeyValues& args, ArgError& err) override {
        uint64_t ms = 0;
        if (!single_u64_arg(args, name(), "slice_ms", 1, 1000, ms, err)) return false;
        if (ms != 0) slice_ns_ = ms * 1'000'000;
        return true;
    }
    void start(uint32_t ncpus) override { ncpus_ = ncpus == 0 ? 1 : ncpus; }
    void on_event(const Event& e, Decisions& out) override {
        last_seq_ = e.seq;
        if (e.kind == EventKind::thread_created) (void)threads_.get(e.thread_id, e.process_id);
        if (threads_.note_left(e)) return;
        if (e.kind == EventKind::cpu_load && e.runnable == 0 && e.cpu < ncpus_) pull_to(e.cpu, out);
        if (e.kind != EventKind::thread_runnable) return;
        uint32_t cpu = next_++ % ncpus_;
        if (ThreadPlacement* t = threads_.get(e.thread_id, e.process_id)) {
            t->cpu = cpu;
            t->runnable = true;
        }
        out.push(assign(e.seq, e.thread_id, cpu, slice_ns_));
    }
    void export_state(PolicyState& s) const override {
        export_table(*this, threads_, ncpus_, last_seq_, s);
        s.opaque_len = 4;  // the rotation position, meaningful to round-robin v1 only
        for (int i = 0; i < 4; ++i) s.opaque[i] = static_cast<uint8_t>(next_ >> (8 * i));
    }
    bool import_state(const PolicyState& s) override {
        if (!import_table(s, threads_, ncpus_, last_seq_)) return false;
        next_ = 0;
        if (name_equals(s.policy, name()) && s.version == version() && s.opaque_len == 4)
            for (int i = 0; i < 4; ++i) next_ |= static_cast<uint32_t>(s.opaque[i]) << (8 * i);
        return true;
    }

private:
    // `idle` has nothing to run: take the newest runnable thread from a CPU
    // that has two or more.
    void pull_to(uint32_t idle, Decisions& out) {
        for (uint32_t i = threads_.n; i-- > 0;) {
            ThreadPlacement& t = threads_.t[i];
            if (!t.runnable || t.cpu == idle || t.cpu >= ncpus_) continue;
            uint32_t on_cpu = 0;
            for (uint32_t k = 0; k < threads_.n; ++k) on_cpu += threads_.t[k].runnable && threads_.t[k].cpu == t.cpu;
            if (on_cpu < 2) continue;
            t.cpu = idle;
            out.push(assign(0, t.thread_id, idle, slice_ns_));
            return;
        }
    }

    ThreadTable threads_;
    uint32_t ncpus_ = 1;
    uint32_t next_ = 0;
    uint64_t last_seq_ = 0;
    uint64_t slice_ns_ = 0;  // 0: the kernel's default slice
};

}  // namespace placement
