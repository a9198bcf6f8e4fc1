// kstats.h - the coordinator's view of the kernel's attribution counters: snapshot before and after a timed run, print the deltas.
//
//   benchcap::kstats::Snapshot a, b;            // about 12 KiB each
//   bool have = benchcap::kstats_take(a);
//   ... timed run ...
//   if (have && benchcap::kstats_take(b)) benchcap::kstats_print_delta("process-w2-run1", a, b);
//
// kstats_take reads every CPU and every watched lock through the capability
// named "kstats" in the start info (manifests: `(name = "kstats", kernel =
// kernelStats)`); it returns false, printing nothing, when that capability
// was not granted, and false with one `[kstats] error ...` line when the
// read fails. kstats_print_delta prints the lines of kstats_delta.h: one per
// CPU, `cpu=all` with the sums, and one per lock. Both use a transport of
// their own on the calling thread's ring: call them from one thread at a
// time (the coordinator's main thread), outside the timed section.
#pragma once

#include "kstats_delta.h"

namespace benchcap {

bool kstats_take(kstats::Snapshot& out);
void kstats_print_delta(const char* scope, const kstats::Snapshot& a, const kstats::Snapshot& b);

}  // namespace benchcap
