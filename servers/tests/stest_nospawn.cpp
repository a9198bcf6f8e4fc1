// stest_nospawn.cpp - a process the manifest grants no spawner: it must not be able to spawn.
// Capabilities: only "console" (the manifest's kernel console), nothing else named.
#include "capos/abi/cap.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "srv.h"

namespace {
using capos::abi::make_handle;
}

CAP_TEST(no_spawner_granted) {
    const cap::StartInfo& info = cap::start_info();
    CAP_CHECK(info.named("spawner") == 0);
    CAP_CHECK(info.named("bootSpawner") == 0);
    CAP_CHECK(info.named("init") == 0);
    // Exactly what the manifest lists: one named capability.
    CAP_CHECK(info.raw().named_count == 1);
    CAP_CHECK(info.named("console") != 0);
}

CAP_TEST(forged_handles_cannot_spawn) {
    // Every slot of the table, with the first generations: a spawn call on any
    // of them is refused (empty or stale slot, or an object that is no spawner).
    uint32_t refused = 0, accepted = 0;
    for (uint32_t slot = 0; slot < 256; ++slot) {
        for (uint32_t gen = 1; gen <= 3; ++gen) {
            auto r = srv::spawn(make_handle(slot, gen), "forged", "spawn-child", "exit=0", nullptr, 0, srv::Quotas{});
            if (r.ok()) ++accepted;
            else ++refused;
        }
    }
    CAP_CHECK(accepted == 0);
    CAP_CHECK(refused == 768);
}

CAP_TEST_MAIN("nospawn")
