// broken_policy.h: a deliberately wrong policy, shipped so the conformance checker can be seen to catch one.
//
// It piles every thread onto CPU 0 (other CPUs idle while threads wait:
// work conservation broken) and answers every fourth runnable event twice,
// so the second answer is stale.
#pragma once

#include "../../servers/placement/common/policy.h"

namespace replay {

class BrokenPolicy final : public placement::Policy {
public:
    const char* name() const override { return "broken"; }
    uint32_t version() const override { return 1; }
    void start(uint32_t) override {}
    void on_event(const placement::Event& e, placement::Decisions& out) override {
        if (e.kind != placement::EventKind::thread_runnable) return;
        out.push(placement::assign(e.seq, e.thread_id, 0));
        if (++n_ % 4 == 0) out.push(placement::assign(e.seq, e.thread_id, 0));
    }
    void export_state(placement::PolicyState& s) const override {
        placement::copy_name(s.policy, sizeof s.policy, name());
    }
    bool import_state(const placement::PolicyState&) override { return true; }

private:
    uint64_t n_ = 0;
};

}  // namespace replay
