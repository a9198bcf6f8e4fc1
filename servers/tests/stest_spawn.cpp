// stest_spawn.cpp - the spawner server seen by a client granted it (manifest spawner-test).
// Capabilities: "spawner" (the server's export; its children quota is 4),
// "kernelStats" (the kernel's ProcessSpawner with rights Call|Read: stats only)
// and console, park, timer (which it passes on to some children, to show a
// child gets exactly those it is passed).
#include "capos/abi/cap.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "srv.h"

namespace {
using capos::abi::CapHandle;
using srv::Status;

constexpr uint32_t kQuota = 4;  // the manifest's spawner children=4

CapHandle spawner() { return cap::start_info().named("spawner"); }

cap::Result<srv::Spawned> spawn(const char* args, const srv::Grant* g = nullptr, uint32_t n = 0) {
    return srv::spawn(spawner(), "child", "spawn-child", args, g, n, srv::Quotas{});
}

// A child that sleeps until killed: it needs the Timer, passed explicitly.
cap::Result<srv::Spawned> spawn_sleeper(srv::SpawnRefusal* why = nullptr) {
    const srv::Grant t{"timer", cap::start_info().timer(), 0xffffffffu};
    return srv::spawn(spawner(), "child", "spawn-child", "sleep", &t, 1, srv::Quotas{}, 0, why);
}

// Runs `spawn-child <args>` with grants g to its end: its exit code, or -1
// if it did not start or did not exit by itself (killed, faulted).
int64_t exit_code(const char* args, const srv::Grant* g = nullptr, uint32_t n = 0) {
    auto s = spawn(args, g, n);
    if (!s.ok()) return -1;
    auto w = srv::wait_process(s.value().handle);
    (void)srv::drop_caps(&s.value().handle, 1);
    return w.ok() && w.value().reason == 0 ? w.value().code : -1;
}

// `spawn-child caps` with grants g: 200 + the mask of what it found, or -1.
int64_t caps_seen(const srv::Grant* g, uint32_t n) { return exit_code("caps", g, n); }

void finish(srv::Spawned& s) {
    (void)srv::kill_process(s.handle);
    (void)srv::wait_process(s.handle);
    (void)srv::drop_caps(&s.handle, 1);
}
}  // namespace

CAP_TEST(spawn_and_wait) { CAP_CHECK(exit_code("exit=5") == 5); }

CAP_TEST(spawn_and_kill) {
    auto s = spawn_sleeper();
    CAP_REQUIRE(s.ok());
    CAP_CHECK(srv::kill_process(s.value().handle).ok());
    auto w = srv::wait_process(s.value().handle);
    CAP_CHECK(w.ok() && w.value().reason == 1);
    (void)srv::drop_caps(&s.value().handle, 1);
}

CAP_TEST(children_quota) {
    srv::Spawned kids[kQuota];
    uint32_t ok = 0;
    for (uint32_t i = 0; i < kQuota; ++i) {
        auto s = spawn_sleeper();
        if (s.ok()) kids[ok++] = s.value();
    }
    CAP_CHECK(ok == kQuota);
    srv::SpawnRefusal why;
    auto over = spawn_sleeper(&why);
    CAP_CHECK(!over.ok() && over.status() == Status::quota_exceeded);
    // The reply names the quota: children, 4 alive of 4.
    CAP_CHECK(why.quota == srv::SpawnQuota::children && why.used == kQuota && why.limit == kQuota);
    cap::print("[stest] spawn %u of quota %u: %s (%s quota: %llu of %llu)\n", kQuota + 1, kQuota,
               over.ok() ? "accepted (wrong)" : cap::status_name(over.status()), srv::spawn_quota_name(why.quota),
               static_cast<unsigned long long>(why.used), static_cast<unsigned long long>(why.limit));
    if (over.ok()) finish(over.value());
    for (uint32_t i = 0; i < ok; ++i) finish(kids[i]);
    // The quota comes back when the children are gone.
    auto again = spawn("exit=0");
    CAP_CHECK(again.ok());
    if (again.ok()) finish(again.value());
}

CAP_TEST(frames_and_slots_quota_named) {
    // The manifest's spawner: frames=65536, slots=4096 over its live children.
    srv::Quotas big_frames;
    big_frames.frames = 65537;
    srv::SpawnRefusal why;
    auto f = srv::spawn(spawner(), "x", "spawn-child", "exit=0", nullptr, 0, big_frames, 0, &why);
    CAP_CHECK(!f.ok() && f.status() == Status::quota_exceeded);
    CAP_CHECK(why.quota == srv::SpawnQuota::frames && why.asked == 65537 && why.limit == 65536);
    const srv::SpawnQuota first = why.quota;
    srv::Quotas big_slots;
    big_slots.cap_slots = 4097;
    auto s = srv::spawn(spawner(), "x", "spawn-child", "exit=0", nullptr, 0, big_slots, 0, &why);
    CAP_CHECK(!s.ok() && s.status() == Status::quota_exceeded);
    CAP_CHECK(why.quota == srv::SpawnQuota::cap_slots && why.asked == 4097 && why.limit == 4096);
    cap::print("[stest] over-quota spawns refused naming: %s, %s\n", srv::spawn_quota_name(first),
               srv::spawn_quota_name(why.quota));
    // Another refusal (not a quota) carries no SpawnRefusal.
    auto u = srv::spawn(spawner(), "x", "no-such-module", nullptr, nullptr, 0, srv::Quotas{}, 0, &why);
    CAP_CHECK(!u.ok() && why.quota == srv::SpawnQuota::none);
}

CAP_TEST(unknown_module) {
    auto s = srv::spawn(spawner(), "x", "no-such-module", nullptr, nullptr, 0, srv::Quotas{});
    CAP_CHECK(!s.ok() && s.status() == Status::invalid_argument);
}

CAP_TEST(invalid_capability) {
    // A CapGrant that names capability 0 of a call that carries none.
    alignas(8) uint8_t buf[512];
    srv::Grant g{"ghost", 0, 0xffffffffu};
    const uint32_t len =
        srv::encode_spawn(buf, sizeof buf, "x", 1, "spawn-child", 11, "exit=0", &g, 1, srv::Quotas{}, 0);
    CapHandle caps[1] = {};
    capos::abi::Cqe c = srv::raw_call(spawner(), srv::kSpawner, srv::kSpawn, buf, len, nullptr, 0, caps, 0, 1);
    CAP_CHECK(srv::status_of(c) == Status::invalid_slot);
    // A stale handle passed along: the call itself is refused.
    srv::Grant stale{"stale", capos::abi::make_handle(200, 7), 0xffffffffu};
    auto s = srv::spawn(spawner(), "x", "spawn-child", "exit=0", &stale, 1, srv::Quotas{});
    CAP_CHECK(!s.ok());
}

CAP_TEST(elf_refused) {
    // A boot module that is not an ELF image: the kernel refuses it.
    auto s = srv::spawn(spawner(), "x", "manifest-spawner-test", nullptr, nullptr, 0, srv::Quotas{});
    CAP_CHECK(!s.ok());
    cap::print("[stest] non-ELF module: %s\n", s.ok() ? "accepted (wrong)" : cap::status_name(s.status()));
}

CAP_TEST(child_gets_only_what_parent_passes) {
    // The spawner capability passed without the Call right: the child holds it
    // but cannot spawn (exit code 100 + 3 = rights).
    srv::Grant weak{"spawner", spawner(), capos::abi::kRightCopy | capos::abi::kRightTransfer};
    CAP_CHECK(exit_code("try-spawn", &weak, 1) == 100 + 3);
    // Passed with its rights: the child can spawn (its grandchild counts against the same quota).
    srv::Grant full{"spawner", spawner(), 0xffffffffu};
    CAP_CHECK(exit_code("try-spawn", &full, 1) == 0);
    // Not passed at all: nothing to spawn with (exit 99).
    CAP_CHECK(exit_code("try-spawn") == 99);
}

CAP_TEST(child_gets_only_the_kernel_caps_passed) {
    const cap::StartInfo& info = cap::start_info();
    CAP_REQUIRE(info.console() != 0 && info.park() != 0 && info.timer() != 0);
    // Nothing passed: only its own Process and Thread (mask 0).
    CAP_CHECK(caps_seen(nullptr, 0) == 200);
    // Only the console: no Park, no Timer; the console also under its name (1 | 8).
    const srv::Grant con{"console", info.console(), 0xffffffffu};
    CAP_CHECK(caps_seen(&con, 1) == 200 + 1 + 8);
    // Console and timer, not park (1 | 4 | 8).
    const srv::Grant two[2] = {con, {"timer", info.timer(), 0xffffffffu}};
    CAP_CHECK(caps_seen(two, 2) == 200 + 1 + 4 + 8);
    // All three.
    const srv::Grant three[3] = {con, {"park", info.park(), 0xffffffffu}, {"timer", info.timer(), 0xffffffffu}};
    CAP_CHECK(caps_seen(three, 3) == 200 + 1 + 2 + 4 + 8);
    // A Console granted under the name "timer" is no Timer: the well-known
    // timer slot stays empty (it is only a named capability).
    const srv::Grant fake{"timer", info.console(), 0xffffffffu};
    CAP_CHECK(caps_seen(&fake, 1) == 200);
    // A child without a Timer cannot sleep (spawn-child exits 97 at once).
    CAP_CHECK(exit_code("sleep") == 97);
}

CAP_TEST(kernel_spawner_read_only) {
    const CapHandle k = cap::start_info().named("kernelStats");
    CAP_REQUIRE(k != 0);
    CAP_CHECK(srv::stats(k).ok());
    auto s = srv::spawn(k, "x", "spawn-child", "exit=0", nullptr, 0, srv::Quotas{});
    CAP_CHECK(!s.ok() && s.status() == Status::rights);
}

CAP_TEST_MAIN("spawner")
