# Thread: a kernel thread object, held by whoever created or was given it.
@0xa7700914409acc82;

enum ExitReason {
  # Why a thread or process stopped.
  exited @0;   # it called exit (or returned from its entry point)
  killed @1;   # someone holding its handle killed it
  faulted @2;  # an unhandled CPU exception (page fault, #GP, ...)
  quota @3;    # it exceeded a quota it could not recover from
}

interface Thread {
  # A thread of some process.

  join @0 () -> (exitCode :Int64, reason :ExitReason);
  # Blocks until the thread exits; `exitCode` is the value it passed to
  # exit, `reason` how it stopped.

  id @1 () -> (threadId :UInt64);
  # Kernel id of the thread (stable for its lifetime; the id placement
  # events carry).

  setWeight @2 (weight :UInt32) -> ();
  # Sets the thread's fair-share weight (default 1024, must be 1..10000);
  # the placement server sees it in events and scales the thread's share.

  setCpuHint @3 (cpu :UInt32) -> ();
  # Asks for `cpu`. The placement server may override the hint; a CPU that
  # is not online is an argument error.

  cpuTime @4 () -> (cycles :UInt64);
  # CPU time the thread has run so far, in TSC cycles (KernelStats.read's
  # tscHz converts to seconds), charged at every context switch, the running
  # thread's current slice included. A thread that has ended is peer_dead.
}
