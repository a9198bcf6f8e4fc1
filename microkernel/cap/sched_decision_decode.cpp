// sched_decision_decode.cpp: PlacementDecision -> SchedDecision through the generated reader.
#include "cap/sched_decision_decode.h"

namespace kern::decode {

bool placement_decision(const cap::schema::PlacementDecision_Reader& x, SchedDecision* d, const char** why) {
    using W = cap::schema::PlacementDecision_Which;
    *d = SchedDecision{};
    *why = "unknown decision kind";
    d->answers_seq = x.answers_seq();
    switch (x.which()) {
        case W::Assign: {
            const auto a = x.assign();
            d->kind = SchedDecisionKind::assign;
            d->thread_id = a.thread_id();
            d->cpu = a.cpu();
            d->value = a.slice_ns();
            return true;
        }
        case W::CpuWeight:  // retired with setCpuWeights (docs/placement.md): refused as invalid
            *why = "cpuWeight: CPUs have no weights (setCpuWeights was removed)";
            return false;
        case W::ThreadWeight: {
            const auto w = x.thread_weight();
            d->kind = SchedDecisionKind::thread_weight;
            d->thread_id = w.thread_id();
            d->value = w.weight();
            return true;
        }
        case W::DefaultSlice:
            d->kind = SchedDecisionKind::default_slice;
            d->value = x.default_slice();
            return true;
        case W::None:
            return true;
        case W::ProcessWeight: {
            const auto w = x.process_weight();
            d->kind = SchedDecisionKind::process_weight;
            d->process_id = w.process_id();
            d->value = w.weight();
            return true;
        }
        case W::AssignSet: {
            const auto a = x.assign_set();
            d->kind = SchedDecisionKind::assign;
            d->thread_id = a.thread_id();
            d->cpu_mask = a.cpu_mask();
            d->value = a.slice_ns();
            return d->cpu_mask != 0;
        }
        case W::ThreadSlice: {
            const auto s = x.thread_slice();
            d->kind = SchedDecisionKind::slice;
            d->thread_id = s.thread_id();
            d->value = s.slice_ns();
            return true;
        }
        default:
            return false;
    }
}

}  // namespace kern::decode
