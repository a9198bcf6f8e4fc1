// stest_loop.cpp - spawn+wait round-trip median and the 200-children leak check
// (manifest spawner-loop). Capabilities: "spawner" (the server's export) and
// "kernelStats" (the kernel's ProcessSpawner, Call|Read: stats only).
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "srv.h"

namespace {
using capos::abi::CapHandle;

constexpr uint32_t kRuns = 100;
constexpr uint32_t kLoop = 200;

CapHandle spawner() { return cap::start_info().named("spawner"); }
CapHandle kstats() { return cap::start_info().named("kernelStats"); }

void sort(uint64_t* v, uint32_t n) {
    for (uint32_t i = 1; i < n; ++i)
        for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; --j) {
            const uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

bool spawn_wait(const char* args, bool kill, uint16_t want_reason) {
    // The sleeping child needs the Timer (children get only what is passed).
    const srv::Grant timer{"timer", cap::start_info().timer(), 0xffffffffu};
    auto s = srv::spawn(spawner(), "loop-child", "spawn-child", args, &timer, kill ? 1 : 0, srv::Quotas{});
    if (!s.ok()) {
        cap::print("[stest] spawn failed: %s\n", cap::status_name(s.status()));
        return false;
    }
    if (kill && !srv::kill_process(s.value().handle).ok()) return false;
    auto w = srv::wait_process(s.value().handle);
    (void)srv::drop_caps(&s.value().handle, 1);
    return w.ok() && w.value().reason == want_reason;
}

struct Snapshot {
    srv::Stats kernel;  // slots_used: this process's
    srv::Stats server;  // slots_used: the spawner server's; children: its live children
};

bool snapshot(Snapshot& s) {
    auto k = srv::stats(kstats());
    auto v = srv::stats(spawner());
    if (!k.ok() || !v.ok()) return false;
    s.kernel = k.value();
    s.server = v.value();
    return true;
}

bool same(const Snapshot& a, const Snapshot& b) {
    return a.kernel.free_frames == b.kernel.free_frames && a.kernel.slots_used == b.kernel.slots_used &&
           a.server.slots_used == b.server.slots_used && a.kernel.processes == b.kernel.processes &&
           a.server.children == b.server.children;
}
}  // namespace

CAP_TEST(spawn_wait_median) {
    for (int i = 0; i < 5; ++i) CAP_REQUIRE(spawn_wait("exit=0", false, 0));  // warm-up
    static uint64_t cyc[kRuns];
    auto t0 = srv::now_ns();
    const uint64_t c0 = srv::rdtsc();
    for (uint32_t i = 0; i < kRuns; ++i) {
        const uint64_t a = srv::rdtsc();
        CAP_REQUIRE(spawn_wait("exit=0", false, 0));
        cyc[i] = srv::rdtsc() - a;
    }
    const uint64_t c1 = srv::rdtsc();
    auto t1 = srv::now_ns();
    CAP_REQUIRE(t0.ok() && t1.ok() && t1.value() > t0.value());
    sort(cyc, kRuns);
    const uint64_t med = cyc[kRuns / 2];
    const uint64_t ns = t1.value() - t0.value(), cycles = c1 - c0;
    // cycles -> ns through the TSC rate measured over the whole run.
    const uint64_t cycles_per_ms = cycles * 1'000'000 / ns;  // no 128-bit division in freestanding code
    const uint64_t med_ns = med * 1'000'000 / cycles_per_ms;
    cap::print(
        "[spawn-bench] spawn_wait runs=%u median_cycles=%llu median_us=%llu.%03llu min_cycles=%llu "
        "max_cycles=%llu tsc_mhz=%llu\n",
        kRuns, static_cast<unsigned long long>(med), static_cast<unsigned long long>(med_ns / 1000),
        static_cast<unsigned long long>(med_ns % 1000), static_cast<unsigned long long>(cyc[0]),
        static_cast<unsigned long long>(cyc[kRuns - 1]), static_cast<unsigned long long>(cycles_per_ms / 1000));
    CAP_CHECK(med > 0);
}

CAP_TEST(spawn_kill_wait_200_no_leak) {
    CAP_REQUIRE(spawn_wait("sleep", true, 1));  // warm-up
    Snapshot before{}, after{};
    // Processes of the warm-up and of the previous case are reaped
    // asynchronously: take the baseline only once the counts stop moving.
    CAP_REQUIRE(snapshot(before));
    for (int tries = 0; tries < 50; ++tries) {
        (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), 20'000'000);
        Snapshot again{};
        CAP_REQUIRE(snapshot(again));
        if (same(before, again)) break;
        before = again;
    }
    uint32_t good = 0;
    for (uint32_t i = 0; i < kLoop; ++i) good += spawn_wait("sleep", true, 1) ? 1 : 0;
    CAP_CHECK(good == kLoop);
    // The spawner drops its handle copy when its own wait completes: allow it a moment.
    for (int tries = 0; tries < 50; ++tries) {
        CAP_REQUIRE(snapshot(after));
        if (same(before, after)) break;
        (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), 20'000'000);
    }
    cap::print(
        "[leak-check] children=%u killed_ok=%u free_frames before=%llu after=%llu "
        "client_slots before=%llu after=%llu spawner_slots before=%llu after=%llu "
        "processes before=%llu after=%llu spawner_children before=%llu after=%llu "
        "kheap_in_use before=%llu after=%llu -> %s\n",
        kLoop, good, static_cast<unsigned long long>(before.kernel.free_frames),
        static_cast<unsigned long long>(after.kernel.free_frames),
        static_cast<unsigned long long>(before.kernel.slots_used),
        static_cast<unsigned long long>(after.kernel.slots_used),
        static_cast<unsigned long long>(before.server.slots_used),
        static_cast<unsigned long long>(after.server.slots_used),
        static_cast<unsigned long long>(before.kernel.processes),
        static_cast<unsigned long long>(after.kernel.processes),
        static_cast<unsigned long long>(before.server.children), static_cast<unsigned long long>(after.server.children),
        static_cast<unsigned long long>(before.kernel.heap_in_use),
        static_cast<unsigned long long>(after.kernel.heap_in_use), same(before, after) ? "same" : "DIFFERENT");
    CAP_CHECK(same(before, after));
}

CAP_TEST_MAIN("spawnloop")
