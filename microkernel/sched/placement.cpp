// placement.cpp: the default placement policy and hook validation.
#include "sched/placement.h"

namespace kern {

bool placement_valid(const PlacementInput& in, unsigned cpu) {
    return in.cpus != nullptr && cpu < in.ncpus && in.cpus[cpu].online && in.allowed.has(cpu);
}

unsigned default_placement(const PlacementInput& in) {
    if (placement_valid(in, in.last_cpu) && in.cpus[in.last_cpu].idle) return in.last_cpu;
    unsigned best = kNoCpu;
    in.allowed.for_each([&](unsigned c) {
        if (!placement_valid(in, c)) return;
        if (best == kNoCpu || in.cpus[c].load < in.cpus[best].load) {
            best = c;
        } else if (in.cpus[c].load == in.cpus[best].load && c == in.last_cpu) {
            best = c;  // a tie prefers the last CPU (warm cache), else the lower id stays
        }
    });
    return best != kNoCpu ? best : in.waker_cpu;
}

unsigned default_placement_hook(const PlacementInput& in, void*) { return default_placement(in); }

unsigned place_thread(const PlacementInput& in, PlacementHook hook, void* ctx, bool* fell_back) {
    if (hook != nullptr) {
        unsigned c = hook(in, ctx);
        if (placement_valid(in, c)) {
            if (fell_back != nullptr) *fell_back = false;
            return c;
        }
    }
    if (fell_back != nullptr) *fell_back = hook != nullptr;
    return default_placement(in);
}

}  // namespace kern
