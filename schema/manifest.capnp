# BootManifest: which boot modules init starts, in which order, with which capabilities and quotas.
@0xd3544918c68868f7;

using import "spawner.capnp".Quotas;

enum KernelCap {
  # Capabilities the kernel gives init, which init may pass on.
  console @0;            # Console
  timer @1;              # Timer
  park @2;               # Park
  schedulerControl @3;   # SchedulerControl (for the placement server only)
  processSpawner @4;     # ProcessSpawner over the boot modules
  bootInfo @5;           # MemoryObject with the boot information
  kernelStats @6;        # KernelStats: read-only attribution counters (a Read-only SchedulerControl)
}

struct CapSource {
  # One capability a module receives, and where init gets it.
  name @0 :Text;                   # name the module looks it up by
  rights @1 :UInt32 = 0xffffffff;  # rights mask applied when granting
  union {
    kernel @2 :KernelCap;          # one of init's kernel capabilities
    service :group {
      # A capability exported by a module started earlier.
      module @3 :Text;             # the exporting module's name
      export @4 :Text;             # the export's name in that module
    }
    channel @5 :Text;
    # An Endpoint init creates for the manifest, named here: every capability
    # naming the same channel, in any entry, is an end of that one Endpoint.
    # The entry with `serve` set gets the Endpoint itself (it receives the
    # calls); every other gets a client minted from it (it makes them). A
    # channel has exactly one serving end. Unlike a service, it needs no
    # export call, so it joins two servers that know nothing of init, e.g. a
    # placement server (`placement_ep`) and its hot-swap successor
    # (`predecessor`).
  }
  serve @6 :Bool;                  # channel only: this end receives the calls
}

struct BootModule {
  # One module to start.
  name @0 :Text;                   # unique name (logs, dependencies, service references)
  image @1 :Text;                  # boot module (GRUB module string) holding the ELF image
  args @2 :List(Text);             # arguments passed to it
  caps @3 :List(CapSource);        # capabilities it receives, in slot order
  exports @4 :List(Text);          # names of capabilities it serves to later modules
  quotas @5 :Quotas;               # its resource quotas (zero fields = defaultQuotas)
  placementWeight @6 :UInt32 = 1024;  # run-queue weight of its threads (1..10000; 1024 = the kernel default)
  restartable @7 :Bool;            # init restarts it if it exits or faults
  maxRestarts @8 :UInt32 = 3;      # restarts before init gives up on it
  dependsOn @9 :List(Text);        # modules that must be running before it starts
  startAfterMs @10 :UInt32;        # wait this long (0..600000 ms) before starting it; init goes on
                                   # serving its registry and restarting modules meanwhile, and the
                                   # modules after it in start order wait too (a timed trigger, e.g.
                                   # a placement server's hot-swap successor)
}

struct BootManifest {
  # The whole boot plan. Modules start in list order, except that a module
  # starts only after every module it depends on (its dependsOn and the
  # exporters of its service capabilities): init orders them topologically,
  # keeping list order among the modules that are ready to start. A
  # dependency cycle or an unknown dependency refuses the manifest.
  version @0 :UInt32 = 1;          # manifest format version
  modules @1 :List(BootModule);    # modules to start, in order
  defaultQuotas @2 :Quotas;        # quotas for fields a module leaves zero
}

interface BootRegistry @0xb466419eed62d466 {
  # The way back to init for a module whose manifest entry lists `exports`:
  # init grants it a BootRegistry capability named "init" (and grants it to
  # nothing else). The module hands over each export, then says it is ready;
  # init starts the modules that depend on it only after `ready`.

  export @0 (name :Text, cap :Capability) -> ();
  # Registers `cap` as the export `name` (one of the entry's `exports`).
  # init refuses names the entry does not list (invalid argument).

  ready @1 () -> ();
  # Every export is registered and the module serves requests.
}
