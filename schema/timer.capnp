# Timer: monotonic time and sleeping, backed by the per-CPU LAPIC timer.
@0xd1af709686caad55;

interface Timer {
  # Monotonic clock and timed waits. Times are nanoseconds since boot.

  now @0 () -> (ns :UInt64);
  # Current monotonic time; `ns` is nanoseconds since boot.

  sleep @1 (ns :UInt64) -> ();
  # Blocks the calling thread for at least `ns` nanoseconds.

  sleepUntil @2 (deadlineNs :UInt64) -> ();
  # Blocks until the monotonic clock reaches `deadlineNs` (returns at once
  # if it already has).

  resolution @3 () -> (ns :UInt64);
  # Smallest interval `ns` the clock behind this Timer distinguishes.
}
