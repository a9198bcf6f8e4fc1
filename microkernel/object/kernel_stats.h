// kernel_stats.h: the KernelStats interface (schema/scheduler.capnp): the
// per-CPU attribution counters (cpu/cpu_stats.h) and the shared-lock
// statistics (cpu/spinlock.h), read-only, through a capability.
//
// Not an object of its own: the kernel's SchedulerControl object serves it
// (object/scheduler_control.cpp routes the KernelStats interface id here),
// and what a capability may do is set by its rights: every SchedulerControl
// method needs Write, KernelStats.read needs only Read. The kernel grants the
// first process a Read-only capability named "kstats" (boot/init_process.cpp),
// which init hands on as `kernel = kernelStats`; derived from it, nothing can
// steer placement. (Serving it from the existing object keeps dispatch, the
// object types and the boot grants as they are.)
#pragma once

namespace kern {

struct Call;

namespace kernel_stats {

// KernelStats.read (firstCpu) -> (cpuCount, tscHz, cpus, locks). Decode:
// the method and the Read right (rights), the params message (malformed).
// Invoke: samples every online CPU from firstCpu on (at most
// kstats::kMaxCpusPerRead) and every watched lock, racily, and writes the
// results message. Any context that may call; takes no lock.
void invoke(Call& call);

}  // namespace kernel_stats
}  // namespace kern
