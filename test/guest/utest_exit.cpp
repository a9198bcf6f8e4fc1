// utest_exit.cpp - in-guest tests: process exit releases every frame; exit codes and reasons (exited, faulted, killed).
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"

namespace {
cap::Result<guest::Exit> run(const char* mode) {
    auto c = guest::spawn_std("guest-child", mode, nullptr, nullptr, 0);
    if (!c.ok()) return c.status();
    auto e = guest::wait_process(c.value().handle);
    // Dropping the last handle frees the zombie process object too.
    guest::CapHandle h[1] = {c.value().handle};
    if (!guest::drop_caps(h, 1).ok()) return cap::Status::internal;
    return e;
}

// Kernel memory once the reaper is done with every child: it wakes
// ProcessHandle.wait callers during teardown, just before it drops the last
// thread's and the process's own references, so a read right after wait may
// still count them (seen about once in 16 boots at -smp 2). Waits (up to
// half a second) until this program is the only process alive, as it is in
// a utest boot once its children are reaped (the previous test's too).
cap::Result<guest::KernelMemory> settled_memory() {
    auto m = guest::kernel_memory();
    for (int i = 0; i < 500 && m.ok() && m.value().processes > 1; ++i) {
        (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), 1'000'000);
        m = guest::kernel_memory();
    }
    return m;
}
}  // namespace

CAP_TEST(exit_code_and_reason) {
    auto e = run("hog");
    CAP_REQUIRE(e.ok());
    CAP_CHECK(e.value().code == 7);
    CAP_CHECK(e.value().reason == 0);
}

CAP_TEST(exit_releases_every_frame) {
    // Warm up kernel heaps, then the same workload (memory objects, mappings,
    // threads parked at exit, an endpoint) again: free frames, kernel heap
    // bytes and live process objects must all return to their value before it.
    (void)run("hog");
    auto before = settled_memory();
    CAP_REQUIRE(before.ok());
    auto e = run("hog");
    CAP_REQUIRE(e.ok() && e.value().code == 7);
    auto after = settled_memory();
    CAP_REQUIRE(after.ok());
    cap::print(
        "[utest-exit] free frames before %llu after %llu, heap bytes before %llu after %llu, processes %llu/%llu\n",
        static_cast<unsigned long long>(before.value().free_frames),
        static_cast<unsigned long long>(after.value().free_frames),
        static_cast<unsigned long long>(before.value().heap_in_use),
        static_cast<unsigned long long>(after.value().heap_in_use),
        static_cast<unsigned long long>(before.value().processes),
        static_cast<unsigned long long>(after.value().processes));
    CAP_CHECK(after.value().free_frames == before.value().free_frames);
    CAP_CHECK(after.value().heap_in_use == before.value().heap_in_use);
    CAP_CHECK(after.value().processes == before.value().processes);
}

CAP_TEST(dropped_handle_is_stale) {
    auto c = guest::spawn_std("guest-child", "hog", nullptr, nullptr, 0);
    CAP_REQUIRE(c.ok());
    guest::CapHandle h[1] = {c.value().handle};
    CAP_CHECK(guest::drop_caps(h, 1).ok());
    CAP_CHECK(guest::wait_process(c.value().handle).status() == cap::Status::stale_slot);
    CAP_CHECK(guest::drop_caps(h, 1).status() == cap::Status::stale_slot);
}

CAP_TEST(fault_is_reported) {
    auto e = run("fault");
    CAP_REQUIRE(e.ok());
    CAP_CHECK(e.value().reason == 2);
    CAP_CHECK(e.value().code == 14);
}

CAP_TEST(kill_blocked_process) {
    auto c = guest::spawn_std("guest-child", "block", nullptr, nullptr, 0);
    CAP_REQUIRE(c.ok());
    (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), 20'000'000);
    CAP_CHECK(guest::kill_process(c.value().handle).ok());
    auto e = guest::wait_process(c.value().handle);
    CAP_REQUIRE(e.ok());
    CAP_CHECK(e.value().reason == 1);
}

CAP_TEST(spawn_unknown_module) {
    auto c = guest::spawn("no-such-module", "", nullptr, nullptr, 0);
    CAP_CHECK(!c.ok() && c.status() == cap::Status::invalid_argument);
}

CAP_TEST_MAIN("exit")
