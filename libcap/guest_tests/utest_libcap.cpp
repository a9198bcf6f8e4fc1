// utest_libcap.cpp - in-guest tests of libcap itself (ring, calls, heap, print, threads, TLS), for when the kernel runs user code.
#include "capos/abi/layout.h"
#include "libcap/calls.h"
#include "libcap/heap.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "libcap/thread.h"

namespace {

thread_local uint64_t t_tls_value = 0x1234'5678'9abc'def0;
thread_local uint64_t t_tls_zero;

int g_ctor_ran = 0;
struct CtorProbe {
    CtorProbe() { g_ctor_ran = 1; }
} g_probe;

int64_t thread_body(void* arg) {
    auto* counter = static_cast<uint64_t*>(arg);
    // A fresh TLS block: initial image, zeroed .tbss.
    if (t_tls_value != 0x1234'5678'9abc'def0 || t_tls_zero != 0) return -1;
    t_tls_value = 1;
    // Its own ring works.
    if (!cap::ring_nop(cap::this_ring()).ok()) return -2;
    *counter += 1;
    return 40 + static_cast<int64_t>(cap::thread_index());
}

cap::Mutex g_mutex;
uint64_t g_shared = 0;

int64_t locker(void*) {
    for (int i = 0; i < 10000; ++i) {
        cap::LockGuard g(g_mutex);
        g_shared++;
    }
    return 0;
}

}  // namespace

CAP_TEST(global_constructors_ran) { CAP_CHECK(g_ctor_ran == 1); }

CAP_TEST(start_info) {
    const cap::StartInfo& si = cap::start_info();
    CAP_CHECK(si.raw().magic == capos::abi::kStartMagic);
    CAP_CHECK(si.process() != cap::kNullCap);
    CAP_CHECK(si.console() != cap::kNullCap);
}

CAP_TEST(ring_nop) {
    for (int i = 0; i < 100; ++i) CAP_REQUIRE(cap::ring_nop(cap::this_ring()).ok());
}

CAP_TEST(ring_batch) {
    cap::Ring& r = cap::this_ring();
    capos::abi::Sqe sqes[16];
    uint64_t tags[16];
    cap::CallArgs nop;
    nop.method = cap::iface::Method{capos::abi::kInterfaceKernelRing, capos::abi::kMethodNop};
    for (auto& s : sqes) s = cap::make_sqe(nop);
    CAP_REQUIRE(r.start_batch(sqes, 16, tags).ok());
    for (uint64_t t : tags) CAP_CHECK(r.wait(t).ok());
}

CAP_TEST(stale_and_forged_handles_fail) {
    cap::CallArgs a;
    a.cap = capos::abi::make_handle(0xfffff, 1);
    a.method = cap::iface::kConsoleWrite;
    CAP_CHECK(cap::this_ring().call(a).status() == cap::Status::invalid_slot);
}

CAP_TEST(heap) {
    void* p[64];
    for (int i = 0; i < 64; ++i) {
        p[i] = cap::global_heap().alloc(static_cast<size_t>(16 * (i + 1)));
        CAP_REQUIRE(p[i] != nullptr);
    }
    for (auto* q : p) cap::global_heap().free(q);
    auto* big = new uint64_t[100000];  // beyond the static arena's chunking: large runs
    big[99999] = 7;
    CAP_CHECK(big[99999] == 7);
    delete[] big;
}

CAP_TEST(print) { CAP_CHECK(cap::print("[utest-libcap] printing works %d\n", 42) > 0); }

CAP_TEST(tls_main_thread) {
    CAP_CHECK(t_tls_value == 0x1234'5678'9abc'def0);
    CAP_CHECK(t_tls_zero == 0);
    CAP_CHECK(cap::thread_index() == 0);
}

CAP_TEST(thread_create_join) {
    uint64_t counter = 0;
    auto t = cap::Thread::spawn(&thread_body, &counter);
    CAP_REQUIRE(t.ok());
    auto code = t.value().join();
    CAP_REQUIRE(code.ok());
    CAP_CHECK(code.value() >= 41);  // 40 + a non-zero thread index
    CAP_CHECK(counter == 1);
    CAP_CHECK(t_tls_value == 0x1234'5678'9abc'def0);  // the thread wrote its own copy
}

CAP_TEST(mutex_across_threads) {
    cap::Thread ts[3];
    for (auto& t : ts) {
        auto r = cap::Thread::spawn(&locker, nullptr);
        CAP_REQUIRE(r.ok());
        t = r.value();
    }
    locker(nullptr);
    for (auto& t : ts) CAP_CHECK(t.join().ok());
    CAP_CHECK(g_shared == 40000);
}

CAP_TEST_MAIN("libcap")
