# SchedulerControl: what the kernel offers the placement server.
@0x86436dd3b547e14e;

using P = import "placement.capnp";
using import "memory.capnp".MemoryObject;

struct Rejection {
  # One decision the kernel refused to apply.
  index @0 :UInt32;        # position in the submitted list
  answersSeq @1 :UInt64;   # the seq it answered
  reason @2 :Text;         # why (unknown thread, CPU offline, late, ...)
}

interface SchedulerControl {
  # The kernel's placement mechanism, as seen by the one placement server
  # allowed to steer it. The kernel never waits on the server: events go
  # into a bounded ring, decisions are applied as data, and a server that
  # misses its deadline or answers invalidly is replaced by the built-in
  # default placement (a `fallback` event tells it so).

  attach @0 (deadlineNs :UInt64, resumeAfterSeq :UInt64, rings :MemoryObject) -> (epoch :UInt64, cpuCount :UInt32, nextSeq :UInt64);
  # Makes the caller the active placement server, replacing any previous
  # one (handover). Runnable events must be answered within `deadlineNs`.
  # Buffered events after `resumeAfterSeq` (from a predecessor's snapshot)
  # are delivered again. Returns the new `epoch` (decisions carry it), the
  # number of online CPUs and the next event seq.
  #
  # `rings` (optional, writable, at least 3 pages): events and decisions
  # then pass through rings in that memory (layout:
  # microkernel/abi/capos/abi/sched_ring.h) instead of `nextEvents` results
  # and `place` calls. `nextEvents` then only applies the decisions waiting
  # in the ring and, if no event is waiting either, blocks until one is (or
  # `timeoutNs`); it returns no events. Without `rings`, the calls below.

  nextEvents @1 (max :UInt32, timeoutNs :UInt64) -> (events :List(P.PlacementEvent), dropped :UInt64);
  # Takes up to `max` events, waiting up to `timeoutNs` (0 = forever) for
  # the first. `dropped` counts events lost to ring overflow since the last
  # call (the kernel placed those threads itself).

  place @2 (epoch :UInt64, decisions :List(P.PlacementDecision)) -> (applied :UInt32, rejected :List(Rejection));
  # Applies `decisions` (each naming the event seq it answers) for attach
  # `epoch`; a stale epoch rejects them all. Returns how many were applied
  # and which were not.

  setCpuWeights @3 (weights :List(UInt32)) -> ();
  # Removed: answers bad_method. The weights were stored and never applied
  # (docs/placement.md, "Weights"); the ordinal stays reserved.

  setDefaultSlice @4 (sliceNs :UInt64) -> ();
  # Sets the time slice given to threads without an explicit one.

  snapshot @5 () -> (snapshot :P.PlacementSnapshot);
  # The kernel's view of current placement (every CPU and live thread), for
  # a successor that has no exported state to import.

  detach @6 () -> ();
  # Gives placement back to the kernel's built-in default.

  status @7 () -> (mode :P.PlacementMode, epoch :UInt64, fallbacks :UInt64);
  # Who places now (`mode`), the current `epoch`, and how many times the
  # kernel has fallen back since boot (`fallbacks`).

  traceDump @8 (enable :Bool) -> ();
  # Prints the kernel's placement trace (per-CPU buffers of events,
  # decisions and placements; docs/placement.md, "Trace, replay,
  # conformance") to the serial log, clears it, and records from now on
  # only if `enable`. While a server serves, only that server may call it
  # (anyone else: `staleSlot`).

  stats @9 () -> (applied :UInt64, misses :UInt64, stale :UInt64, invalid :UInt64,
                  latencyMedianNs :UInt64, latencyP99Ns :UInt64, fallbackLatencyNs :UInt64,
                  swapGapNs :UInt64, swapDefaultPlacements :UInt64, samples :UInt64);
  # The kernel's placement health since boot: decisions applied, deadline
  # misses, stale-epoch and invalid decisions, the event-to-applied latency
  # median and p99 over `samples` decisions, the time from a server's death
  # to the fallback, the gap and the default placements of the last hot
  # swap. Also printed as `[placement] stats ...` lines.
}

struct CpuCounters {
  # One CPU's attribution counters since boot (microkernel/cpu/cpu_stats.h;
  # exact meanings in docs/scheduling.md, "Kernel statistics"). Each is
  # written only by its own CPU and read racily: fields of one snapshot may
  # be a moment apart. Take differences of two snapshots.
  cpu @0 :UInt32;              # dense CPU id
  ticks @1 :UInt64;            # LAPIC timer ticks taken
  idleTicks @2 :UInt64;        # of those, ticks that found the idle thread running
  switches @3 :UInt64;         # context switches (another thread started running)
  migrations @4 :UInt64;       # switches to a thread that last ran on another CPU
  ipiTxResched @5 :UInt64;     # reschedule IPIs sent (one per target)
  ipiRxResched @6 :UInt64;     # reschedule IPIs taken
  ipiTxTlb @7 :UInt64;         # TLB shootdown IPIs sent
  ipiRxTlb @8 :UInt64;         # TLB shootdown IPIs taken
  ipiTxCall @9 :UInt64;        # smp_call IPIs sent
  ipiRxCall @10 :UInt64;       # smp_call IPIs taken
  ipiTxStop @11 :UInt64;       # panic stop NMIs sent
  ipiRxStop @12 :UInt64;       # panic stop NMIs taken
  ipiTxOther @13 :UInt64;      # other IPIs sent (test vectors)
  ipiRxOther @14 :UInt64;      # other IPIs taken
  shootdownsTx @15 :UInt64;    # shootdown requests posted to at least one other CPU
  shootdownsRx @16 :UInt64;    # other CPUs' shootdown requests applied here
  cr3Loads @17 :UInt64;        # CR3 writes when switching address spaces
  cr3Skips @18 :UInt64;        # switches that kept CR3 (same address space or root)
  kernelCycles @19 :UInt64;    # TSC cycles in kernel code (not halted)
  userCycles @20 :UInt64;      # TSC cycles in user code
  idleCycles @21 :UInt64;      # TSC cycles halted in the idle thread
  keeperScans @22 :UInt64;     # times the deadline timekeeper woke and scanned its list here
}

struct LockCounters {
  # Contention of one lock shared between CPUs, since boot (exact: updated
  # by the holder under the lock; read racily).
  name @0 :Text;               # the lock's name (cpu/spinlock.h kSharedLockNames)
  acquisitions @1 :UInt64;     # times taken
  contended @2 :UInt64;        # of those, times the first look found it taken
  waitCycles @3 :UInt64;       # TSC cycles spent waiting in those
}

interface KernelStats {
  # The kernel's attribution counters (issue 13), read-only. Served by the
  # kernel's SchedulerControl object to any capability with the Read right:
  # the kernel grants a Read-only one named "kstats" (boot manifests:
  # `kernel = kernelStats`), which can call nothing else.

  read @0 (firstCpu :UInt32) -> (cpuCount :UInt32, tscHz :UInt64, cpus :List(CpuCounters), locks :List(LockCounters));
  # Counters of CPUs `firstCpu`, firstCpu+1, ... (as many as one result
  # holds, at least 16; call again from the next id for more) and of every
  # watched lock. `cpuCount`: CPUs online; `tscHz`: the TSC rate the cycle
  # figures count in (0 if not calibrated).
}
