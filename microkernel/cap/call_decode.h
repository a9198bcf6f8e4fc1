// call_decode.h: the decode steps of the kernel objects' methods, and the
// result encoders their invoke steps use, on the generated Cap'n Proto
// bindings (capnpc-capos output for schema/*.capnp).
//
// A kernel object handles a call in two steps (seL4's decode/invoke split):
//
//   decode  checks the interface id and method ordinal, the rights the
//           method needs, the submission's result room (caps_out_max) and
//           the parameter message (framing, validate(), every field the
//           method reads, argument ranges), and produces a typed decoded
//           call or a refusal (Status + detail). It changes nothing.
//   invoke  applies the decoded call to the object (object/<object>.cpp).
//
// The functions here are plain C++ over the submission and the message
// alone: they take no lock and read no kernel object, so the same source
// builds on the host, where the unit tests (test/unit/cap) and the fuzz
// target (test/fuzz/kernel_decode_fuzz.cpp) drive them. The few checks that
// need live kernel state (free capability slots, a process's thread quota,
// whether a boot module exists, whether a peer is alive) are made by the
// object right after decode and before invoke; they change nothing either.
//
// Decoded views (Text, Data) point into the caller's parameter message,
// which lives in the thread's kernel params buffer for the whole call.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/status.h"
#include "sched/sched_events.h"

namespace kern::decode {

using capos::abi::Status;

// Parameter messages may use up to this many segments (far pointers
// included); more is malformed_message. The nesting limit bounds the
// validator's recursion on the kernel stack: the deepest kernel parameter
// (spawn: root -> caps list -> CapGrant -> name) is 3 levels down.
inline constexpr uint32_t kMaxSegments = 4;
inline constexpr int32_t kMaxNesting = 8;
// Words validate() may read: several times an 8 KiB message, so a message
// whose pointers share targets is still read once or twice, not without end.
inline constexpr uint64_t kTraversalWords = 8192;

// The submission as decode sees it (copied fields of the SQE plus the
// kernel copy of the parameter message).
struct CallIn {
    uint64_t interface_id = 0;
    uint16_t method = 0;
    uint32_t rights = 0;
    const uint8_t* params = nullptr;  // 8-byte aligned
    uint32_t params_len = 0;
    uint16_t caps_in_count = 0;
    uint16_t caps_out_max = 0;
};

// A refusal: the status (and quota kind in detail) the call completes with.
struct Verdict {
    Status status = Status::ok;
    uint32_t detail = 0;
    [[nodiscard]] bool ok() const { return status == Status::ok; }
};

struct Bytes {
    const uint8_t* data = nullptr;
    uint32_t size = 0;
};

// --- Console -----------------------------------------------------------------------------

inline constexpr uint32_t kConsoleMaxWrite = 4096;
struct ConsoleCall {
    Bytes bytes;  // write: the text without its NUL; writeBytes: the data
};
[[nodiscard]] Verdict console(const CallIn& in, ConsoleCall* out);

// --- Timer -------------------------------------------------------------------------------

struct TimerCall {
    enum class Op : uint8_t { now, resolution, sleep, sleep_until } op = Op::now;
    uint64_t ns = 0;  // sleep: duration; sleepUntil: deadline
};
[[nodiscard]] Verdict timer(const CallIn& in, TimerCall* out);

// --- Park --------------------------------------------------------------------------------

struct ParkCall {
    bool wait = false;        // wait, else wake
    uint64_t address = 0;     // checked: 4-aligned, user range
    uint32_t expected = 0;    // wait
    uint64_t timeout_ns = 0;  // wait (0 = forever)
    uint32_t count = 0;       // wake
};
[[nodiscard]] Verdict park(const CallIn& in, ParkCall* out);

// --- MemoryObject --------------------------------------------------------------------------

inline constexpr uint32_t kMemoryMaxCopy = 4096;
struct MemoryCall {
    enum class Op : uint8_t { size, read, write } op = Op::size;
    uint64_t offset = 0;
    uint32_t length = 0;  // read: bytes to copy out; write: bytes.size
    Bytes bytes;          // write
};
// object_size: the object's size in bytes (fixed at creation).
[[nodiscard]] Verdict memory_object(const CallIn& in, uint64_t object_size, MemoryCall* out);

// --- Endpoint (the server's capability; a client's calls are not decoded) -------------------

struct EndpointCall {
    enum class Op : uint8_t { receive, reply, mint } op = Op::receive;
    uint64_t timeout_ns = 0;  // receive
    uint64_t call_id = 0;     // reply
    int32_t status = 0;       // reply: a Status the ABI defines
    Bytes results;            // reply
    uint64_t badge = 0;       // mint
};
[[nodiscard]] Verdict endpoint(const CallIn& in, EndpointCall* out);
// A server's reply status must be one the ABI defines: ok or an error.
[[nodiscard]] bool status_defined(int32_t s);

// --- Process / ProcessHandle / Thread -----------------------------------------------------

struct ProcessCall {
    enum class Op : uint8_t {
        create_thread,
        map,
        unmap,
        allocate,
        exit,
        id,
        exit_thread,
        create_endpoint,
        drop_caps,
        handle_wait,
        handle_kill,
        handle_id,
    } op = Op::id;
    int64_t code = 0;                              // exit, exitThread
    uint64_t entry = 0, stack_top = 0, arg = 0;    // createThread
    uint64_t bytes = 0;                            // allocate
    uint32_t memory_cap = 0;                       // map: index into the call's in-caps (checked)
    uint64_t address = 0, offset = 0, length = 0;  // map (address/offset/length), unmap (address/length)
    bool writable = false, executable = false;     // map
};
// Process or ProcessHandle, by in.interface_id. target_is_caller: the
// target is the calling thread's own process (exitThread and dropCaps need
// it, ProcessHandle.wait refuses it).
[[nodiscard]] Verdict process(const CallIn& in, bool target_is_caller, ProcessCall* out);

struct ThreadCall {
    enum class Op : uint8_t { join, id, set_weight, set_cpu_hint, cpu_time } op = Op::id;
    uint32_t cpu = 0;  // setCpuHint (checked < cpu_count)
};
// setWeight is decoded by SchedulerControl::thread_set_weight (out->op
// only). target_is_caller: the target is the calling thread (join refuses).
[[nodiscard]] Verdict thread(const CallIn& in, bool target_is_caller, uint32_t cpu_count, ThreadCall* out);

// --- ProcessSpawner (the kernel's) --------------------------------------------------------

inline constexpr uint32_t kSpawnMaxGrants = 16;
inline constexpr uint32_t kSpawnArgBytes = 512;
struct SpawnGrant {
    const char* name = nullptr;  // in the message, NUL-terminated
    uint32_t name_len = 0;
    uint32_t cap = 0;  // index into the call's in-caps (checked)
    uint32_t rights = 0;
};
struct SpawnerCall {
    enum class Op : uint8_t { spawn, modules, free_frames } op = Op::spawn;
    // spawn
    const char* name = nullptr;  // NUL-terminated views into the message
    uint32_t name_len = 0;
    const char* module = nullptr;
    uint32_t module_len = 0;
    char args[kSpawnArgBytes] = {};  // arguments joined by single spaces, NUL-terminated
    uint32_t args_len = 0;
    SpawnGrant grants[kSpawnMaxGrants];
    uint32_t grant_count = 0;
    // Quotas as asked (0 = not asked: the spawner's own limit applies).
    uint64_t frames = 0;
    uint32_t cap_slots = 0, threads = 0, outstanding_calls = 0;
    uint32_t weight = 0;  // checked <= max_weight; 0 = the default
};
[[nodiscard]] Verdict spawner(const CallIn& in, uint32_t max_weight, SpawnerCall* out);

// --- SchedulerControl (the placement methods; KernelStats is decoded by kernel_stats) -------
//
// place's message is framed, validated and its decisions read by the
// object (cap/sched_decision_decode.h: a place that does not parse
// demotes the server, which is live state). setDefaultSlice's range is
// checked by the object after its is_server check, as before.

inline constexpr uint32_t kSchedMaxEventsPerCall = 64;  // nextEvents' max: 0 or more asks for this many
inline constexpr uint64_t kSchedMinDeadlineNs = 1000, kSchedMaxDeadlineNs = 1'000'000'000ull;
struct SchedControlCall {
    enum class Op : uint8_t {
        attach,
        next_events,
        place,
        set_default_slice,
        snapshot,
        detach,
        status,
        trace_dump,
        stats,
    } op = Op::status;
    uint64_t deadline_ns = 0;       // attach: checked in range; 0 asks for default_deadline_ns
    uint64_t resume_after_seq = 0;  // attach
    bool has_rings = false;         // attach
    uint32_t rings_cap = 0;         // attach: index into the call's in-caps (checked)
    uint32_t max = 0;               // nextEvents: 1..kSchedMaxEventsPerCall
    uint64_t timeout_ns = 0;        // nextEvents
    uint64_t slice_ns = 0;          // setDefaultSlice
    bool trace_enable = false;      // traceDump
};
// out->op is set before any refusal of the message (the object demotes a
// server whose place does not parse).
[[nodiscard]] Verdict scheduler_control(const CallIn& in, uint64_t default_deadline_ns, SchedControlCall* out);
// Thread.setWeight: the weight, checked kMinWeight..kMaxWeight (sched/sched_events.h).
[[nodiscard]] Verdict thread_set_weight(const CallIn& in, uint32_t* weight);

// --- Result encoders (used by the invoke steps) -------------------------------------------
//
// Each writes one result message in stream framing into out[0..cap) (8-byte
// aligned) and returns its size in bytes, or 0 when it does not fit.

uint32_t timer_ns_result(void* out, size_t cap, uint64_t ns);  // Timer.now / resolution
uint32_t park_wait_result(void* out, size_t cap, bool woken);
uint32_t park_wake_result(void* out, size_t cap, uint32_t woken);
uint32_t memory_size_result(void* out, size_t cap, uint64_t bytes);
// MemoryObject.read: the message with a zeroed Data of len bytes; *bytes
// receives where to copy them (null when it returned 0).
uint32_t memory_read_result(void* out, size_t cap, uint32_t len, uint8_t** bytes);
// ProcessHandle.wait and Thread.join: (exitCode, reason).
uint32_t exit_result(void* out, size_t cap, int64_t code, uint16_t reason);
uint32_t process_id_result(void* out, size_t cap, uint64_t id);  // Process.id, ProcessHandle.id
uint32_t thread_id_result(void* out, size_t cap, uint64_t id);
// Endpoint.receive: timedOut, and the call when there is one (params
// bytes copied in). first_cap_slot is the receiver's slot of the first
// carried capability (0 when none).
struct Incoming {
    uint64_t call_id = 0, badge = 0, interface_id = 0;
    uint16_t method = 0;
    const uint8_t* params = nullptr;
    uint32_t params_len = 0;
    uint32_t cap_count = 0, first_cap_slot = 0;
};
uint32_t receive_result(void* out, size_t cap, const Incoming* call, bool timed_out);
// The size receive_result needs for a call carrying params_len bytes.
uint32_t receive_result_size(uint32_t params_len);
// ProcessSpawner.spawn: processId, and the handle as capability 0 of the
// completion's capabilities.
uint32_t spawn_result(void* out, size_t cap, uint64_t process_id);
struct FreeFrames {
    uint64_t frames = 0, heap_bytes_in_use = 0, heap_bytes_mapped = 0, heap_allocations = 0, live_processes = 0,
             cap_slots_used = 0;
};
uint32_t free_frames_result(void* out, size_t cap, const FreeFrames& f);
// ProcessSpawner.modules: name(i) gives module i's name and length.
uint32_t modules_result(void* out, size_t cap, uint32_t count, const char* (*name)(uint32_t i, uint32_t* len));
// FaultInjection.disarm and counts.
uint32_t fault_disarm_result(void* out, size_t cap, uint64_t injected, uint64_t frames, uint64_t heap_blocks);
uint32_t fault_counts_result(void* out, size_t cap, uint32_t process_threads, uint64_t kernel_threads,
                             uint64_t page_tables);
// SchedulerControl.attach and status.
uint32_t attach_result(void* out, size_t cap, uint64_t epoch, uint32_t cpu_count, uint64_t next_seq);
uint32_t sched_status_result(void* out, size_t cap, uint16_t mode, uint64_t epoch, uint64_t fallbacks);
// SchedulerControl.stats: the fields of StatsResults, in schema order.
struct SchedStats {
    uint64_t applied = 0, misses = 0, stale = 0, invalid = 0, latency_median_ns = 0, latency_p99_ns = 0,
             fallback_latency_ns = 0, swap_gap_ns = 0, swap_default_placements = 0, samples = 0;
};
uint32_t sched_stats_result(void* out, size_t cap, const SchedStats& s);
// SchedulerControl.nextEvents: dropped and the n events (a demoted event's
// reason as its name, sched_reason_name).
uint32_t next_events_result(void* out, size_t cap, uint64_t dropped, const SchedEvent* evs, uint32_t n);
// SchedulerControl.place: applied, and the rejections.
struct Rejection {
    uint32_t index = 0;
    uint64_t seq = 0;
    const char* why = "";
};
uint32_t place_result(void* out, size_t cap, uint32_t applied, const Rejection* rej, uint32_t n);
// SchedulerControl.snapshot: the kernel's own placement state (policy "kernel", version 1).
struct SnapshotCpu {
    uint32_t runnable = 0;
};
struct SnapshotThread {
    uint64_t thread_id = 0, process_id = 0, slice_ns = 0;
    uint32_t cpu = 0, weight = 0;
};
uint32_t snapshot_result(void* out, size_t cap, uint64_t epoch, uint64_t last_seq, uint64_t default_slice_ns,
                         const SnapshotCpu* cpus, uint32_t ncpus, const SnapshotThread* threads, uint32_t nthreads);

}  // namespace kern::decode
