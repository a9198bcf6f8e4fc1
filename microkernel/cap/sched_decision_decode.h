// sched_decision_decode.h: SchedulerControl.place's decisions, PlacementDecision on the generated bindings.
//
// The decode of one decision a placement server sent: plain C++ over the
// generated reader (capos/schema/placement.capnp.h), no lock, no kernel
// object, so the host unit tests (test/unit/cap) and the placement
// codec fuzz target (test/fuzz/placement_codec_fuzz.cpp, against the
// servers' encoder) build the same source. It changes nothing: the
// decision is checked against live limits (check_decision) and applied by
// SchedulerControl (object/scheduler_control.cpp).
#pragma once

#include "capos/schema/placement.capnp.h"
#include "sched/sched_events.h"

namespace kern::decode {

// PlacementDecision -> SchedDecision (*d reset first). False with *why set
// when the decision cannot be applied as sent: an unknown union member, a
// retired one (cpuWeight), an assignSet with an empty CPU set.
[[nodiscard]] bool placement_decision(const cap::schema::PlacementDecision_Reader& x, SchedDecision* d,
                                      const char** why);

}  // namespace kern::decode
