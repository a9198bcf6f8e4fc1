# SchedulerControl: what the kernel offers the placement server.
@0x86436dd3b547e14e;

using P = import "placement.capnp";

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

  attach @0 (deadlineNs :UInt64, resumeAfterSeq :UInt64) -> (epoch :UInt64, cpuCount :UInt32, nextSeq :UInt64);
  # Makes the caller the active placement server, replacing any previous
  # one (handover). Runnable events must be answered within `deadlineNs`.
  # Buffered events after `resumeAfterSeq` (from a predecessor's snapshot)
  # are delivered again. Returns the new `epoch` (decisions carry it), the
  # number of online CPUs and the next event seq.

  nextEvents @1 (max :UInt32, timeoutNs :UInt64) -> (events :List(P.PlacementEvent), dropped :UInt64);
  # Takes up to `max` events, waiting up to `timeoutNs` (0 = forever) for
  # the first. `dropped` counts events lost to ring overflow since the last
  # call (the kernel placed those threads itself).

  place @2 (epoch :UInt64, decisions :List(P.PlacementDecision)) -> (applied :UInt32, rejected :List(Rejection));
  # Applies `decisions` (each naming the event seq it answers) for attach
  # `epoch`; a stale epoch rejects them all. Returns how many were applied
  # and which were not.

  setCpuWeights @3 (weights :List(UInt32)) -> ();
  # Sets every CPU queue's weight at once (index = CPU).

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
}
