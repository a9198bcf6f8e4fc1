// calls.h - typed calls on the kernel objects libcap itself needs (Console, Process, Thread, Park, Timer).
//
// Each call encodes its parameters as a standard Cap'n Proto message with
// the bindings capnpc-capos generates from schema/ (no field position is
// written here), submits it on a ring and decodes the result the same way.
// The encode_*/decode_* functions are pure and host-tested against the
// official Cap'n Proto library.
//
// Results: a method's result message is read from the result buffer when
// the kernel wrote one (Cqe::result_len > 0); for a single scalar result the
// kernel may instead return it inline in Cqe::value, which is accepted too.
// Capabilities a method returns arrive in the call's caps array (Cqe::
// caps_out_count), as full CapHandles.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libcap/ring.h"

namespace cap {

// A small parameter message in stream framing, built in place.
struct ParamMsg {
    static constexpr size_t kMaxBytes = 64;
    alignas(8) unsigned char bytes[kMaxBytes];
    uint32_t len = 0;
};

struct JoinResult {
    int64_t exit_code = 0;
    uint16_t reason = 0;  // ExitReason: 0 exited, 1 killed, 2 faulted, 3 quota
};

// Encoders of params (pure), one per method. Each returns false if the
// message does not fit.
bool encode_exit(ParamMsg& m, int64_t code);         // Process.exit
bool encode_exit_thread(ParamMsg& m, int64_t code);  // Process.exitThread
bool encode_create_thread(ParamMsg& m, uint64_t entry, uint64_t stack_top, uint64_t arg);
bool encode_allocate(ParamMsg& m, uint64_t bytes);  // Process.allocate
bool encode_unmap(ParamMsg& m, uint64_t address, uint64_t length);
bool encode_timer_sleep(ParamMsg& m, uint64_t ns);  // Timer.sleep
bool encode_park_wait(ParamMsg& m, uint64_t address, uint32_t expected, uint64_t timeout_ns);
bool encode_park_wake(ParamMsg& m, uint64_t address, uint32_t count);
bool encode_process_map(ParamMsg& m, uint64_t address, uint64_t offset, uint64_t length, bool writable,
                        bool executable);  // memory cap = message cap index 0
// Console.write(text): `text` of `len` bytes into `buf` (cap bytes). Returns
// the framed length, or 0 if it does not fit.
uint32_t encode_console_write(void* buf, size_t cap, const char* text, uint32_t len);

// Decoders of result messages (pure); false if the message is malformed.
bool decode_join_results(const void* msg, uint32_t len, JoinResult& out);       // Thread.join
bool decode_park_wait_results(const void* msg, uint32_t len, bool& woken);      // Park.wait
bool decode_park_wake_results(const void* msg, uint32_t len, uint32_t& woken);  // Park.wake
bool decode_timer_now_results(const void* msg, uint32_t len, uint64_t& ns);     // Timer.now

// ---- Calls -----------------------------------------------------------------
// All take the ring to submit on (normally this_ring()) and return the
// completion's Status on failure.

[[nodiscard]] Result<void> console_write(Ring& r, CapHandle console, const char* text, uint32_t len);

// Never returns on success; returns the error if the kernel refused.
[[nodiscard]] Result<void> process_exit(Ring& r, CapHandle process, int64_t code);
// Process.exitThread @6 (KERNEL method): ends the calling thread only.
[[nodiscard]] Result<void> process_exit_thread(Ring& r, CapHandle process, int64_t code);
[[nodiscard]] Result<CapHandle> process_create_thread(Ring& r, CapHandle process, uint64_t entry, uint64_t stack_top,
                                                      uint64_t arg);
[[nodiscard]] Result<CapHandle> process_allocate(Ring& r, CapHandle process, uint64_t bytes);
[[nodiscard]] Result<void> process_map(Ring& r, CapHandle process, CapHandle memory, uint64_t address, uint64_t offset,
                                       uint64_t length, bool writable, bool executable);
[[nodiscard]] Result<void> process_unmap(Ring& r, CapHandle process, uint64_t address, uint64_t length);

[[nodiscard]] Result<JoinResult> thread_join(Ring& r, CapHandle thread);

// Park.wait: blocks while *address == expected. Returns woken (false on
// timeout or value mismatch). timeout_ns 0 = forever (schema contract).
[[nodiscard]] Result<bool> park_wait(Ring& r, CapHandle park, const uint32_t* address, uint32_t expected,
                                     uint64_t timeout_ns);
[[nodiscard]] Result<uint32_t> park_wake(Ring& r, CapHandle park, const uint32_t* address, uint32_t count);

[[nodiscard]] Result<uint64_t> timer_now(Ring& r, CapHandle timer);
[[nodiscard]] Result<void> timer_sleep(Ring& r, CapHandle timer, uint64_t ns);

// The NOP ring operation (kInterfaceKernelRing / kMethodNop).
[[nodiscard]] Result<void> ring_nop(Ring& r);

}  // namespace cap
