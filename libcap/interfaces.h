// interfaces.h - interface ids and method ordinals libcap calls, in one place, under libcap's names.
//
// Every value is the generated one (capos/schema/<file>.capnp.h, from
// schema/*.capnp): this header only names them for libcap's callers. The
// host test test/unit/libcap still checks every id and ordinal against the
// official Cap'n Proto library parsing schema/*.capnp.
//
// Process.exitThread @6, createEndpoint @7 and dropCaps @8 are KERNEL
// methods (served by the kernel's Process object, declared in
// schema/process.capnp).
#pragma once

#include <stdint.h>

#include "capos/schema/console.capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "capos/schema/memory.capnp.h"
#include "capos/schema/park.capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "capos/schema/thread.capnp.h"
#include "capos/schema/timer.capnp.h"

namespace cap::iface {

struct Method {
    uint64_t interface_id;
    uint16_t ordinal;
};

namespace gen = cap::schema;

// schema/console.capnp
inline constexpr uint64_t kConsole = gen::Console::kInterfaceId;
inline constexpr Method kConsoleWrite{kConsole, gen::Console::Methods::write};  // write(text :Text) -> ()
inline constexpr Method kConsoleWriteBytes{kConsole,
                                           gen::Console::Methods::write_bytes};  // writeBytes(bytes :Data) -> ()
inline constexpr uint32_t kConsoleMaxWrite = 4096;                               // per-call limit (schema comment)

// schema/process.capnp
inline constexpr uint64_t kProcess = gen::Process::kInterfaceId;
inline constexpr Method kProcessCreateThread{kProcess, gen::Process::Methods::create_thread};
inline constexpr Method kProcessMap{kProcess, gen::Process::Methods::map};
inline constexpr Method kProcessUnmap{kProcess, gen::Process::Methods::unmap};
inline constexpr Method kProcessAllocate{kProcess, gen::Process::Methods::allocate};
inline constexpr Method kProcessExit{kProcess, gen::Process::Methods::exit};
inline constexpr Method kProcessId{kProcess, gen::Process::Methods::id};
inline constexpr Method kProcessExitThread{kProcess,
                                           gen::Process::Methods::exit_thread};  // ends the calling thread only

// schema/thread.capnp
inline constexpr uint64_t kThread = gen::Thread::kInterfaceId;
inline constexpr Method kThreadJoin{kThread, gen::Thread::Methods::join};
inline constexpr Method kThreadId{kThread, gen::Thread::Methods::id};

// schema/park.capnp
inline constexpr uint64_t kPark = gen::Park::kInterfaceId;
inline constexpr Method kParkWait{kPark, gen::Park::Methods::wait};
inline constexpr Method kParkWake{kPark, gen::Park::Methods::wake};

// schema/timer.capnp
inline constexpr uint64_t kTimer = gen::Timer::kInterfaceId;
inline constexpr Method kTimerNow{kTimer, gen::Timer::Methods::now};
inline constexpr Method kTimerSleep{kTimer, gen::Timer::Methods::sleep};

// schema/memory.capnp
inline constexpr uint64_t kMemoryObject = gen::MemoryObject::kInterfaceId;
inline constexpr Method kMemorySize{kMemoryObject, gen::MemoryObject::Methods::size};

// schema/process.capnp: KERNEL methods of Process, and ProcessHandle
inline constexpr Method kProcessCreateEndpoint{kProcess, gen::Process::Methods::create_endpoint};
inline constexpr Method kProcessDropCaps{kProcess, gen::Process::Methods::drop_caps};  // empties the slots in caps
inline constexpr uint64_t kProcessHandle = gen::ProcessHandle::kInterfaceId;
inline constexpr Method kProcessHandleWait{kProcessHandle, gen::ProcessHandle::Methods::wait};
inline constexpr Method kProcessHandleKill{kProcessHandle, gen::ProcessHandle::Methods::kill};

// schema/endpoint.capnp
inline constexpr uint64_t kEndpoint = gen::Endpoint::kInterfaceId;
inline constexpr Method kEndpointReceive{kEndpoint, gen::Endpoint::Methods::receive};
inline constexpr Method kEndpointReply{kEndpoint, gen::Endpoint::Methods::reply};
inline constexpr Method kEndpointMint{kEndpoint, gen::Endpoint::Methods::mint};

// schema/spawner.capnp
inline constexpr uint64_t kSpawner = gen::ProcessSpawner::kInterfaceId;
inline constexpr Method kSpawnerSpawn{kSpawner, gen::ProcessSpawner::Methods::spawn};
inline constexpr Method kSpawnerModules{kSpawner, gen::ProcessSpawner::Methods::modules};
inline constexpr Method kSpawnerStats{kSpawner, gen::ProcessSpawner::Methods::free_frames};  // KERNEL freeFrames

}  // namespace cap::iface
