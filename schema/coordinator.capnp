# Coordinator: the benchmark coordinator's interface to its workers and to the harness.
@0xe20e0527bf30696a;

enum Workload {
  # Which benchmark a run measures.
  primes @0;      # smp-process-scale: segmented prime counting
  blockHash @1;   # smp-thread-scale: fixed-size block hashing
}

struct WorkAssignment {
  # The slice of the benchmark one worker computes.
  workload @0 :Workload;   # which benchmark
  workerIndex @1 :UInt32;  # this worker's index (0-based)
  workers @2 :UInt32;      # total workers in the run
  rangeLo @3 :UInt64;      # primes: first number of this worker's segment
  rangeHi @4 :UInt64;      # primes: one past the last number
  blockOffset @5 :UInt64;  # blockHash: first byte of this worker's blocks
  blockBytes @6 :UInt64;   # blockHash: bytes this worker hashes
  rounds @7 :UInt32;       # blockHash: hashing rounds
  chunks @8 :UInt32;       # pieces the workers share the range in (claimed
                           # through the shared page's counter); 0: each
                           # worker computes [rangeLo, rangeHi) of its own
}

struct WorkerReport {
  # What a worker sends back when done.
  workerIndex @0 :UInt32;  # which worker
  primes @1 :UInt64;       # primes: count in its segment
  checksum @2 :UInt64;     # primes: checksum of the primes found
  hash @3 :Data;           # blockHash: digest of its output slot
  workCycles @4 :UInt64;   # TSC cycles of the timed section (no syscalls inside)
  startTsc @5 :UInt64;     # TSC at the start of the timed section
  endTsc @6 :UInt64;       # TSC at its end
  cpuStart @7 :UInt32;     # CPU id just before the timed section
  cpuEnd @8 :UInt32;       # and just after it
  chunksTaken @9 :UInt32;  # pieces of the shared range this worker computed
}

struct BenchResult {
  # One verified benchmark result, as printed on the result line.
  workload @0 :Workload;   # which benchmark
  cpus @1 :UInt32;         # online CPUs
  workers @2 :UInt32;      # workers (processes or threads)
  rangeLo @3 :UInt64;      # primes: range start
  rangeHi @4 :UInt64;      # primes: range end
  primes @5 :UInt64;       # primes: aggregate count
  checksum @6 :UInt64;     # primes: aggregate checksum / blockHash: root hash prefix
  rootHash @7 :Data;       # blockHash: root hash
  elapsedCycles @8 :UInt64;  # spawn of the first worker to the last report
  workCycles @9 :UInt64;   # union of the workers' timed sections
  verified @10 :Bool;      # counts and checksums matched the known constants
}

interface Coordinator {
  # Hands out work, collects reports, verifies and publishes results.
  # Served by bench-coordinator on an Endpoint for the process-scale
  # workers it starts (benchmarks/capos/coordinator.cpp): each worker
  # registers, then meets the others at the gate of a shared page (the only
  # thing that page still carries: the start signal and the chunk counter,
  # so nothing but loads and stores lies between the workers' timed
  # sections), and reports after its timed section.

  register @0 (workerIndex :UInt32) -> (work :WorkAssignment);
  # A worker announces itself and receives its `work`.

  report @1 (report :WorkerReport) -> (accepted :Bool);
  # A worker delivers its `report`; `accepted` is false for a duplicate or
  # an unknown worker index.

  result @2 () -> (result :BenchResult);
  # Blocks until every worker has reported and the totals were checked.
  # Not served yet: the coordinator prints its results on the console,
  # where the harness reads them; a call answers bad_method.
}
