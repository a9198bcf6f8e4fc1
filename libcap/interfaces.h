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
// Process.exitThread @6 is a KERNEL method (served by the kernel's Process
// object, declared in schema/process.capnp with @7 createEndpoint and
// @8 dropCaps).
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
inline constexpr Method kProcessExitThread{kProcess, 6};   // (code :Int64) -> (): ends the calling thread only

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

// schema/process.capnp: KERNEL methods of Process, and ProcessHandle
inline constexpr Method kProcessCreateEndpoint{kProcess, 7};  // () -> (endpoint :Endpoint)
inline constexpr Method kProcessDropCaps{kProcess, 8};        // () -> (): empties the slots in caps
inline constexpr uint64_t kProcessHandle = 0x88c92d58600d47feull;
inline constexpr Method kProcessHandleWait{kProcessHandle, 0};  // () -> (exitCode :Int64, reason :ExitReason)
inline constexpr Method kProcessHandleKill{kProcessHandle, 1};  // () -> ()

// schema/endpoint.capnp
inline constexpr uint64_t kEndpoint = 0xfa0e1cf897a76e62ull;
inline constexpr Method kEndpointReceive{kEndpoint, 0};  // (timeoutNs) -> (call :IncomingCall, timedOut)
inline constexpr Method kEndpointReply{kEndpoint, 1};    // (callId, status, results :Data, caps) -> ()
inline constexpr Method kEndpointMint{kEndpoint, 2};     // (badge) -> (client :Endpoint)

// schema/spawner.capnp
inline constexpr uint64_t kSpawner = 0x8fc82b59a1f6aa21ull;
inline constexpr Method kSpawnerSpawn{kSpawner, 0};    // (name, module, args, caps, quotas, placementWeight)
inline constexpr Method kSpawnerModules{kSpawner, 1};  // () -> (names :List(Text))
inline constexpr Method kSpawnerStats{kSpawner, 2};    // freeFrames () -> (frames, heap..., processes, ...)

}  // namespace cap::iface
