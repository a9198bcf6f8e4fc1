# Process and ProcessHandle: an address space with its threads, and the right to wait for or kill it.
@0xe4b9b25c68a651e2;

using import "thread.capnp".Thread;
using import "thread.capnp".ExitReason;
using import "memory.capnp".MemoryObject;
using import "endpoint.capnp".Endpoint;

interface Process {
  # A process's own view of itself: its address space and threads.

  createThread @0 (entry :UInt64, stackTop :UInt64, arg :UInt64) -> (thread :Thread);
  # Creates a thread starting at user address `entry`, with stack pointer
  # `stackTop` and `arg` in the first argument register. Charged to the
  # threads quota.

  map @1 (memory :MemoryObject, address :UInt64, offset :UInt64, length :UInt64,
          writable :Bool, executable :Bool) -> ();
  # Maps `length` bytes of `memory` from `offset` at virtual `address`
  # (all page-aligned), readable, and writable/executable as asked
  # (writable and executable together is an argument error).

  unmap @2 (address :UInt64, length :UInt64) -> ();
  # Removes mappings in [address, address + length) and shoots down TLBs.

  allocate @3 (bytes :UInt64) -> (memory :MemoryObject);
  # A fresh zeroed MemoryObject of `bytes` (rounded up to whole pages),
  # charged to the frames quota.

  exit @4 (code :Int64) -> ();
  # Ends every thread of the process with exit code `code`; never completes.

  id @5 () -> (processId :UInt64);
  # Kernel id of the process.

  # Methods @6..@8 are served by the kernel's Process object
  # (microkernel/object/process.cpp); a server standing in for a Process
  # need not implement them.

  exitThread @6 (code :Int64) -> ();
  # Ends the calling thread only (not the process) with `code`, which
  # Thread.join reports; never completes. Only on the caller's own Process
  # (else invalid_argument). libcap's threads end this way.

  createEndpoint @7 () -> (endpoint :Endpoint);
  # A new root Endpoint (receive, reply, mint) owned by this process.

  dropCaps @8 () -> ();
  # Empties the caller's slots named in the submission's capability array
  # (the SQE caps, not a message field: a Cap'n Proto message cannot name
  # the caller's own slots). An invalid or stale handle fails the call.
}

interface ProcessHandle {
  # Held by a process's parent (or whoever it was given to): observe and end it.

  wait @0 () -> (exitCode :Int64, reason :ExitReason);
  # Blocks until the process has exited; `exitCode` is the code passed to
  # exit (the fault vector when faulted), `reason` why it stopped.

  kill @1 () -> ();
  # Ends the process; wait() then reports `killed`.

  id @2 () -> (processId :UInt64);
  # Kernel id of the process.
}
