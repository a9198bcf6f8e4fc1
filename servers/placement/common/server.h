// server.h: the placement server loop shared by every policy (freestanding, libcap).
//
// run_server() attaches to SchedulerControl (named cap "schedctl"), then
// loops: nextEvents -> policy.on_event for each -> place. It never blocks
// the kernel: if it is slow, the kernel's default placement covers for it.
//
// Arguments (the module command line, space separated):
//   deadline_us=N   per-decision deadline asked for at attach (default, or
//                   0: 50 on hardware and KVM, accel.h's kTcgDeadlineUs
//                   under QEMU's TCG; docs/placement.md, "The deadline")
//   rings=0|1       events and decisions through shared rings (default 1)
//                   or through nextEvents/place calls (0)
//   poll=1          spin on the event ring instead of parking (needs
//                   rings=1; the policy gets one CPU fewer unless cpus=)
//   cpus=N          place on CPUs 0..N-1 only (default: all)
//   takeover=1      hot swap: take the state of the running server through
//                   the "handover" MemoryObject, then attach (see below)
//   fail=hang|garbage|exit  after `fail_after` events, misbehave (tests)
//   fail_after=N
//   quiet=1         no per-attach lines
//   crash_at=...    test crash points (libcap/crash_point.h)
//   anything else   the policy's: Policy::configure gets every other word
//                   (policy_args.h); a refusal prints
//                   "[placement] <policy>: arguments refused: <why>" and
//                   the server exits with 6 before attaching
//
// The policy's lifecycle (policy.h): configure, import_state (takeover
// only), then start once with the attach's CPU count capped by cpus=.
//
// Hot swap through the "handover" MemoryObject (one page, mapped by both):
// word 0 is the state: 0 idle, 1 export requested (successor), 2 exported
// (predecessor wrote a PlacementSnapshot message: word 1 = its length,
// bytes from offset 64), 3 taken over (successor attached; predecessor
// exits), 4 refused (successor could not import; predecessor resumes).
#pragma once

#include "libcap/runtime.h"
#include "policy.h"

namespace placement {

int run_server(cap::StartInfo& info, Policy& policy);

}  // namespace placement
