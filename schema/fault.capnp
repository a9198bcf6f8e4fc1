# FaultInjection: make the calling thread's own kernel allocations fail on
# purpose, to test that every allocating path answers no_memory and leaks
# nothing (issue 18; docs/fault-injection.md). Tests only: the kernel grants
# it (named "faults") to a utest program only when booted with
# fault_inject=on, never otherwise.
@0xa9bf56a8c9994d51;

enum AllocKind {
  # What kind of kernel allocation a rule fails.
  frame @0;   # physical 4 KiB frames (single and contiguous, heap growth included)
  heap @1;    # kernel heap blocks (kmalloc)
}

interface FaultInjection {
  # Per-thread injection, after Linux's fail-nth: only allocations the kernel
  # makes while running the calling thread (its system calls and the ring
  # submissions it dispatches) are counted; kernel threads, interrupts and
  # other threads are not.

  arm @0 (kind :AllocKind, nth :UInt64, every :UInt64) -> ();
  # Resets the calling thread's counters and starts counting its frame and
  # heap allocations (both kinds, from the allocation after this call). Of
  # `kind`, the `nth` counted allocation fails (1-based; 0: none) and every
  # `every`-th (0: none); the other kind only counts. A failed allocation
  # looks like memory ran out. Re-arming replaces the rules.

  disarm @1 () -> (injected :UInt64, frames :UInt64, heapBlocks :UInt64);
  # Stops counting on the calling thread: how many allocations were failed,
  # and how many frame and heap allocations were counted since arm (the
  # disarm call's own allocations excluded; all 0 if never armed).

  counts @2 () -> (processThreads :UInt32, kernelThreads :UInt64, pageTables :UInt64);
  # For leak checks: thread slots the caller's process holds (a thread's
  # slot is freed by the kernel's reaper some time after the thread ended),
  # kernel Thread objects (user and kernel threads) not yet freed, and the
  # page-table frames of the caller's address space (kept until it goes, so
  # a path that failed after building a table leaves it, reachable and
  # reused, not leaked).
}
