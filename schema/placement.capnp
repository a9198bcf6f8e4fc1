# Placement: scheduling events, placement decisions and snapshots, and the interface a placement policy server implements.
@0x823182263c8987e4;

enum PlacementMode {
  # Who decides placement right now.
  builtin @0;    # the kernel's own default placement (no server attached)
  server @1;     # an attached placement server
  fallback @2;   # a server is attached but missed its deadline or erred; the kernel decides
}

struct ThreadInfo {
  # A thread as the kernel reports it in events.
  threadId @0 :UInt64;    # kernel thread id
  processId @1 :UInt64;   # kernel id of its process
  cpu @2 :UInt32;         # CPU it last ran on (or was queued on)
  weight @3 :UInt32;      # fair-share weight (Thread.setWeight, spawn placementWeight; default 1024)
  runNs @4 :UInt64;       # CPU time consumed so far
  cpuHint @5 :Int32 = -1; # CPU asked for with Thread.setCpuHint, -1 if none
}

struct CpuLoad {
  # Load of one CPU over the last reporting interval.
  cpu @0 :UInt32;         # CPU index
  runnable @1 :UInt32;    # threads queued on it now
  busyNs @2 :UInt64;      # time spent running threads in the interval
  idleNs @3 :UInt64;      # time spent idle in the interval
  weight @4 :UInt32;      # always 0: CPUs have no weight (setCpuWeights was removed)
}

struct PlacementEvent {
  # One scheduling event from the kernel's event ring.
  seq @0 :UInt64;         # strictly increasing sequence number; decisions name the seq they answer
  timeNs @1 :UInt64;      # monotonic time of the event
  union {
    threadCreated @2 :ThreadInfo;   # a new thread exists (not yet runnable)
    threadRunnable @3 :ThreadInfo;  # a thread became runnable and needs a CPU
    threadBlocked @4 :ThreadInfo;   # a thread blocked (left its run queue)
    threadExited @5 :ThreadInfo;    # a thread exited
    cpuLoad @6 :CpuLoad;            # periodic per-CPU load report
    fallback :group {
      # The kernel took placement back (deadline missed or invalid decision).
      reason @7 :Text;              # why, as printed on the console
      failedSeq @8 :UInt64;         # the event whose answer was late or bad
    }
    deadlineMissed @9 :UInt64;      # the seq whose answer did not arrive in time (the default placed it)
  }
  cpu @10 :UInt32;        # the CPU the event concerns (deadlineMissed: the CPU that swept it)
}

struct PlacementDecision {
  # One command of a placement server to the kernel.
  answersSeq @0 :UInt64;  # seq of the event this answers (0 = unsolicited); late answers are dropped
  union {
    assign :group {
      # Put a thread on a CPU's run queue.
      threadId @1 :UInt64;   # the thread
      cpu @2 :UInt32;        # target CPU
      sliceNs @3 :UInt64;    # time slice to give it (0 = the default slice)
    }
    cpuWeight :group {
      # Removed with SchedulerControl.setCpuWeights: the kernel refuses it
      # as an invalid decision (docs/placement.md, "Weights").
      cpu @4 :UInt32;        # the CPU
      weight @5 :UInt32;     # its weight, 0 = drain (no new threads)
    }
    threadWeight :group {
      # Override a thread's fair-share weight.
      threadId @6 :UInt64;   # the thread
      weight @7 :UInt32;     # its weight (1..10000)
    }
    defaultSlice @8 :UInt64; # set the default slice in nanoseconds
    none @9 :Void;           # acknowledge the event, change nothing
    processWeight :group {
      # Set the fair-share weight of every thread of a process.
      processId @10 :UInt64; # the process
      weight @11 :UInt32;    # its weight (1..10000)
    }
    assignSet :group {
      # Put a thread on the least loaded online CPU of a set.
      threadId @12 :UInt64;  # the thread
      cpuMask @13 :UInt64;   # bit i = CPU i
      sliceNs @14 :UInt64;   # time slice (0 = the default slice)
    }
    threadSlice :group {
      # Set one thread's time slice.
      threadId @15 :UInt64;  # the thread
      sliceNs @16 :UInt64;   # nanoseconds (0 = the default slice)
    }
  }
}

struct CpuState {
  # One CPU in a snapshot.
  cpu @0 :UInt32;         # CPU index
  online @1 :Bool;        # whether it runs threads
  weight @2 :UInt32;      # always 0: CPUs have no weight (setCpuWeights was removed)
  runnable @3 :UInt32;    # threads queued on it
}

struct ThreadPlacement {
  # Where one thread lives, in a snapshot.
  threadId @0 :UInt64;    # kernel thread id
  processId @1 :UInt64;   # its process
  cpu @2 :UInt32;         # assigned CPU
  weight @3 :UInt32;      # fair-share weight
  sliceNs @4 :UInt64;     # its time slice
  vruntimeNs @5 :UInt64;  # policy's virtual runtime (fair-share bookkeeping; 0 if unused)
  runnable @6 :Bool;      # runnable (queued or running) when the snapshot was taken
}

struct PlacementSnapshot {
  # Complete placement state, to hand over from one policy server to the next.
  epoch @0 :UInt64;       # attach epoch it was taken in
  lastSeq @1 :UInt64;     # last event seq reflected in it; the successor resumes after it
  policy @2 :Text;        # name of the policy that exported it
  version @3 :UInt32;     # that policy's state format version
  defaultSliceNs @4 :UInt64;  # default time slice
  cpus @5 :List(CpuState);            # every CPU
  threads @6 :List(ThreadPlacement);  # every live thread
  opaque @7 :Data;        # policy-private state, meaningful only to the same policy and version
}

interface Placement {
  # Implemented by a placement policy server. The server itself pulls
  # events from SchedulerControl; this interface lets a supervisor drive it
  # offline, name it, and move its state to a successor (hot swap).

  decide @0 (events :List(PlacementEvent)) -> (decisions :List(PlacementDecision));
  # Feeds `events` to the policy and returns its `decisions` (each naming
  # the seq it answers); used for replaying recorded traces in tests.

  describe @1 () -> (name :Text, version :UInt32);
  # The policy's `name` and state format `version`.

  exportState @2 () -> (snapshot :PlacementSnapshot);
  # Quiesces the policy (it stops placing) and returns its full state.

  importState @3 (snapshot :PlacementSnapshot) -> (accepted :Bool);
  # Adopts `snapshot` from a predecessor. `opaque` is used only when its
  # policy and version match; `accepted` is false if the snapshot is unusable.

  traceDump @4 () -> (dumped :Bool);
  # Asks the serving server to print the kernel's placement trace of its
  # run (SchedulerControl.traceDump, which only the serving server may
  # call) before it replies. `dumped` is false when the server does not
  # record one (it was started without `trace=1`). A benchmark coordinator
  # calls it after its last timed window (docs/writing-a-policy.md).
}
