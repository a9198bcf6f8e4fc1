// calls.h - typed calls on the kernel objects libcap itself needs (Console, Process, Thread, Park, Timer).
//
// Each call encodes its parameters as a standard Cap'n Proto message with
// the schema runtime's raw builders (field positions as the schema compiler
// lays them out; see interfaces.h for why not the generated stubs), submits
// it on a ring and decodes the result. The encode_* functions are pure and
// host-tested against the official Cap'n Proto library.
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

// Encoders (pure). Each returns false if the message does not fit.
bool encode_u64s(ParamMsg& m, const uint64_t* words, uint16_t count);        // struct of `count` UInt64 fields
bool encode_park_wait(ParamMsg& m, uint64_t address, uint32_t expected, uint64_t timeout_ns);
bool encode_park_wake(ParamMsg& m, uint64_t address, uint32_t count);
bool encode_process_map(ParamMsg& m, uint64_t address, uint64_t offset, uint64_t length,
                        bool writable, bool executable);  // memory cap = message cap index 0
// Console.write(text): `text` of `len` bytes into `buf` (cap bytes). Returns
// the framed length, or 0 if it does not fit.
uint32_t encode_console_write(void* buf, size_t cap, const char* text, uint32_t len);

// Decoders of results (pure): read field `index` (in units of the type) of
// the root struct of a framed message; false if the message is malformed.
bool decode_result_u64(const void* msg, uint32_t len, uint32_t index, uint64_t& out);
bool decode_result_u32(const void* msg, uint32_t len, uint32_t index, uint32_t& out);
bool decode_result_u16(const void* msg, uint32_t len, uint32_t index, uint16_t& out);
bool decode_result_bool(const void* msg, uint32_t len, uint32_t bit, bool& out);

// ---- Calls -----------------------------------------------------------------
// All take the ring to submit on (normally this_ring()) and return the
// completion's Status on failure.

[[nodiscard]] Result<void> console_write(Ring& r, CapHandle console, const char* text, uint32_t len);

// Never returns on success; returns the error if the kernel refused.
[[nodiscard]] Result<void> process_exit(Ring& r, CapHandle process, int64_t code);
// Process.exitThread @6 (KERNEL method): ends the calling thread only.
[[nodiscard]] Result<void> process_exit_thread(Ring& r, CapHandle process, int64_t code);
[[nodiscard]] Result<CapHandle> process_create_thread(Ring& r, CapHandle process, uint64_t entry,
                                                      uint64_t stack_top, uint64_t arg);
[[nodiscard]] Result<CapHandle> process_allocate(Ring& r, CapHandle process, uint64_t bytes);
[[nodiscard]] Result<void> process_map(Ring& r, CapHandle process, CapHandle memory, uint64_t address,
                                       uint64_t offset, uint64_t length, bool writable, bool executable);
[[nodiscard]] Result<void> process_unmap(Ring& r, CapHandle process, uint64_t address, uint64_t length);

struct JoinResult {
  int64_t exit_code = 0;
  uint16_t reason = 0;  // ExitReason: 0 exited, 1 killed, 2 faulted, 3 quota
};
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
