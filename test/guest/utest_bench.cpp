// utest_bench.cpp - micro-benchmarks of the user/kernel paths (medians in TSC cycles and ns): ring NOP round
// trip (single and batched, plus breakdown_* cases splitting the single one), endpoint call/reply between two
// threads on one CPU and across CPUs (server: reply + next receive in one cap_enter), thread
// create+join, 1-page map+touch+unmap with a TLB shootdown (the page is also read on another CPU).
// Run with utest=bench; per case prints `[bench] <name> median_cycles=<c> median_ns=<n> ... iters=<i>` and
// `[micro] os=capos name=<name> median_cycles=<c> median_ns=<n> samples=<i> cpus=<a>,<b>` (the line
// harness/bench_micro.py parses, ninja benchmark-micro). Placement: Thread.setCpuHint pins a thread
// (its allowed mask becomes {cpu}); the CPUs each side actually ran on (RDTSCP) are printed.
#include "capos/abi/syscall.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "libcap/thread.h"
#include "libcap/thread_client.h"

using cap::this_ring;

namespace {

uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

uint64_t g_cycles_per_us = 0;

void calibrate() {
    const auto t = cap::start_info().timer();
    const uint64_t n0 = cap::timer_now(this_ring(), t).value();
    const uint64_t c0 = rdtsc();
    (void)cap::timer_sleep(this_ring(), t, 50'000'000);
    const uint64_t n1 = cap::timer_now(this_ring(), t).value();
    const uint64_t c1 = rdtsc();
    g_cycles_per_us = (c1 - c0) * 1000 / (n1 - n0);
    if (g_cycles_per_us == 0) g_cycles_per_us = 1;
}

constexpr uint32_t kMax = 2000;
uint64_t g_samples[kMax];

uint64_t median(uint64_t* v, uint32_t n) {
    for (uint32_t i = 1; i < n; ++i) {  // insertion sort: n is small
        uint64_t x = v[i];
        uint32_t j = i;
        for (; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];
        v[j] = x;
    }
    return v[n / 2];
}

void report(const char* name, uint32_t n, uint64_t per_op_divisor = 1, int cpu_a = -1, int cpu_b = -1) {
    const uint64_t m = median(g_samples, n) / per_op_divisor;
    const uint64_t lo = g_samples[0] / per_op_divisor, p90 = g_samples[n * 9 / 10] / per_op_divisor;
    cap::print("[bench] %s median_cycles=%llu median_ns=%llu min_ns=%llu p90_ns=%llu iters=%u\n", name,
               static_cast<unsigned long long>(m), static_cast<unsigned long long>(m * 1000 / g_cycles_per_us),
               static_cast<unsigned long long>(lo * 1000 / g_cycles_per_us),
               static_cast<unsigned long long>(p90 * 1000 / g_cycles_per_us), n);
    cap::print("[micro] os=capos name=%s median_cycles=%llu median_ns=%llu samples=%u cpus=%d,%d\n", name,
               static_cast<unsigned long long>(m), static_cast<unsigned long long>(m * 1000 / g_cycles_per_us), n,
               cpu_a, cpu_b);
}

// Thread.setCpuHint: the kernel pins the thread (allowed mask {cpu}) from its next placement.
bool set_cpu_hint(guest::CapHandle thread, uint32_t cpu) { return cap::thread_set_cpu_hint(thread, cpu).ok(); }

// Blocks briefly until the caller runs on `cpu` (a wake-up re-places it); returns the CPU it ends on.
uint32_t settle_on(uint32_t cpu) {
    const auto t = cap::start_info().timer();
    for (int i = 0; i < 50 && guest::cpu_now() != cpu; ++i) (void)cap::timer_sleep(this_ring(), t, 1'000'000);
    return guest::cpu_now();
}

// Endpoint server thread: pins itself, then answers every call with an empty result. Each iteration is
// ONE cap_enter: the reply to the previous call and the receive of the next are submitted together (reply
// SQE first; the kernel completes it, then takes a queued call or parks the receive), and the thread waits
// for both completions (min_complete = 2). The receive's CQE value is the call id (0 = timed out).
guest::CapHandle g_ep = 0;
volatile bool g_stop = false;
volatile int g_server_cpu = -1;
int64_t server(void* arg) {
    const auto want = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    alignas(8) static uint8_t buf[512];
    alignas(8) static uint8_t rcv_params[32];
    alignas(8) static uint8_t reply_msg[96];
    static guest::CapHandle rcv_caps[4];
    g_server_cpu = static_cast<int>(settle_on(want));
    const uint32_t rcv_len = cap::encode_receive(rcv_params, sizeof rcv_params, 200'000'000);
    if (rcv_len == 0) return 5;
    // The reply (callId, status 0, no results) is built once; each call only
    // sets its id and copies the message out, so the timed loop pays for a
    // generated setter and a short copy, as the hand builder it replaced did.
    namespace cp = cap::capnp;
    alignas(8) static uint8_t reply_seg[96];
    cp::MessageBuilder reply(reply_seg, sizeof reply_seg);
    auto reply_root = reply.init_root<cap::schema::Endpoint::ReplyParams>();
    reply_root.set_status(0);
    cap::Ring& r = this_ring();
    uint64_t call_id = 0;  // the call to answer in the next batch, 0 = none
    while (!g_stop) {
        const uint32_t want_cqes = call_id != 0 ? 2 : 1;
        if (call_id != 0) {
            reply_root.set_call_id(call_id);
            size_t reply_len = 0;
            if (reply.write_flat(reply_msg, sizeof reply_msg, &reply_len) != cp::Error::Ok) return 5;
            capos::abi::Sqe* s = r.reserve();
            if (s == nullptr) return 3;
            s->user_tag = 1;
            s->interface_id = guest::kEndpointReply.interface_id;
            s->cap = g_ep;
            s->method = guest::kEndpointReply.ordinal;
            s->params_addr = reinterpret_cast<uint64_t>(reply_msg);
            s->params_len = static_cast<uint32_t>(reply_len);
        }
        capos::abi::Sqe* s = r.reserve();
        if (s == nullptr) return 3;
        s->user_tag = 2;
        s->interface_id = guest::kEndpointReceive.interface_id;
        s->cap = g_ep;
        s->method = guest::kEndpointReceive.ordinal;
        s->params_addr = reinterpret_cast<uint64_t>(rcv_params);
        s->params_len = rcv_len;
        s->result_addr = reinterpret_cast<uint64_t>(buf);
        s->result_len_max = sizeof buf;
        s->caps_addr = reinterpret_cast<uint64_t>(rcv_caps);
        s->caps_out_max = 4;
        r.publish();
        uint32_t got = 0;
        call_id = 0;
        while (got < want_cqes) {
            const int64_t e = r.enter(want_cqes - got, capos::abi::kTimeoutInfinite);
            if (e < 0 && e != static_cast<int64_t>(capos::abi::Status::overflow)) return 4;
            capos::abi::Cqe c;
            while (r.pop(c)) {
                ++got;
                if (c.status != 0) return c.user_tag == 1 ? 2 : 1;
                if (c.user_tag == 2) call_id = c.value;
            }
        }
        if (call_id != 0) g_server_cpu = static_cast<int>(guest::cpu_now());
    }
    // Answer the call that carried the stop request.
    if (call_id != 0 && !guest::reply(g_ep, call_id, 0, nullptr, 0, nullptr, 0).ok()) return 2;
    return 0;
}

int64_t nothing(void*) { return 0; }

// Shootdown helper: pinned to another CPU, spins in user mode (so the address space stays live there) and
// reads the page whose address is published in g_touch_va.
volatile uint64_t g_touch_va = 0;
volatile uint32_t g_touch_ack = 0;
volatile int g_toucher_cpu = -1;
volatile uint64_t g_touch_sum = 0;
int64_t toucher(void* arg) {
    const auto want = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    g_toucher_cpu = static_cast<int>(settle_on(want));
    while (!g_stop) {
        const uint64_t va = __atomic_load_n(&g_touch_va, __ATOMIC_ACQUIRE);
        if (va != 0) {
            g_touch_sum = g_touch_sum + *reinterpret_cast<volatile uint64_t*>(va);
            __atomic_store_n(&g_touch_va, 0, __ATOMIC_RELAXED);
            __atomic_fetch_add(&g_touch_ack, 1, __ATOMIC_RELEASE);
        } else {
            asm volatile("pause");
        }
    }
    g_toucher_cpu = static_cast<int>(guest::cpu_now());
    return 0;
}

// One endpoint round-trip series with the server thread pinned to server_cpu.
bool endpoint_case(const char* name, guest::CapHandle client, uint32_t server_cpu) {
    g_stop = false;
    g_server_cpu = -1;
    auto srv = cap::Thread::spawn(server, reinterpret_cast<void*>(uintptr_t{server_cpu}), 64 * 1024);
    if (!srv.ok()) return false;
    if (!set_cpu_hint(srv.value().handle(), server_cpu)) return false;
    while (g_server_cpu != static_cast<int>(server_cpu))
        (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 1'000'000);
    for (uint32_t i = 0; i < 100; ++i)  // warm-up
        if (guest::raw_call(client, 0x42, 1).cqe.status != 0) return false;
    const uint32_t n = 1000;
    for (uint32_t i = 0; i < n; ++i) {
        const uint64_t t0 = rdtsc();
        guest::Raw c = guest::raw_call(client, 0x42, 1);
        g_samples[i] = rdtsc() - t0;
        if (c.cqe.status != 0) return false;
    }
    const int cpu_a = static_cast<int>(guest::cpu_now()), cpu_b = g_server_cpu;
    g_stop = true;
    (void)guest::raw_call(client, 0x42, 1);  // lets the server see g_stop
    if (!srv.value().join().ok()) return false;
    report(name, n, 1, cpu_a, cpu_b);
    return true;
}

uint32_t arg_cpus() {
    // The kernel passes "cpus=<n>" to utest modules.
    const char* a = cap::start_info().args();
    for (; *a != '\0'; ++a) {
        if (a[0] == 'c' && a[1] == 'p' && a[2] == 'u' && a[3] == 's' && a[4] == '=') {
            uint32_t v = 0;
            for (a += 5; *a >= '0' && *a <= '9'; ++a) v = v * 10 + static_cast<uint32_t>(*a - '0');
            return v;
        }
    }
    return 1;
}

}  // namespace

CAP_TEST(micro) {
    calibrate();
    cap::print("[bench] tsc %llu cycles/us\n", static_cast<unsigned long long>(g_cycles_per_us));
    const uint32_t ncpus = arg_cpus();
    cap::Ring& r = this_ring();
    // The main thread is the client side of every pair: pinned to CPU 0.
    const guest::CapHandle self = cap::start_info().cap(cap::StartCap::thread);
    CAP_REQUIRE(set_cpu_hint(self, 0));
    CAP_REQUIRE(settle_on(0) == 0);
    cap::print("[micro] os=capos env cpus=%u\n", ncpus);
    // NOP, one per enter.
    for (uint32_t i = 0; i < kMax; ++i) {
        const uint64_t t0 = rdtsc();
        CAP_REQUIRE(cap::ring_nop(r).ok());
        g_samples[i] = rdtsc() - t0;
    }
    report("ring_nop_single", kMax, 1, 0, -1);
    // Breakdown of the single NOP (not parsed by the harness): the bare SYSCALL/SYSRET path (an unknown
    // syscall number), cap_enter with nothing to do, and one NOP through the raw queue (no tag tracking).
    for (uint32_t i = 0; i < kMax; ++i) {
        const uint64_t t0 = rdtsc();
        int64_t ret;
        asm volatile("syscall"
                     : "=a"(ret)
                     : "a"(uint64_t{99}), "D"(uint64_t{0}), "S"(uint64_t{0})
                     : "rcx", "r11", "memory");
        g_samples[i] = rdtsc() - t0;
    }
    report("breakdown_syscall_bare", kMax, 1, 0, -1);
    for (uint32_t i = 0; i < kMax; ++i) {
        const uint64_t t0 = rdtsc();
        (void)capos::abi::cap_enter(0, 0);
        g_samples[i] = rdtsc() - t0;
    }
    report("breakdown_cap_enter_empty", kMax, 1, 0, -1);
    for (uint32_t i = 0; i < kMax; ++i) {
        const uint64_t t0 = rdtsc();
        capos::abi::Sqe* s = r.reserve();
        CAP_REQUIRE(s != nullptr);
        s->user_tag = 9;
        r.publish();
        (void)r.enter(1, capos::abi::kTimeoutInfinite);
        capos::abi::Cqe c;
        CAP_REQUIRE(r.pop(c));
        g_samples[i] = rdtsc() - t0;
    }
    report("breakdown_nop_raw", kMax, 1, 0, -1);
    // NOP, 32 per enter (cost per entry).
    for (uint32_t i = 0; i < 500; ++i) {
        const uint64_t t0 = rdtsc();
        for (int k = 0; k < 32; ++k) {
            capos::abi::Sqe* s = r.reserve();
            CAP_REQUIRE(s != nullptr);
            s->user_tag = 7;
        }
        r.publish();
        (void)r.enter(32, capos::abi::kTimeoutInfinite);
        capos::abi::Cqe c;
        int got = 0;
        while (r.pop(c)) ++got;
        g_samples[i] = rdtsc() - t0;
        CAP_REQUIRE(got == 32);
    }
    report("ring_nop_batched32_per_op", 500, 32, 0, -1);
    // Endpoint call/reply between two threads of this process: server on CPU 0 (same), then CPU 1 (cross).
    auto ep = guest::create_endpoint();
    CAP_REQUIRE(ep.ok());
    g_ep = ep.value();
    auto client = guest::mint(g_ep, 1);
    CAP_REQUIRE(client.ok());
    CAP_REQUIRE(endpoint_case("endpoint_rtt_same_cpu", client.value(), 0));
    if (ncpus > 1) CAP_REQUIRE(endpoint_case("endpoint_rtt_cross_cpu", client.value(), 1));
    // Thread create + join (creator on CPU 0, the new thread placed by the kernel's default placement).
    // (50: libcap keeps each thread's stack and Thread capabilities, 2 slots per thread.)
    for (uint32_t i = 0; i < 50; ++i) {
        const uint64_t t0 = rdtsc();
        auto t = cap::Thread::spawn(nothing, nullptr, 16 * 1024);
        CAP_REQUIRE(t.ok());
        CAP_REQUIRE(t.value().join().ok());
        g_samples[i] = rdtsc() - t0;
    }
    report("thread_create_join", 50, 1, 0, -1);
    // 1-page map + touch + unmap. With >1 CPU a thread pinned to CPU 1 reads the page each time, so its TLB
    // holds the entry and the unmap's shootdown must reach it.
    auto mo = cap::process_allocate(r, cap::start_info().process(), 4096);
    CAP_REQUIRE(mo.ok());
    const uint64_t va = cap::reserve_va(4096);
    g_stop = false;
    cap::Thread touch;
    if (ncpus > 1) {
        auto t = cap::Thread::spawn(toucher, reinterpret_cast<void*>(uintptr_t{1}), 16 * 1024);
        CAP_REQUIRE(t.ok());
        touch = t.value();
        CAP_REQUIRE(set_cpu_hint(touch.handle(), 1));
        while (g_toucher_cpu != 1) (void)cap::timer_sleep(r, cap::start_info().timer(), 1'000'000);
    }
    const uint32_t nmap = 500;
    for (uint32_t i = 0; i < nmap + 20; ++i) {
        const uint64_t t0 = rdtsc();
        CAP_REQUIRE(cap::process_map(r, cap::start_info().process(), mo.value(), va, 0, 4096, true, false).ok());
        *reinterpret_cast<volatile uint64_t*>(va) = i;
        if (ncpus > 1) {
            const uint32_t before = __atomic_load_n(&g_touch_ack, __ATOMIC_RELAXED);
            __atomic_store_n(&g_touch_va, va, __ATOMIC_RELEASE);
            while (__atomic_load_n(&g_touch_ack, __ATOMIC_ACQUIRE) == before) asm volatile("pause");
        }
        CAP_REQUIRE(cap::process_unmap(r, cap::start_info().process(), va, 4096).ok());
        if (i >= 20) g_samples[i - 20] = rdtsc() - t0;
    }
    g_stop = true;
    int toucher_cpu = -1;
    if (ncpus > 1) {
        CAP_CHECK(touch.join().ok());
        toucher_cpu = g_toucher_cpu;
    }
    report("map_touch_unmap_1page", nmap, 1, static_cast<int>(guest::cpu_now()), toucher_cpu);
}

CAP_TEST_MAIN("bench")
