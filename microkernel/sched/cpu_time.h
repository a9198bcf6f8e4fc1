// cpu_time.h: a thread's CPU time in TSC cycles, charged at every switch.
//
// Dispatch (sched/sched.cpp) reads the TSC once per context switch and hands
// the same value to the thread leaving the CPU (switch_out) and the one
// entering it (switch_in), so every cycle between two switches belongs to
// exactly one thread, whatever the tick does. The 250 Hz tick alone would
// sample CPU time in 4 ms steps and miss a thread that always blocks before
// the tick; this is exact to the switch.
//
// Writers: only the CPU running the thread (switch_out/switch_in, interrupts
// off). Readers: anyone, on any CPU (Thread.cpuTime), without a lock. A
// sequence word makes a read consistent: odd while an update is under way,
// bumped before and after it, and a reader retries until it saw the same
// even value on both sides of its loads.
#pragma once

#include <stdint.h>

namespace kern {

class CpuTime {
public:
    // The thread starts running at TSC `now`.
    void switch_in(uint64_t now) {
        begin();
        __atomic_store_n(&since_, now, __ATOMIC_RELAXED);
        end();
    }

    // The thread stops running at TSC `now`: its current slice is added to
    // the total. A thread that was never switched in (an adopted boot
    // context's first slice) has no open slice and adds nothing.
    void switch_out(uint64_t now) {
        const uint64_t s = __atomic_load_n(&since_, __ATOMIC_RELAXED);
        if (s == 0) return;
        begin();
        __atomic_store_n(&total_, total_ + elapsed(s, now), __ATOMIC_RELAXED);
        __atomic_store_n(&since_, 0, __ATOMIC_RELAXED);
        end();
    }

    // Cycles run so far as of TSC `now`, the open slice included. `now` may
    // come from another CPU, whose TSC may trail the writer's by a little: a
    // slice never counts negative.
    uint64_t read(uint64_t now) const {
        for (;;) {
            const uint32_t a = __atomic_load_n(&seq_, __ATOMIC_ACQUIRE);
            const uint64_t t = __atomic_load_n(&total_, __ATOMIC_RELAXED);
            const uint64_t s = __atomic_load_n(&since_, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            const uint32_t b = __atomic_load_n(&seq_, __ATOMIC_RELAXED);
            if (a == b && (a & 1u) == 0) return t + (s != 0 ? elapsed(s, now) : 0);
            pause();
        }
    }

    bool running() const { return __atomic_load_n(&since_, __ATOMIC_RELAXED) != 0; }

private:
    static uint64_t elapsed(uint64_t from, uint64_t to) { return to > from ? to - from : 0; }
    void begin() {
        __atomic_store_n(&seq_, seq_ + 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_RELEASE);
    }
    void end() { __atomic_store_n(&seq_, seq_ + 1, __ATOMIC_RELEASE); }
    static void pause() {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }

    uint32_t seq_ = 0;
    uint64_t total_ = 0;  // cycles of finished slices
    uint64_t since_ = 0;  // TSC at switch-in of the open slice; 0: not running
};

}  // namespace kern
