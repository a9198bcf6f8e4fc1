// guest.h - helpers shared by the in-guest kernel tests: raw ring calls and the
// spawner/ProcessHandle/Endpoint clients of libcap (spawn.h, endpoint.h) under
// the names and argument shapes the tests use.
#pragma once

#include <stdint.h>

#include "libcap/endpoint.h"
#include "libcap/interfaces.h"
#include "libcap/raw_call.h"
#include "libcap/spawn.h"

namespace guest {

using capos::abi::CapHandle;
using capos::abi::Cqe;
using capos::abi::Status;

// Interface ids (kConsole, kTimer, kPark, kThread, kMemoryObject, kProcess,
// kProcessHandle, kEndpoint, kSpawner).
using namespace cap::iface;

// A call's raw completion (status not turned into an error).
struct Raw {
    Cqe cqe{};
};

// Submits one call on this thread's ring and waits for it (cap::raw_call).
Raw raw_call(CapHandle cap, uint64_t iface, uint16_t method, const void* params = nullptr, uint32_t plen = 0,
             void* result = nullptr, uint32_t rmax = 0, CapHandle* caps = nullptr, uint16_t caps_in = 0,
             uint16_t caps_out = 0, uint16_t flags = 0);

// A message whose root struct is n UInt64 data words (at most 16), for the
// tests that drive the raw ABI with hand-made params: a kernel method whose
// params are that many UInt64 fields in order reads it as its params, and
// the fuzzers mutate it. Production code encodes through the generated
// bindings instead; this is the one place outside schema/runtime that lays
// out a struct by position (check_codecs.py allows it here).
uint32_t words_msg(void* buf, uint32_t size, const uint64_t* w, uint16_t n);

using Quotas = cap::SpawnQuotas;
using cap::Spawned;

// ProcessSpawner.spawn of boot module `module` (also its name) through the
// named capability "spawner"; grants[i] named names[i]. The child gets
// nothing else: no Console, Park or Timer unless granted.
cap::Result<Spawned> spawn(const char* module, const char* args, const char* const* names, CapHandle* grants,
                           uint32_t ngrants, const Quotas* q = nullptr);
// spawn, passing on the caller's own Console, Park and Timer (named
// "console", "park", "timer", so they land in the child's well-known slots)
// ahead of `grants` (at most 5): the children of these tests print, park
// and read the time.
cap::Result<Spawned> spawn_std(const char* module, const char* args, const char* const* names, CapHandle* grants,
                               uint32_t ngrants, const Quotas* q = nullptr);
using Exit = cap::ProcessExit;
using cap::kill_process;
using cap::wait_process;
cap::Result<uint64_t> free_frames();
using KernelMemory = cap::SpawnerStats;
// ProcessSpawner.freeFrames on the "spawner" capability.
cap::Result<KernelMemory> kernel_memory();
// Process.dropCaps (KERNEL method 8): empties the given slots of this process.
using cap::drop_caps;

using cap::create_endpoint;
using cap::Incoming;
using cap::mint;
// buf keeps the received message (params point into it).
using cap::receive;
// Endpoint.reply with the status as a plain Int32.
inline cap::Result<void> reply(CapHandle ep, uint64_t call_id, int32_t status, const void* results, uint32_t rlen,
                               CapHandle* caps, uint16_t ncaps) {
    return cap::reply(ep, call_id, static_cast<Status>(status), results, rlen, caps, ncaps);
}

// Which CPU the caller runs on (RDTSCP's TSC_AUX, set by the kernel).
uint32_t cpu_now();

}  // namespace guest
