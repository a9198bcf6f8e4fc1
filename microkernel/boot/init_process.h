// init_process.h: starting user space: the first process from a boot module,
// the kernel's boot-module spawner capability, and the utest runner.
//
// The first process is the boot module named `init` (or, with the kernel
// option `utest=<name>`, the module `utest-<name>`). It receives:
//   wellknown: process (its own Process, all rights), thread (its main
//              thread), console, park, timer;
//   named "spawner": the BootSpawner (ProcessSpawner.spawn over the boot
//              modules, modules @1 (object/boot_modules), plus the KERNEL
//              method freeFrames @2 -> (free frames, kernel heap in use,
//              heap mapped, heap allocations, live processes, the caller's
//              used capability slots));
//   named "manifest" (init only, not in utest mode): a MemoryObject copy
//              of the boot module `manifest-<name>` (kernel option
//              manifest=<name>, default "default"); the arguments say
//              `manifest=<name> manifest_bytes=<n>` (servers/init, docs/boot.md).
// Every process the spawner starts gets exactly: its own Process and main
// Thread (intrinsic: they act on nothing but the process itself) and the
// CapGrants of the spawn call as named capabilities (copied from the
// caller, rights masked), with quotas no larger than its caller's. Nothing
// else: no Console, Park or Timer unless granted. A grant named exactly
// "console", "park" or "timer" whose object is of that kind also fills the
// matching well-known slot (same handle); ungranted slots are kNullCap.
//
// utest mode: the kernel watches the Console for the test framework's
// summary line `[utest] <suite> <N> passed, <M> failed` and, when the first
// process has exited, stops QEMU with pass (a summary was seen, M == 0,
// N > 0) or fail.
#pragma once

#include "cap/cap_table.h"

namespace kern {

struct Call;

// Boot CPU, after userspace_init. `utest` is the utest option's value ("" if
// none); `utest_args` (space-separated words, each starting with a space, or
// "") are appended to a utest program's arguments; `placement_args` (the
// placement= option's value, or "") go to init as `placement=<value>`.
// Prints the reason and returns false if nothing could be started.
bool start_first_process(const char* utest, const char* utest_args = "", const char* placement_args = "");

// ProcessSpawner (the boot-module spawner object).
void spawner_invoke(Call& call, KernelObject& o);

// Called by Process teardown for every process.
void init_process_exited(uint64_t process_id, int64_t code);

}  // namespace kern
