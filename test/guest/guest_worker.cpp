// guest_worker.cpp - helper for utest-hostile: honest work whose result is checked while another process floods the kernel.
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"

namespace {
int64_t half(void* arg) {
    uint64_t s = 0;
    const uint64_t from = reinterpret_cast<uint64_t>(arg);
    for (uint64_t i = from; i < from + 500000; ++i) s += i * i % 7919;
    return static_cast<int64_t>(s & 0x7fffffff);
}
}  // namespace

int main(cap::StartInfo& info) {
    // Ring traffic.
    for (int i = 0; i < 5000; ++i)
        if (!cap::ring_nop(cap::this_ring()).ok()) return 1;
    uint64_t last = 0;
    for (int i = 0; i < 200; ++i) {
        auto t = cap::timer_now(cap::this_ring(), info.timer());
        if (!t.ok() || t.value() < last) return 2;
        last = t.value();
    }
    // Computation split over two threads, checked against a single-threaded run.
    auto a = cap::Thread::spawn(half, reinterpret_cast<void*>(0), 32 * 1024);
    auto b = cap::Thread::spawn(half, reinterpret_cast<void*>(500000), 32 * 1024);
    if (!a.ok() || !b.ok()) return 3;
    auto ra = a.value().join();
    auto rb = b.value().join();
    if (!ra.ok() || !rb.ok()) return 4;
    if (ra.value() != half(reinterpret_cast<void*>(0)) || rb.value() != half(reinterpret_cast<void*>(500000))) return 5;
    return 0;
}
