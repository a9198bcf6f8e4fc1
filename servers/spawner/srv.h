// srv.h - ring calls the servers share: the libcap clients (spawn.h, endpoint.h,
// raw_call.h, args.h) under the names the servers use, plus MemoryObject reads,
// the BootRegistry back to init, and the time.
//
// Messages are built and read with the generated bindings
// (capos/schema/*.capnp.h); interface ids and ordinals are the generated ones.
#pragma once

#include <stdint.h>

#include "capos/schema/manifest.capnp.h"
#include "libcap/args.h"
#include "libcap/endpoint.h"
#include "libcap/interfaces.h"
#include "libcap/raw_call.h"
#include "libcap/ring.h"  // servers that include srv.h drive this_ring() directly
#include "libcap/spawn.h"

namespace srv {

using capos::abi::CapHandle;
using capos::abi::Cqe;
using capos::abi::Status;

// Interface ids (kTimer, kMemoryObject, kProcess, kProcessHandle, kEndpoint, kSpawner, ...).
using namespace cap::iface;
inline constexpr uint64_t kBootRegistry = cap::schema::BootRegistry::kInterfaceId;

// ProcessSpawner methods (spawn, modules; stats is the kernel's freeFrames @2).
inline constexpr uint16_t kSpawn = kSpawnerSpawn.ordinal, kModules = kSpawnerModules.ordinal,
                          kStats = kSpawnerStats.ordinal;
inline constexpr uint16_t kRegExport = cap::schema::BootRegistry::Methods::export_,
                          kRegReady = cap::schema::BootRegistry::Methods::ready;

// One call on this thread's ring, its Cqe returned with the status as is.
using cap::raw_call;
using cap::status_of;

using cap::arg_str;
using cap::arg_u64;
using cap::len_of;
using cap::str_eq;

using Quotas = cap::SpawnQuotas;
using Grant = cap::SpawnGrant;
using cap::Spawned;
using cap::SpawnQuota;
using cap::SpawnRefusal;
using cap::encode_spawn_refusal;
using cap::spawn_quota_name;

// ProcessSpawner.spawn on `spawner` (the kernel's or the spawner server's),
// always with a quotas struct; see cap::spawn.
inline cap::Result<Spawned> spawn(CapHandle spawner, const char* name, const char* module, const char* args,
                                  const Grant* grants, uint32_t ngrants, const Quotas& q, uint32_t placement_weight = 0,
                                  SpawnRefusal* refusal = nullptr) {
    return cap::spawn(spawner, name, module, args, grants, ngrants, &q, placement_weight, refusal);
}
inline uint32_t encode_spawn(void* buf, uint32_t size, const char* name, uint32_t name_len, const char* module,
                             uint32_t module_len, const char* args, const Grant* grants, uint32_t ngrants,
                             const Quotas& q, uint32_t placement_weight) {
    return cap::encode_spawn(buf, size, name, name_len, module, module_len, args, grants, ngrants, &q,
                             placement_weight);
}
inline cap::Result<uint32_t> modules(CapHandle spawner, char* out, uint32_t size) {
    return cap::spawner_modules(spawner, out, size);
}

using Exit = cap::ProcessExit;
inline const char* reason_name(uint16_t r) { return cap::exit_reason_name(r); }
using cap::decode_exit;
using cap::kill_process;
using cap::module_listed;
using cap::start_wait_process;
using cap::wait_process;

using Stats = cap::SpawnerStats;
inline cap::Result<Stats> stats(CapHandle spawner) { return cap::spawner_stats(spawner); }

using cap::drop_caps;

// Endpoints.
using cap::create_endpoint;
using cap::decode_receive;
using cap::encode_receive;
using cap::Incoming;
using cap::mint;
using cap::receive;
using cap::reply;

// The capability table a server reads a received call's params with: message
// capability i is i itself, so a capability field yields the index of one of
// the call's own capabilities (Incoming.caps[0..cap_count)), and the server
// refuses an index past them with its own error (invalid_slot, or malformed
// for init) instead of the reader treating it as a broken message.
cap::capnp::CapTable identity_cap_table();

// MemoryObject.read of [offset, offset+len) (len <= 4096) into out.
cap::Result<void> memory_read(CapHandle mo, uint64_t offset, uint32_t len, void* out);

// BootRegistry (the "init" named cap).
cap::Result<void> register_export(CapHandle init, const char* name, CapHandle cap);
cap::Result<void> register_ready(CapHandle init);

uint64_t rdtsc();
cap::Result<uint64_t> now_ns();

}  // namespace srv
