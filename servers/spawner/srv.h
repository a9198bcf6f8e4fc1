// srv.h - ring calls the servers share: endpoints, ProcessSpawner (kernel or
// server), ProcessHandle, MemoryObject reads, and the BootRegistry back to init.
//
// Messages are encoded with the kernel's one-segment wire builder
// (microkernel/lib/capnp_wire), the same layouts the kernel decodes; field
// offsets are those `capnp compile -ocapnp` prints for schema/*.capnp.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/ring.h"
#include "capos/abi/status.h"
#include "libcap/result.h"
#include "libcap/ring.h"

namespace srv {

using capos::abi::CapHandle;
using capos::abi::Cqe;
using capos::abi::Status;

inline constexpr uint64_t kTimer = 0x8a081c4faa03d410ull;
inline constexpr uint64_t kMemoryObject = 0xd3785753893e81b1ull;
inline constexpr uint64_t kProcess = 0x865f3159b338314aull;
inline constexpr uint64_t kProcessHandle = 0x88c92d58600d47feull;
inline constexpr uint64_t kEndpoint = 0xfa0e1cf897a76e62ull;
inline constexpr uint64_t kSpawner = 0x8fc82b59a1f6aa21ull;
inline constexpr uint64_t kBootRegistry = 0xb466419eed62d466ull;

// ProcessSpawner methods (spawn, modules; stats is the kernel's freeFrames @2).
inline constexpr uint16_t kSpawn = 0, kModules = 1, kStats = 2;
inline constexpr uint16_t kRegExport = 0, kRegReady = 1;

// Submits one call on this thread's ring and waits for its completion.
// The returned Cqe carries the status (not turned into an error).
Cqe call(CapHandle cap, uint64_t iface, uint16_t method, const void* params = nullptr, uint32_t plen = 0,
         void* result = nullptr, uint32_t rmax = 0, CapHandle* caps = nullptr, uint16_t caps_in = 0,
         uint16_t caps_out = 0, uint16_t flags = 0);
inline Status status_of(const Cqe& c) { return static_cast<Status>(c.status); }

uint32_t len_of(const char* s);
bool str_eq(const char* a, const char* b);
bool str_eq(const char* a, uint32_t alen, const char* b);
// Value of `key=` in a space-separated argument string, as a number; `def` if absent.
uint64_t arg_u64(const char* args, const char* key, uint64_t def);
// Copies the value of `key=` into out (NUL-terminated); false if absent.
bool arg_str(const char* args, const char* key, char* out, uint32_t cap);

struct Quotas {
  uint64_t frames = 0;
  uint32_t cap_slots = 0, threads = 0, outstanding_calls = 0, children = 0;
};

// One capability passed to spawn: the child finds it under `name`.
struct Grant {
  const char* name;
  CapHandle cap;
  uint32_t rights = 0xffffffffu;
};

struct Spawned {
  CapHandle handle = 0;  // ProcessHandle
  uint64_t pid = 0;
};

// ProcessSpawner.spawn on `spawner` (the kernel's or the spawner server's).
// `args` is one argument string (may be null). Errors: the completion status.
cap::Result<Spawned> spawn(CapHandle spawner, const char* name, const char* module, const char* args,
                           const Grant* grants, uint32_t ngrants, const Quotas& q, uint32_t placement_weight = 0);

// Encodes spawn params into buf (cap indices 0..ngrants-1); returns bytes (0: too small).
uint32_t encode_spawn(void* buf, uint32_t cap, const char* name, uint32_t name_len, const char* module,
                      uint32_t module_len, const char* args, const Grant* grants, uint32_t ngrants,
                      const Quotas& q, uint32_t placement_weight);

// ProcessSpawner.modules: names joined by '\n' into out (NUL-terminated).
// Returns the count.
cap::Result<uint32_t> modules(CapHandle spawner, char* out, uint32_t cap);

struct Exit {
  int64_t code = 0;
  uint16_t reason = 0;  // 0 exited, 1 killed, 2 faulted, 3 quota
};
const char* reason_name(uint16_t r);
cap::Result<Exit> wait_process(CapHandle handle);
cap::Result<void> kill_process(CapHandle handle);
// Decodes a ProcessHandle.wait completion's result message.
Exit decode_exit(const void* res, uint32_t len);

// ProcessSpawner.stats (the kernel's freeFrames @2, which the server forwards).
struct Stats {
  uint64_t free_frames = 0, heap_in_use = 0, heap_mapped = 0, heap_allocations = 0, processes = 0;
  uint64_t slots_used = 0;  // kernel: the caller's capability slots in use; server: the server's own
  uint64_t children = 0;    // spawner server only: its children alive
};
cap::Result<Stats> stats(CapHandle spawner);
uint32_t encode_words(void* buf, uint32_t cap, const uint64_t* w, uint16_t n);

cap::Result<void> drop_caps(CapHandle* caps, uint16_t n);

// Endpoints.
cap::Result<CapHandle> create_endpoint();
cap::Result<CapHandle> mint(CapHandle ep, uint64_t badge);
struct Incoming {
  uint64_t call_id = 0, badge = 0, iface = 0;
  uint16_t method = 0;
  const uint8_t* params = nullptr;  // into the caller's buffer, 8-byte aligned copy
  uint32_t params_len = 0;
  uint32_t cap_count = 0;
  bool timed_out = false;
  CapHandle caps[16] = {};
};
// Encodes Endpoint.receive params (timeout).
uint32_t encode_receive(void* buf, uint32_t cap, uint64_t timeout_ns);
// Decodes a receive completion (cqe + result buffer); caps already in in.caps.
cap::Result<void> decode_receive(const Cqe& c, const void* buf, Incoming& in);
cap::Result<Incoming> receive(CapHandle ep, uint64_t timeout_ns, void* buf, uint32_t buflen);
cap::Result<void> reply(CapHandle ep, uint64_t call_id, Status status, const void* results, uint32_t rlen,
                        CapHandle* caps, uint16_t ncaps);

// MemoryObject.read of [offset, offset+len) (len <= 4096) into out.
cap::Result<void> memory_read(CapHandle mo, uint64_t offset, uint32_t len, void* out);

// BootRegistry (the "init" named cap).
cap::Result<void> register_export(CapHandle init, const char* name, CapHandle cap);
cap::Result<void> register_ready(CapHandle init);

uint64_t rdtsc();
cap::Result<uint64_t> now_ns();

}  // namespace srv
