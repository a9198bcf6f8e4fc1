# ProcessSpawner: creates processes from boot-module ELF images, with capabilities and quotas.
@0x97a4903efbe622da;

using import "process.capnp".ProcessHandle;

struct Quotas {
  # Resource limits of one process, charged when it allocates and checked
  # before anything changes. Zero means "the spawner's default".
  frames @0 :UInt64;            # physical 4 KiB frames (memory objects, page tables, stacks)
  capSlots @1 :UInt32;          # capability table slots
  threads @2 :UInt32;           # live threads
  outstandingCalls @3 :UInt32;  # submitted ring entries not yet completed
  children @4 :UInt32;          # live child processes it may spawn
}

struct CapGrant {
  # One capability handed to a new process.
  name @0 :Text;            # name the child looks it up by (its slot order follows the list)
  cap @1 :Capability;       # the capability (a pointer into the message's capability table)
  rights @2 :UInt32 = 0xffffffff;  # rights mask; the child gets cap's rights AND this
}

interface ProcessSpawner {
  # Creates processes from boot modules. Held by init and by servers init
  # trusts to start others; quotas of a child come out of the caller's.

  spawn @0 (name :Text, module :Text, args :List(Text), caps :List(CapGrant),
            quotas :Quotas, placementWeight :UInt32) -> (handle :ProcessHandle, processId :UInt64);
  # Loads boot module `module` (an ELF image) into a new process called
  # `name`, passes `args`, installs `caps` in its first slots in order,
  # applies `quotas` (each at most what the caller has left) and gives its
  # threads `placementWeight` (0 = the default, 1024; at most 10000: the
  # run-queue weight of every thread it creates). Returns a handle to wait
  # for or kill it and its kernel id.

  modules @1 () -> (names :List(Text));
  # Names of the boot modules this spawner can start.

  freeFrames @2 () -> (frames :UInt64, heapBytesInUse :UInt64, heapBytesMapped :UInt64,
                       heapAllocations :UInt64, liveProcesses :UInt64, capSlotsUsed :UInt64,
                       liveChildren :UInt64);
  # Served by the kernel's ProcessSpawner (boot/init_process.cpp), for leak
  # checks: free physical frames, kernel heap bytes in use and mapped, heap
  # allocations, live processes, and the capability slots the caller's table
  # uses (`frames` is also the completion's inline value). Needs only the
  # Call right (spawn needs Write). The spawner server
  # (servers/spawner/) answers it as `stats`: the kernel's words with
  # `capSlotsUsed` = the server's own slots, plus `liveChildren` (its
  # children alive); the kernel leaves `liveChildren` 0.
}

enum SpawnQuota {
  # Which quota of a spawner server refused a spawn.
  none @0;
  children @1;   # children alive at once
  frames @2;     # frames summed over live children
  capSlots @3;   # capability slots summed over live children
}

struct SpawnRefusal {
  # The results message of a spawn the spawner server refused with
  # quota_exceeded (the status says refused; this says which quota).
  # The kernel's own quota refusals name theirs in Cqe::detail (QuotaKind).
  quota @0 :SpawnQuota;
  used @1 :UInt64;    # what live children hold now
  limit @2 :UInt64;   # the spawner's limit
  asked @3 :UInt64;   # what this spawn asked for (1 for children)
}
