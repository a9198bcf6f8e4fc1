// utest_ring.cpp - in-guest tests: ring NOP round trips (single, batched, across index wrap), Console, error completions.
#include "capos/abi/layout.h"
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"

namespace abi = capos::abi;
using cap::this_ring;

CAP_TEST(nop_round_trip) {
    CAP_CHECK(cap::ring_nop(this_ring()).ok());
    // Enough round trips to wrap both queues many times.
    bool all = true;
    for (int i = 0; i < 3000; ++i) all = all && cap::ring_nop(this_ring()).ok();
    CAP_CHECK(all);
}

CAP_TEST(nop_batch_in_order) {
    cap::Ring& r = this_ring();
    // A batch of 100 raw NOPs with our own tags (bit 63 clear), one enter.
    constexpr uint32_t kN = 100;
    for (uint32_t i = 0; i < kN; ++i) {
        abi::Sqe* s = r.reserve();
        CAP_REQUIRE(s != nullptr);
        s->user_tag = 1000 + i;
    }
    r.publish();
    int64_t got = r.enter(kN, abi::kTimeoutInfinite);
    CAP_CHECK(got >= static_cast<int64_t>(kN));
    uint32_t seen = 0;
    abi::Cqe c;
    bool order = true, okst = true;
    while (seen < kN && r.pop(c)) {
        order = order && c.user_tag == 1000 + seen;
        okst = okst && c.status == 0;
        ++seen;
    }
    CAP_CHECK(seen == kN);
    CAP_CHECK(order);
    CAP_CHECK(okst);
}

CAP_TEST(console_write) {
    CAP_CHECK(cap::console_write(this_ring(), cap::start_info().console(), "[utest-ring] console line\n", 26).ok());
}

CAP_TEST(timer_now_monotonic) {
    auto a = cap::timer_now(this_ring(), cap::start_info().timer());
    auto b = cap::timer_now(this_ring(), cap::start_info().timer());
    CAP_REQUIRE(a.ok() && b.ok());
    CAP_CHECK(b.value() >= a.value());
    CAP_CHECK(a.value() > 0);
}

CAP_TEST(bad_method_and_slots) {
    const auto con = cap::start_info().console();
    // Unknown method on a real capability.
    guest::Raw r = guest::raw_call(con, guest::kConsole, 77);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(abi::Status::bad_method));
    // Wrong interface id.
    r = guest::raw_call(con, 0x1234, 0);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(abi::Status::bad_method));
    // Forged slot index, generation 0, stale generation.
    r = guest::raw_call(abi::make_handle(999, 1), guest::kConsole, 0);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(abi::Status::invalid_slot));
    r = guest::raw_call(abi::make_handle(abi::handle_slot(con), 0), guest::kConsole, 0);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(abi::Status::invalid_slot));
    r = guest::raw_call(abi::make_handle(abi::handle_slot(con), abi::handle_generation(con) + 1), guest::kConsole, 0);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(abi::Status::stale_slot));
    // Bad parameter pointer (kernel half) and a malformed message.
    r = guest::raw_call(con, guest::kConsole, 0, reinterpret_cast<void*>(0xffff800000000000ull), 64);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(abi::Status::bad_pointer));
    alignas(8) static uint8_t junk[64] = {1, 2, 3, 4, 5, 6, 7, 8};
    r = guest::raw_call(con, guest::kConsole, 0, junk, sizeof junk);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(abi::Status::malformed_message));
}

CAP_TEST(start_block_caps) {
    const cap::StartInfo& si = cap::start_info();
    CAP_CHECK(si.process() != 0 && si.console() != 0 && si.park() != 0 && si.timer() != 0);
    const auto th = si.cap(cap::StartCap::thread);
    CAP_REQUIRE(th != 0);
    // Thread.id on the main thread itself; joining oneself is refused.
    guest::Raw r = guest::raw_call(th, guest::kThread, 1);
    CAP_CHECK(r.cqe.status == 0 && r.cqe.value != 0);
    r = guest::raw_call(th, guest::kThread, 0);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(abi::Status::invalid_argument));
    CAP_CHECK(si.named("spawner") != 0);
    CAP_CHECK(si.args()[0] == 'c');  // "cpus=<n>"
}

CAP_TEST(tls_and_fs_base) {
    static thread_local uint64_t v = 42;
    CAP_CHECK(v == 42);
    v = 7;
    CAP_CHECK(v == 7);
    uint64_t tp;
    asm volatile("mov %%fs:0, %0" : "=r"(tp));
    CAP_CHECK(tp >= abi::kUserTlsBase && tp < abi::kUserTlsBase + abi::kUserTlsStride);
}

CAP_TEST_MAIN("ring")
