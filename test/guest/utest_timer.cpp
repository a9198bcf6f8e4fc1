// utest_timer.cpp - in-guest tests: Timer.now against the TSC, sleep accuracy, sleepUntil, cap_enter timeouts.
#include "capos/abi/syscall.h"
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"

namespace abi = capos::abi;
using cap::this_ring;

namespace {
uint64_t now() { return cap::timer_now(this_ring(), cap::start_info().timer()).value(); }
}  // namespace

CAP_TEST(sleep_accuracy) {
  // Never early; late by at most 3 ticks (12 ms at 250 Hz) plus TCG slack.
  const uint64_t kMs = 1'000'000;
  const uint64_t cases[] = {1 * kMs, 10 * kMs, 25 * kMs, 50 * kMs};
  for (uint64_t ns : cases) {
    const uint64_t t0 = now();
    CAP_CHECK(cap::timer_sleep(this_ring(), cap::start_info().timer(), ns).ok());
    const uint64_t dt = now() - t0;
    cap::print("[utest-timer] sleep %llu us took %llu us\n", static_cast<unsigned long long>(ns / 1000),
               static_cast<unsigned long long>(dt / 1000));
    CAP_CHECK(dt >= ns);
    CAP_CHECK(dt < ns + 30 * kMs);
  }
}

CAP_TEST(sleep_until_past_returns_at_once) {
  alignas(8) uint8_t p[32];
  const uint64_t past = 1;
  const uint32_t n = guest::words_msg(p, sizeof p, &past, 1);
  const uint64_t t0 = now();
  guest::Raw r = guest::raw_call(cap::start_info().timer(), guest::kTimer, 2, p, n);
  CAP_CHECK(r.cqe.status == 0);
  CAP_CHECK(now() - t0 < 5'000'000);
}

CAP_TEST(cap_enter_timeout) {
  // Nothing submitted, wait for one completion with a 20 ms deadline.
  const uint64_t t0 = now();
  const int64_t r = abi::cap_enter(1, 20'000'000);
  const uint64_t dt = now() - t0;
  CAP_CHECK(r == static_cast<int64_t>(abi::Status::timeout));
  CAP_CHECK(dt >= 20'000'000);
  CAP_CHECK(dt < 60'000'000);
  // Zero timeout never sleeps.
  CAP_CHECK(abi::cap_enter(1, 0) == 0);
  // More than the CQ holds is an argument error.
  CAP_CHECK(abi::cap_enter(1u << 20, 0) == static_cast<int64_t>(abi::Status::invalid_argument));
}

CAP_TEST(resolution) {
  guest::Raw r = guest::raw_call(cap::start_info().timer(), guest::kTimer, 3);
  CAP_CHECK(r.cqe.status == 0 && r.cqe.value > 0 && r.cqe.value <= 10'000'000);
}

CAP_TEST_MAIN("timer")
