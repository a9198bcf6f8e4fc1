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
  }
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
}

struct BootManifest {
  # The whole boot plan. Modules start in list order; a module whose
  # dependencies are not yet running is an error in the manifest.
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
