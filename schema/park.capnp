# Park: futex-style blocking on a word in the caller's address space.
@0xc511cc7911664523;

interface Park {
  # Parks and unparks threads on 32-bit words of memory. User-space mutexes,
  # condition variables and join use it for their slow path.

  wait @0 (address :UInt64, expected :UInt32, timeoutNs :UInt64) -> (woken :Bool);
  # Blocks the caller if the u32 at user virtual address `address`
  # (naturally aligned) still equals `expected`; returns at once otherwise.
  # Returns when woken or when `timeoutNs` (relative, 0 = forever) passes.
  # `woken` is true if a wake() ended the wait, false on timeout/mismatch.

  wake @1 (address :UInt64, count :UInt32) -> (woken :UInt32);
  # Wakes up to `count` (0xffffffff = all) threads parked on `address`;
  # `woken` is how many were actually woken.
}
