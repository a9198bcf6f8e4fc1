// spawn.h - the ProcessSpawner and ProcessHandle client: spawn, modules, stats, wait, kill, dropCaps.
//
// One client for both spawners (the kernel's boot-module spawner and the
// spawner server: same interface, schema/spawner.capnp). Messages are built
// and read with the generated bindings (capos/schema/spawner.capnp.h,
// process.capnp.h). The encoders/decoders (spawn_codec.cpp)
// are portable and host-tested against the official Cap'n Proto library;
// the calls (spawn.cpp) run on this_ring().
#pragma once

#include <stdint.h>

#include "capos/abi/cap.h"
#include "libcap/result.h"

namespace cap {

// SpawnQuotas (schema/spawner.capnp): 0 means "the spawner's default".
struct SpawnQuotas {
    uint64_t frames = 0;
    uint32_t cap_slots = 0, threads = 0, outstanding_calls = 0, children = 0;
};

// One capability passed to spawn: the child finds it under `name`.
struct SpawnGrant {
    const char* name;
    capos::abi::CapHandle cap;
    uint32_t rights = 0xffffffffu;
};
inline constexpr uint32_t kMaxSpawnGrants = 16;

struct Spawned {
    capos::abi::CapHandle handle = 0;  // ProcessHandle
    uint64_t pid = 0;
};

// Why a spawner server refused a spawn with quota_exceeded: the results of
// the refused call (schema/spawner.capnp SpawnRefusal, data words: quota
// u16 #0, used w1, limit w2, asked w3).
enum class SpawnQuota : uint16_t { none = 0, children = 1, frames = 2, cap_slots = 3 };
struct SpawnRefusal {
    SpawnQuota quota = SpawnQuota::none;
    uint64_t used = 0, limit = 0, asked = 0;
};
const char* spawn_quota_name(SpawnQuota q);
uint32_t encode_spawn_refusal(void* buf, uint32_t cap, const SpawnRefusal& r);
// Decodes a SpawnRefusal message; false if it does not parse.
bool decode_spawn_refusal(const void* buf, uint32_t len, SpawnRefusal& out);

// Encodes ProcessSpawner.spawn params into buf (grant i is cap index i);
// `args` may be null or empty (no argument list), `q` null (no quotas
// struct, which reads as all zero). Returns bytes, 0 if buf is too small.
uint32_t encode_spawn(void* buf, uint32_t cap, const char* name, uint32_t name_len, const char* module,
                      uint32_t module_len, const char* args, const SpawnGrant* grants, uint32_t ngrants,
                      const SpawnQuotas* q, uint32_t placement_weight);

// ProcessSpawner.spawn on `spawner`. Errors: the completion status; with
// `refusal`, a spawner server's quota_exceeded also fills it (which quota);
// it stays `none` for the kernel's refusals (those name a QuotaKind in
// Cqe::detail). The pid is the result message's, or Cqe::value if none.
Result<Spawned> spawn(capos::abi::CapHandle spawner, const char* name, const char* module, const char* args,
                      const SpawnGrant* grants, uint32_t ngrants, const SpawnQuotas* q, uint32_t placement_weight = 0,
                      SpawnRefusal* refusal = nullptr);

// ProcessSpawner.modules: names joined by '\n' into out (NUL-terminated).
// Returns the count.
Result<uint32_t> spawner_modules(capos::abi::CapHandle spawner, char* out, uint32_t cap);
// True if `name` (len bytes, not NUL-terminated) is one whole line of such
// a list. Inline: init's manifest checks use it on the host too, without
// libcap's sources.
inline bool module_listed(const char* list, const char* name, uint32_t len) {
    const char* p = list;
    while (*p != '\0') {
        const char* e = p;
        while (*e != '\0' && *e != '\n') ++e;
        if (static_cast<uint32_t>(e - p) == len && __builtin_memcmp(p, name, len) == 0) return true;
        p = *e == '\n' ? e + 1 : e;
    }
    return false;
}

// ProcessSpawner.freeFrames @2 (the spawner server forwards the kernel's).
struct SpawnerStats {
    uint64_t free_frames = 0, heap_in_use = 0, heap_mapped = 0, heap_allocations = 0, processes = 0;
    uint64_t slots_used = 0;  // kernel: the caller's capability slots in use; server: the server's own
    uint64_t children = 0;    // spawner server only: its children alive
};
Result<SpawnerStats> spawner_stats(capos::abi::CapHandle spawner);
// Decodes the freeFrames results; false if the message does not parse.
bool decode_spawner_stats(const void* buf, uint32_t len, SpawnerStats& out);

// ProcessHandle.wait results.
struct ProcessExit {
    int64_t code = 0;
    uint16_t reason = 0;  // ExitReason: 0 exited, 1 killed, 2 faulted, 3 quota
};
const char* exit_reason_name(uint16_t r);
// Decodes a ProcessHandle.wait result message (all zero if it does not parse).
ProcessExit decode_exit(const void* res, uint32_t len);
// ProcessHandle.wait: blocks until the process has ended. A result message
// that does not parse is malformed_message.
Result<ProcessExit> wait_process(capos::abi::CapHandle handle);
// ProcessHandle.wait without blocking: submits it on this thread's ring and
// returns the tag to wait for; the completion's result (in res[0..res_max))
// decodes with decode_exit. For a supervisor that watches many processes.
Result<uint64_t> start_wait_process(capos::abi::CapHandle handle, void* res, uint32_t res_max);
Result<void> kill_process(capos::abi::CapHandle handle);

// Process.dropCaps (KERNEL method @8) on this process: empties the given slots.
Result<void> drop_caps(capos::abi::CapHandle* caps, uint16_t n);

}  // namespace cap
