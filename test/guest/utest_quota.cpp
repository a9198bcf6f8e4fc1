// utest_quota.cpp - in-guest tests: every quota (frames, threads, outstanding calls, capability slots) gives an
// error completion with its QuotaKind; the limited process runs in guest-child.
#include "guest.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"

CAP_TEST(every_quota_hit) {
    guest::Quotas q;
    q.frames = 512;
    q.cap_slots = 16;
    q.threads = 3;
    q.outstanding_calls = 8;
    auto c = guest::spawn_std("guest-child", "quota", nullptr, nullptr, 0, &q);
    CAP_REQUIRE(c.ok());
    auto e = guest::wait_process(c.value().handle);
    CAP_REQUIRE(e.ok());
    cap::print("[utest-quota] quotas seen mask %lld (1 frames, 2 threads, 4 calls, 8 slots)\n",
               static_cast<long long>(e.value().code));
    CAP_CHECK(e.value().code == 15);
}

CAP_TEST(own_frames_quota) {
    alignas(8) uint8_t p[32];
    const uint64_t bytes = 64ull << 20;  // above the default 32 MiB quota
    const uint32_t n = guest::words_msg(p, sizeof p, &bytes, 1);
    guest::CapHandle caps[1] = {};
    guest::Raw r = guest::raw_call(cap::start_info().process(), guest::kProcess, 3, p, n, nullptr, 0, caps, 0, 1);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(capos::abi::Status::quota_exceeded));
    CAP_CHECK(r.cqe.detail == static_cast<uint32_t>(capos::abi::QuotaKind::frames));
}

CAP_TEST_MAIN("quota")
