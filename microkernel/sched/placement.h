// placement.h: choosing the CPU of a newly runnable thread.
//
// Dispatch calls a placement hook whenever a thread becomes runnable (created
// or woken). The hook sees a snapshot (loads and idle flags of every CPU, the
// thread's last CPU and allowed mask) and returns a CPU id; it is data in,
// data out, so the placement server (a later issue) can drive it by handing
// the kernel decisions, and so host tests exercise the same code. The kernel
// validates every answer (placement_valid) and falls back to
// default_placement when a hook returns a CPU that is offline, out of range
// or not allowed.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"

namespace kern {

static_assert(kMaxCpus <= 64, "CpuMask holds one bit per CPU in a 64-bit word");

// Set bits in v (the kernel links no libgcc, so no __builtin_popcountll).
constexpr unsigned popcount64(uint64_t v) {
    unsigned n = 0;
    for (; v != 0; v &= v - 1) ++n;
    return n;
}

// A set of CPU ids (bit i = CPU i).
struct CpuMask {
    uint64_t bits = 0;

    static constexpr CpuMask all() { return CpuMask{~uint64_t{0}}; }
    static constexpr CpuMask only(unsigned cpu) { return CpuMask{cpu < 64 ? uint64_t{1} << cpu : 0}; }
    constexpr bool has(unsigned cpu) const { return cpu < 64 && ((bits >> cpu) & 1) != 0; }
    constexpr void set(unsigned cpu) {
        if (cpu < 64) bits |= uint64_t{1} << cpu;
    }
    constexpr void clear(unsigned cpu) {
        if (cpu < 64) bits &= ~(uint64_t{1} << cpu);
    }
    constexpr bool empty() const { return bits == 0; }
    constexpr unsigned count() const { return popcount64(bits); }
    // Calls f(cpu) for each CPU id in the set, lowest first; ids at or above
    // kMaxCpus (all() has them) are not CPUs and are skipped. Walks the set
    // bits only, so a sparse mask costs its population, not 64 tests. The
    // mask is a copy: f may change the original.
    template <class F>
    constexpr void for_each(F&& f) const {
        constexpr uint64_t kCpus = kMaxCpus >= 64 ? ~uint64_t{0} : (uint64_t{1} << (kMaxCpus % 64)) - 1;
        uint64_t b = bits & kCpus;
        for (; b != 0; b &= b - 1) f(static_cast<unsigned>(__builtin_ctzll(b)));
    }
};

inline constexpr unsigned kNoCpu = ~0u;

// What dispatch knows about one CPU when it places a thread. Read without
// the CPU's lock, so it is a recent value, not an exact one.
struct CpuLoad {
    uint64_t load = 0;    // queued + running weight (RunQueue::load())
    bool idle = false;    // running its idle thread with nothing queued
    bool online = false;  // dispatching threads
};

struct PlacementInput {
    const CpuLoad* cpus = nullptr;  // indexed by CPU id
    unsigned ncpus = 0;             // entries in cpus
    unsigned last_cpu = kNoCpu;     // where the thread last ran; kNoCpu if never
    unsigned waker_cpu = 0;         // the CPU making the thread runnable
    CpuMask allowed = CpuMask::all();
    uint32_t weight = 0;  // the thread's weight
};

// A placement hook: returns the target CPU. ctx is the hook's own state.
using PlacementHook = unsigned (*)(const PlacementInput& in, void* ctx);

// True when cpu is in range, online and allowed.
bool placement_valid(const PlacementInput& in, unsigned cpu);

// The built-in policy: the last CPU if it is idle (and online and allowed),
// otherwise the allowed online CPU with the least load; ties go to the last
// CPU, then to the lowest id. When no allowed CPU is online, the waker's CPU
// (the thread's mask is then ignored rather than leaving it unrunnable).
unsigned default_placement(const PlacementInput& in);

// Hook-shaped wrapper of default_placement (ctx unused).
unsigned default_placement_hook(const PlacementInput& in, void* ctx);

// Runs hook (if any) and validates its answer; an invalid or missing answer
// falls back to default_placement. *fell_back (if given) says which happened.
unsigned place_thread(const PlacementInput& in, PlacementHook hook, void* ctx, bool* fell_back);

}  // namespace kern
