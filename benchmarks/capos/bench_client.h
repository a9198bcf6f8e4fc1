// bench_client.h - what the capOS benchmark coordinator and workers share: arguments, the shared gate page, spawner/process calls.
//
// The coordinator (coordinator.cpp) and the process-scale worker
// (worker.cpp) are ordinary libcap programs. Everything they need beyond
// libcap's typed calls lives here: `key=value` arguments (args.h), the one
// function that starts a worker process (`spawn_worker`, over the
// ProcessSpawner interface of schema/spawner.capnp, through whatever the
// "spawner" capability is: the spawner server in every shipped manifest, the
// kernel's boot-module spawner in the utest-smp-* boots, which have no init;
// same interface, same call), ProcessHandle.wait, dropping capabilities, and
// the layout of the MemoryObject page at whose gate process-scale workers
// meet (their assignments and reports are Coordinator calls).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "capos/abi/cap.h"
#include "libcap/result.h"
#include "libcap/runtime.h"
#include "libcap/spawn.h"

namespace benchcap {

using capos::abi::CapHandle;

// ---- the shared gate page (process scale) -----------------------------------

inline constexpr uint32_t kMaxWorkers = 32;
inline constexpr uint64_t kSharedBytes = 4096;

// What process-scale workers share besides their Coordinator calls: the
// rendezvous before the timed sections and the chunk counter inside them
// (a capability call there would put a system call in the timed section).
struct alignas(64) Gate {
    uint32_t arrived;     // workers that reached the gate (atomic)
    uint32_t abort;       // nonzero: a worker or the coordinator gave up; nobody computes
    uint32_t next_chunk;  // chunks.h: the next unclaimed piece of the range (atomic)
    uint32_t pad32_;
    uint64_t pad_[6];
};
static_assert(sizeof(Gate) == 64);

struct Shared {
    Gate gate;
};
static_assert(sizeof(Shared) <= kSharedBytes);

// ---- CPU helpers ------------------------------------------------------------

// The CPU the caller runs on (cap::current_cpu: RDTSCP where CPUID has it, else the APIC id).
uint32_t cpu_id();
// CPUs the processor reports (CPUID leaf 0xB, core level; QEMU's -smp N
// without an explicit topology is N cores of one socket; without leaf 0xB
// the per-package count of leaf 1). 0 if unknown.
uint32_t cpuid_cpu_count();
// Spins `cycles` TSC cycles with PAUSE (no system call).
void spin_cycles(uint64_t cycles);

// ---- process calls ----------------------------------------------------------

// libcap's ProcessSpawner / ProcessHandle client (libcap/spawn.h).
using Spawned = cap::Spawned;
using Grant = cap::SpawnGrant;  // {name, cap}: all rights

// ProcessSpawner.spawn(module, args, grants) through the named capability
// "spawner", no quotas (the spawner's defaults). The single place a
// benchmark process is created.
[[nodiscard]] cap::Result<Spawned> spawn_worker(const char* module, const char* args, const Grant* grants,
                                                uint32_t ngrants);

using ExitStatus = cap::ProcessExit;
// ProcessHandle.wait: blocks until the process has ended.
using cap::wait_process;
// Process.dropCaps (KERNEL method): empties slots of this process.
using cap::drop_caps;

// Maps `memory` (bytes long) read-write at a fresh address; 0 on failure.
uint64_t map_shared(CapHandle memory, uint64_t bytes);

// TSC rate from the kernel's Timer (nanoseconds) over a 50 ms sleep; 0 if
// the Timer is missing or fails. Each Timer.now is bracketed by two cycle
// reads and the midpoints are used, so a vCPU descheduled by the host
// during one of the calls costs accuracy only in proportion to the bracket.
uint64_t measure_tsc_hz(const cap::StartInfo& info);

// ---- placement trace ----------------------------------------------------------

// After the last timed window: when the manifest granted a client of the
// placement server's endpoint as "placement" (servers/placement/gen_manifest.py
// does for every <workload>-<policy> manifest), asks the server to print the
// kernel's placement trace of the run (Placement.traceDump; the server does
// only when started with trace=1, which the benchmark's --trace passes).
// Prints "[bench] placement trace: dumped" / "not recorded" / the failure;
// gives up after 20 s so a dead server cannot hang the benchmark. Nothing
// without the capability.
void finish_placement_trace(const cap::StartInfo& info);

}  // namespace benchcap
