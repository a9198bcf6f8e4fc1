// interfaces.h - interface ids and method ordinals libcap calls, in one place.
//
// The ids are the Cap'n Proto type ids of the interfaces in schema/*.capnp
// (as `capnp compile -ocapnp` prints them); ordinals are the @n of each
// method. libcap encodes the few kernel-object calls it needs by hand with
// the schema runtime's raw builders so it does not depend on when the
// generated headers appear. The host test test/unit/libcap checks every id
// and every hand-encoded message against the official Cap'n Proto library
// parsing schema/*.capnp, so a schema edit that moves a field fails there.
//
// Methods marked PROPOSED are not in schema/ yet; they are what libcap needs
// from the kernel and are listed as gaps in docs/libcap.md.
#pragma once

#include <stdint.h>

namespace cap::iface {

struct Method {
  uint64_t interface_id;
  uint16_t ordinal;
};

// schema/console.capnp
inline constexpr uint64_t kConsole = 0xa6f94af60bef3cfeull;
inline constexpr Method kConsoleWrite{kConsole, 0};       // write(text :Text) -> ()
inline constexpr Method kConsoleWriteBytes{kConsole, 1};  // writeBytes(bytes :Data) -> ()
inline constexpr uint32_t kConsoleMaxWrite = 4096;         // per-call limit (schema comment)

// schema/process.capnp
inline constexpr uint64_t kProcess = 0x865f3159b338314aull;
inline constexpr Method kProcessCreateThread{kProcess, 0};  // (entry, stackTop, arg :UInt64) -> (thread)
inline constexpr Method kProcessMap{kProcess, 1};           // (memory, address, offset, length, writable, executable)
inline constexpr Method kProcessUnmap{kProcess, 2};         // (address, length) -> ()
inline constexpr Method kProcessAllocate{kProcess, 3};      // (bytes) -> (memory)
inline constexpr Method kProcessExit{kProcess, 4};          // (code :Int64) -> ()
inline constexpr Method kProcessId{kProcess, 5};            // () -> (processId)
// PROPOSED: Process.exitThread @6 (code :Int64) -> (): ends the calling
// thread only. The schema has no way for one thread to end itself.
inline constexpr Method kProcessExitThread{kProcess, 6};

// schema/thread.capnp
inline constexpr uint64_t kThread = 0x863074bdb22f9f23ull;
inline constexpr Method kThreadJoin{kThread, 0};  // () -> (exitCode :Int64, reason :ExitReason)
inline constexpr Method kThreadId{kThread, 1};    // () -> (threadId)

// schema/park.capnp
inline constexpr uint64_t kPark = 0xbd8700fc8d3d4bd1ull;
inline constexpr Method kParkWait{kPark, 0};  // (address, expected :UInt32, timeoutNs) -> (woken :Bool)
inline constexpr Method kParkWake{kPark, 1};  // (address, count :UInt32) -> (woken :UInt32)

// schema/timer.capnp
inline constexpr uint64_t kTimer = 0x8a081c4faa03d410ull;
inline constexpr Method kTimerNow{kTimer, 0};    // () -> (ns :UInt64)
inline constexpr Method kTimerSleep{kTimer, 1};  // (ns :UInt64) -> ()

// schema/memory.capnp
inline constexpr uint64_t kMemoryObject = 0xd3785753893e81b1ull;
inline constexpr Method kMemorySize{kMemoryObject, 0};  // () -> (bytes :UInt64)

}  // namespace cap::iface
