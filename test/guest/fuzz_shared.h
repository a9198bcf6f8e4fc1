// fuzz_shared.h - what utest-fuzz, its two guest-fuzz processes and guest-fuzz-neighbour share: the layout of
// the MemoryObject they all map (named "shared"), the per-thread random streams and the names of the counters.
//
// The fuzzing processes write their figures here instead of only printing them so that the controller
// (utest_fuzz.cpp) can check progress while they run, tell a hang from slowness, and add the two processes up.
#pragma once

#include <stdint.h>

namespace fuzz {

// One thread's stream: splitmix64 of (seed, process, life) seeds an xorshift64*. A thread "life" is one run of
// a fuzzing thread (the manager starts lives in a fixed order), so the same seed gives every life the same
// submissions whatever the interleaving of the threads.
inline uint64_t splitmix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(splitmix(seed) | 1) {}
    uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545f4914f6cdd1dull;
    }
    uint32_t below(uint32_t n) { return n == 0 ? 0 : static_cast<uint32_t>((next() >> 32) % n); }
    bool one_in(uint32_t n) { return below(n) == 0; }
};

inline uint64_t life_seed(uint64_t seed, uint32_t process, uint32_t life) {
    return splitmix(seed ^ splitmix((uint64_t{process} << 32) | life));
}

// The generator of one submission: a function of its life and its index in
// that life alone, so what the kernel's answers did to earlier submissions
// (which capabilities the life holds, where the SQ filled) cannot shift the
// stream of later ones.
inline uint64_t submission_seed(uint64_t life, uint64_t index) { return splitmix(life ^ splitmix(index + 1)); }

// Submission classes, by the object (or the part of the ABI) they aim at.
enum Class : uint32_t {
    kRingOps,      // NOPs, unknown ring operations, unknown flags
    kConsoleObj,   // Console.write/writeBytes
    kTimerObj,     // Timer
    kParkObj,      // Park.wait/wake
    kThreadObj,    // Thread.join/id/setWeight/setCpuHint
    kMemoryObj,    // MemoryObject.size/slice/read/write
    kProcessObj,   // Process: allocate, map, unmap, createThread, dropCaps, createEndpoint, id
    kHandleObj,    // ProcessHandle wait/kill/id (neighbour read-only, spawned children)
    kEndpointObj,  // receive/reply/mint and calls on clients, with capability moves
    kSpawnerObj,   // ProcessSpawner spawn/modules/freeFrames
    kKstatsObj,    // KernelStats.read and SchedulerControl methods on the read-only capability
    kRandom,       // every field random: forged handles, interface ids, ordinals, pointers
    kOverfill,     // whole-SQ batches with nothing reaped: CQ overflow and back-pressure
    kEnterOdd,     // odd cap_enter arguments and unknown system call numbers (not ring entries)
    kClassCount,
};
inline constexpr const char* kClassNames[kClassCount] = {"ring",   "console", "timer",    "park",     "thread",
                                                         "memory", "process", "handle",   "endpoint", "spawner",
                                                         "kstats", "random",  "overfill", "enter"};

// Completion statuses 0 .. -19 (capos/abi/status.h) and one bucket for anything else.
inline constexpr uint32_t kStatusBuckets = 21;

struct WorkerStats {
    uint64_t submissions;
    uint64_t completions;
    uint64_t per_class[kClassCount];
    uint64_t per_status[kStatusBuckets];  // index -status; the last bucket: outside the ABI's range
    uint64_t quota_kind[6];               // quota_exceeded completions by Cqe::detail (QuotaKind)
    uint64_t threads_created;
    uint64_t thread_lives;
    uint64_t abrupt_exits;  // lives ended by a raw exitThread with submissions in flight
    uint64_t maps, unmaps;
    uint64_t spawns;
    uint64_t caps_received;
    uint64_t enters;
    uint64_t alive_checks;
    uint64_t cycles;
};

inline constexpr uint32_t kMaxLifeSlots = 8;

struct Worker {
    uint32_t phase;  // kRunning, kDone (figures final) or kFailed
    uint32_t pad;
    uint64_t progress;  // bumped after every batch: the controller's hang detector
    uint64_t target;    // submissions this process was asked for
    // The lives running now (for the failure report): life number and submissions done in it.
    uint32_t life[kMaxLifeSlots];
    uint64_t life_done[kMaxLifeSlots];
    char fail[160];
    WorkerStats stats;
};
inline constexpr uint32_t kRunning = 0, kDone = 1, kFailed = 2;

struct Neighbour {
    uint64_t beats;     // bumped by the neighbour about every millisecond
    uint64_t checks;    // checksum verifications done
    uint64_t checksum;  // of its private memory, computed at start
    uint32_t intact;    // 1 while every verification matched
    uint32_t stop;      // set by the controller: verify once more and exit
    uint32_t final_ok;  // written by the neighbour last: 1 if its final verification matched
    uint32_t pad;
};

struct Shared {
    Neighbour neighbour;
    Worker worker[2];
};

inline constexpr uint64_t kSharedBytes = 2 * 4096;
static_assert(sizeof(Shared) <= kSharedBytes);

}  // namespace fuzz
