// kernel_object.h: what every capability-invocable kernel object shares:
// the Cap'n Proto interface ids they speak and the rights each method needs.
//
// The ids are those `capnp compile -ocapnp schema/<file>.capnp` prints;
// method numbers are the schema ordinals. Methods marked KERNEL are
// kernel-specific additions documented in docs/userspace.md.
#pragma once

#include <stdint.h>

#include "object/cap_table.h"

namespace kern::iface {

inline constexpr uint64_t kConsole = 0xa6f94af60bef3cfeull;
inline constexpr uint64_t kTimer = 0x8a081c4faa03d410ull;
inline constexpr uint64_t kPark = 0xbd8700fc8d3d4bd1ull;
inline constexpr uint64_t kThread = 0x863074bdb22f9f23ull;
inline constexpr uint64_t kMemoryObject = 0xd3785753893e81b1ull;
inline constexpr uint64_t kProcess = 0x865f3159b338314aull;
inline constexpr uint64_t kProcessHandle = 0x88c92d58600d47feull;
inline constexpr uint64_t kEndpoint = 0xfa0e1cf897a76e62ull;
inline constexpr uint64_t kProcessSpawner = 0x8fc82b59a1f6aa21ull;

// Console
inline constexpr uint16_t kConsoleWrite = 0, kConsoleWriteBytes = 1;
inline constexpr uint32_t kConsoleMaxWrite = 4096;
// Timer
inline constexpr uint16_t kTimerNow = 0, kTimerSleep = 1, kTimerSleepUntil = 2, kTimerResolution = 3;
// Park
inline constexpr uint16_t kParkWait = 0, kParkWake = 1;
// Thread
inline constexpr uint16_t kThreadJoin = 0, kThreadId = 1, kThreadSetWeight = 2, kThreadSetCpuHint = 3,
                          kThreadCpuTime = 4;
// MemoryObject
inline constexpr uint16_t kMemorySize = 0, kMemorySlice = 1, kMemoryRead = 2, kMemoryWrite = 3;
// Process
inline constexpr uint16_t kProcessCreateThread = 0, kProcessMap = 1, kProcessUnmap = 2, kProcessAllocate = 3,
                          kProcessExit = 4, kProcessId = 5,
                          kProcessExitThread = 6,      // KERNEL: (code :Int64) ends the calling thread
                          kProcessCreateEndpoint = 7,  // KERNEL: () -> (endpoint :Endpoint)
                          kProcessDropCaps = 8;        // KERNEL: () -> (); drops the call's in-caps
// ProcessHandle
inline constexpr uint16_t kHandleWait = 0, kHandleKill = 1, kHandleId = 2;
// Endpoint
inline constexpr uint16_t kEndpointReceive = 0, kEndpointReply = 1, kEndpointMint = 2;
// ProcessSpawner
inline constexpr uint16_t kSpawnerSpawn = 0, kSpawnerModules = 1,
                          kSpawnerFreeFrames = 2;  // KERNEL: () -> (frames :UInt64)

}  // namespace kern::iface

namespace kern {

// Rights of the capabilities the kernel mints (the holder may derive fewer).
inline constexpr Rights kRightsObject = capos::abi::kRightCall | capos::abi::kRightCopy |
                                        capos::abi::kRightTransfer | capos::abi::kRightRead |
                                        capos::abi::kRightWrite;
// A process's own Process capability: also Map and Control (exit).
inline constexpr Rights kRightsSelf = kRightsObject | capos::abi::kRightMap | capos::abi::kRightControl;
// A ProcessHandle (parent's view): wait/id with Read, kill with Control.
inline constexpr Rights kRightsHandle = capos::abi::kRightCall | capos::abi::kRightCopy |
                                        capos::abi::kRightTransfer | capos::abi::kRightRead |
                                        capos::abi::kRightControl;
inline constexpr Rights kRightsMemory = kRightsObject | capos::abi::kRightMap | capos::abi::kRightExecute;

}  // namespace kern
