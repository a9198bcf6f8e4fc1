// utest_placement.cpp: in-guest tests of user-space placement (boot module utest-placement).
//
// The kernel starts this program with utest=placement and hands it
// "schedctl" (SchedulerControl) and "spawner"; it plays the supervisor:
// spawns the policy servers (granting them schedctl) and the workloads, and
// checks fairness, fallback after a server dies / hangs / sends garbage, and
// hot swap. The kernel's own lines ([placement] fallback / handover / stats)
// are checked by the QEMU test's --expect patterns.
#include "../../../test/guest/guest.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"

namespace {

using guest::CapHandle;

using SC = cap::schema::SchedulerControl;
using PlacementIface = cap::schema::Placement;

CapHandle schedctl() { return cap::start_info().named("schedctl"); }
uint64_t now() {
    auto t = cap::timer_now(cap::this_ring(), cap::start_info().timer());
    return t.ok() ? t.value() : 0;
}
void sleep_ms(uint64_t ms) { (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), ms * 1'000'000); }

struct Status {
    uint64_t mode = 0, epoch = 0, fallbacks = 0;
};
Status status() {
    alignas(8) uint8_t res[64];
    guest::Raw r = guest::raw_call(schedctl(), SC::kInterfaceId, SC::Methods::status, nullptr, 0, res, sizeof res);
    Status s;
    if (r.cqe.status != 0) return s;
    cap::capnp::FlatMessageReader<1> m;
    if (m.init_flat(res, r.cqe.result_len) != cap::capnp::Error::Ok || m.validate() != cap::capnp::Error::Ok) return s;
    const auto st = m.root<SC::StatusResults>();
    s.mode = static_cast<uint64_t>(st.mode());
    s.epoch = st.epoch();
    s.fallbacks = st.fallbacks();
    return s;
}

void kernel_stats() { (void)guest::raw_call(schedctl(), SC::kInterfaceId, SC::Methods::stats); }

// Returns the call's status (0: dumped).
int32_t trace_dump(bool enable_after) {
    alignas(8) uint8_t seg[64];
    cap::capnp::MessageBuilder b(seg, sizeof seg);
    b.init_root<SC::TraceDumpParams>().set_enable(enable_after);
    alignas(8) uint8_t msg[64];
    size_t len = 0;
    if (b.write_flat(msg, sizeof msg, &len) != cap::capnp::Error::Ok)
        return static_cast<int32_t>(capos::abi::Status::internal);
    return guest::raw_call(schedctl(), SC::kInterfaceId, SC::Methods::trace_dump, msg, static_cast<uint32_t>(len))
        .cqe.status;
}

// Waits until a server attached with an epoch above `after`; false after 3 s.
bool wait_attached(uint64_t after) {
    uint64_t until = now() + 3'000'000'000ull;
    while (now() < until) {
        Status s = status();
        if (s.mode == 1 && s.epoch > after) return true;
        sleep_ms(4);
    }
    return false;
}

cap::Result<guest::Spawned> spawn_server(const char* module, const char* args,
                                         CapHandle handover = capos::abi::kNullCap) {
    const char* names[2] = {"schedctl", "handover"};
    CapHandle grants[2] = {schedctl(), handover};
    return guest::spawn_std(module, args, names, grants, handover != capos::abi::kNullCap ? 2 : 1);
}

cap::Result<guest::Spawned> spawn_worker(const char* args) {
    return guest::spawn_std("placement-worker", args, nullptr, nullptr, 0);
}

// spawn_server, then waits until that server attached (wait_attached):
// timeout (and a line saying so) if it did not attach.
cap::Result<guest::Spawned> spawn_attached(const char* module, const char* args,
                                           CapHandle handover = capos::abi::kNullCap) {
    const uint64_t e0 = status().epoch;
    auto srv = spawn_server(module, args, handover);
    if (srv.ok() && !wait_attached(e0)) {
        cap::print("[ptest] %s (%s) did not attach\n", module, args);
        return capos::abi::Status::timeout;
    }
    return srv;
}

void stop(const guest::Spawned& s) {
    (void)guest::kill_process(s.handle);
    (void)guest::wait_process(s.handle);
    CapHandle h[1] = {s.handle};
    (void)guest::drop_caps(h, 1);
}

// Waits (up to 1 s) until no server serves (none attached, or demoted):
// traceDump is refused to this program while one does, and right after
// stop() the kernel may not have demoted the dead server yet (it does so
// after the process's waiters are told it ended).
bool wait_not_serving() {
    uint64_t until = now() + 1'000'000'000ull;
    while (now() < until) {
        if (status().mode != 1) return true;
        sleep_ms(1);
    }
    return false;
}

int64_t wait_code(const guest::Spawned& s) {
    auto e = guest::wait_process(s.handle);
    CapHandle h[1] = {s.handle};
    (void)guest::drop_caps(h, 1);
    return e.ok() ? e.value().code : -1000;
}

// A run whose trace the host checks (test/qemu/placement/check_run.py):
// recording on, `module` serving with `args` while body() runs, then the
// server stopped and recording off. Takes the test's context so the checks
// report into it; false (recording left on) if the server did not attach.
template <class Body>
bool traced(::cap::test::Context& cap_test_ctx_, const char* module, const char* args, Body&& body) {
    CAP_CHECK(wait_not_serving());  // traceDump is refused while a server serves
    trace_dump(true);               // clears and enables
    auto srv = spawn_attached(module, args);
    CAP_CHECK(srv.ok());
    if (!srv.ok()) return false;
    body();
    stop(srv.value());
    CAP_CHECK(wait_not_serving());
    trace_dump(false);
    return true;
}

// Spins n workers with the given weights until a shared end time; returns units.
bool run_spinners(const uint32_t* weights, int n, uint64_t ms, int64_t* units) {
    guest::Spawned w[8];
    // Everyone starts and stops at the same instants (spawning takes a while under TCG).
    uint64_t start = now() + 300'000'000ull * static_cast<uint64_t>(n);
    uint64_t until = start + ms * 1'000'000ull;
    for (int i = 0; i < n; ++i) {
        char args[96];
        cap::snprint(args, sizeof args, "weight=%u start=%llu until=%llu", weights[i],
                     static_cast<unsigned long long>(start), static_cast<unsigned long long>(until));
        auto s = spawn_worker(args);
        if (!s.ok()) return false;
        w[i] = s.value();
    }
    for (int i = 0; i < n; ++i) units[i] = wait_code(w[i]);
    return true;
}

}  // namespace

// Deadlines: the server's default where the case is not about deadlines
// (servers/placement/common/accel.h: under TCG derived from measured
// latency, docs/placement.md "The deadline"; until 2026-12 these cases asked
// for 1 s), an explicit 100 ms where misses are the point.
CAP_TEST(fairness_weights_1_3_on_one_cpu) {
    const uint32_t weights[2] = {1, 3};
    int64_t u[2] = {};
    bool ran = false;  // this run's trace is checked on the host (test/qemu/placement)
    CAP_REQUIRE(
        traced(cap_test_ctx_, "placement-fair-share", "cpus=1", [&] { ran = run_spinners(weights, 2, 2000, u); }));
    CAP_REQUIRE(ran);
    CAP_REQUIRE(u[0] > 0 && u[1] > 0);
    int64_t milli = u[1] * 1000 / u[0];
    // Work units measure what the vCPU delivered, host noise included (one
    // -smp 4 run on 2 host cores measured 6.5 with CPU time exactly 1:3), so
    // here the check is only "clearly weighted", which an unweighted run (about
    // 1.0) is not, and the line says so. The 3.000 +-10% bound is on CPU time,
    // checked on the host from this run's trace (test/qemu/placement/check_run.py,
    // `placement-tool shares`, TSC between switch-ins).
    constexpr int64_t kLo = 1800, kHi = 9000;
    cap::print(
        "[ptest] fairness 1:3 on one cpu: units %lld %lld ratio=%lld.%03lld (work units; checked here: "
        "%lld.%03lld to %lld.%03lld; CPU time 3.000 +-10%% checked on the host from the trace)\n",
        static_cast<long long>(u[0]), static_cast<long long>(u[1]), static_cast<long long>(milli / 1000),
        static_cast<long long>(milli % 1000), static_cast<long long>(kLo / 1000), static_cast<long long>(kLo % 1000),
        static_cast<long long>(kHi / 1000), static_cast<long long>(kHi % 1000));
    CAP_CHECK(milli >= kLo && milli <= kHi);
}

CAP_TEST(fairness_four_equal_threads_on_two_cpus) {
    const uint32_t weights[4] = {1, 1, 1, 1};
    int64_t u[4] = {};
    bool ran = false;  // long: host noise averages out
    CAP_REQUIRE(
        traced(cap_test_ctx_, "placement-fair-share", "cpus=2", [&] { ran = run_spinners(weights, 4, 8000, u); }));
    CAP_REQUIRE(ran);
    int64_t mn = u[0], mx = u[0];
    for (int64_t x : u) {
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
    }
    CAP_REQUIRE(mx > 0);
    int64_t spread = (mx - mn) * 1000 / mx;
    cap::print("[ptest] fairness 4 equal threads on 2 cpus: units %lld %lld %lld %lld spread=%lld.%lld%%\n",
               static_cast<long long>(u[0]), static_cast<long long>(u[1]), static_cast<long long>(u[2]),
               static_cast<long long>(u[3]), static_cast<long long>(spread / 10), static_cast<long long>(spread % 10));
    // As above: the 10% bound is checked on the host from the trace (CPU time);
    // work units on different vCPUs also carry the host's noise.
    CAP_CHECK(spread < 500);
}

CAP_TEST(server_killed_mid_workload) {
    auto srv = spawn_attached("placement-fair-share", "deadline_us=100000");
    CAP_REQUIRE(srv.ok());
    auto w = spawn_worker("primes=1 threads=4 sleep_ms=1");
    CAP_REQUIRE(w.ok());
    sleep_ms(300);
    stop(srv.value());
    CAP_CHECK(status().mode != 1);
    CAP_CHECK(wait_code(w.value()) == 0);  // verified prime count
}

CAP_TEST(server_hangs) {
    auto srv = spawn_attached("placement-fair-share", "deadline_us=100000 fail=hang fail_after=40");
    CAP_REQUIRE(srv.ok());
    auto w = spawn_worker("primes=1 threads=4 sleep_ms=1");
    CAP_REQUIRE(w.ok());
    CAP_CHECK(wait_code(w.value()) == 0);
    CAP_CHECK(status().mode == 2);  // demoted: fallback
    stop(srv.value());
}

CAP_TEST(server_sends_garbage) {
    auto srv = spawn_attached("placement-fair-share", "deadline_us=100000 fail=garbage fail_after=40");
    CAP_REQUIRE(srv.ok());
    auto w = spawn_worker("primes=1 threads=4 sleep_ms=1");
    CAP_REQUIRE(w.ok());
    CAP_CHECK(wait_code(w.value()) == 0);
    Status s = status();
    CAP_CHECK(s.mode != 1);
    CAP_CHECK(wait_code(srv.value()) == 4);  // the server saw `cancelled` and quit
}

// Hot swap through Placement.exportState on the running server's endpoint:
// each server serves a root endpoint ("placement_ep"); its successor gets a
// client of it ("predecessor"), fetches the snapshot with a capability call,
// imports it and attaches; the old one sees the new epoch and exits.
CAP_TEST(hot_swap_fair_share_round_robin_fair_share) {
    auto ep1 = guest::create_endpoint();
    auto ep2 = guest::create_endpoint();
    CAP_REQUIRE(ep1.ok() && ep2.ok());
    auto cl1 = guest::mint(ep1.value(), 1);
    auto cl2 = guest::mint(ep2.value(), 2);
    CAP_REQUIRE(cl1.ok() && cl2.ok());
    uint64_t e0 = status().epoch;
    const char* na[2] = {"schedctl", "placement_ep"};
    CapHandle ga[2] = {schedctl(), ep1.value()};
    auto a = guest::spawn_std("placement-fair-share", "", na, ga, 2);
    CAP_REQUIRE(a.ok());
    CAP_REQUIRE(wait_attached(e0));
    {
        // Placement.describe on the running server's endpoint: (name, version).
        alignas(8) uint8_t seg[64];
        cap::capnp::MessageBuilder b(seg, sizeof seg);
        (void)b.init_root<PlacementIface::DescribeParams>();  // no parameters: an empty struct
        alignas(8) uint8_t params[64];
        size_t plen = 0;
        CAP_REQUIRE(b.write_flat(params, sizeof params, &plen) == cap::capnp::Error::Ok);
        alignas(8) uint8_t res[128];
        guest::Raw d = guest::raw_call(cl1.value(), PlacementIface::kInterfaceId, PlacementIface::Methods::describe,
                                       params, static_cast<uint32_t>(plen), res, sizeof res);
        CAP_REQUIRE(d.cqe.status == 0);
        cap::capnp::FlatMessageReader<1> m;
        CAP_REQUIRE(m.init_flat(res, d.cqe.result_len) == cap::capnp::Error::Ok);
        CAP_REQUIRE(m.validate() == cap::capnp::Error::Ok);
        const auto desc = m.root<PlacementIface::DescribeResults>();
        const auto name = desc.name();
        CAP_CHECK(name.size() == 10 && __builtin_memcmp(name.data(), "fair-share", 10) == 0);
        CAP_CHECK(desc.version() == 1);
    }
    auto w = spawn_worker("primes=1 threads=4 sleep_ms=2");
    CAP_REQUIRE(w.ok());
    sleep_ms(200);
    uint64_t e1 = status().epoch;
    const char* nb[3] = {"schedctl", "predecessor", "placement_ep"};
    CapHandle gb[3] = {schedctl(), cl1.value(), ep2.value()};
    // cpus=1: a successor places on the CPUs it was told, not its
    // predecessor's count (check_run.py: c reports b's snapshot with ncpus=1).
    auto b = guest::spawn_std("placement-round-robin", "takeover=1 cpus=1", nb, gb, 3);
    CAP_REQUIRE(b.ok());
    CAP_REQUIRE(wait_attached(e1));
    CAP_CHECK(wait_code(a.value()) == 0);  // the old one handed over and left
    sleep_ms(200);
    uint64_t e2 = status().epoch;
    const char* nc[2] = {"schedctl", "predecessor"};
    CapHandle gc[2] = {schedctl(), cl2.value()};
    auto c = guest::spawn_std("placement-fair-share", "takeover=1", nc, gc, 2);
    CAP_REQUIRE(c.ok());
    CAP_REQUIRE(wait_attached(e2));
    CAP_CHECK(wait_code(b.value()) == 0);
    CAP_CHECK(wait_code(w.value()) == 0);  // every thread finished, result verified
    CAP_CHECK(status().mode == 1);         // the last one still places
    kernel_stats();
    stop(c.value());
    CapHandle eps[4] = {ep1.value(), ep2.value(), cl1.value(), cl2.value()};
    (void)guest::drop_caps(eps, 4);
}

// The same hand-over through the shared page (the protocol for supervisors
// that pass a MemoryObject instead of an endpoint).
CAP_TEST(hot_swap_through_the_handover_page) {
    auto mo = cap::process_allocate(cap::this_ring(), cap::start_info().process(), 64 * 1024);
    CAP_REQUIRE(mo.ok());
    auto a = spawn_attached("placement-fair-share", "", mo.value());
    CAP_REQUIRE(a.ok());
    auto w = spawn_worker("primes=1 threads=4 sleep_ms=2");
    CAP_REQUIRE(w.ok());
    sleep_ms(200);
    uint64_t e1 = status().epoch;
    auto b = spawn_server("placement-round-robin", "takeover=1", mo.value());
    CAP_REQUIRE(b.ok());
    CAP_REQUIRE(wait_attached(e1));
    CAP_CHECK(wait_code(a.value()) == 0);
    CAP_CHECK(wait_code(w.value()) == 0);
    CAP_CHECK(status().mode == 1);
    stop(b.value());
}

// A bad policy argument stops the server before it attaches, with the
// reason on the console (check_run.py expects the line).
CAP_TEST(bad_policy_argument_is_refused_before_attaching) {
    uint64_t e0 = status().epoch;
    auto a = spawn_server("placement-fair-share", "slice_ms=0");
    CAP_REQUIRE(a.ok());
    CAP_CHECK(wait_code(a.value()) == 6);
    auto b = spawn_server("placement-pinning", "quantum=3");
    CAP_REQUIRE(b.ok());
    CAP_CHECK(wait_code(b.value()) == 6);
    CAP_CHECK(status().epoch == e0);  // neither attached
}

CAP_TEST(refused_import_keeps_the_old_server) {
    auto mo = cap::process_allocate(cap::this_ring(), cap::start_info().process(), 64 * 1024);
    CAP_REQUIRE(mo.ok());
    auto a = spawn_attached("placement-fair-share", "", mo.value());
    CAP_REQUIRE(a.ok());
    uint64_t e1 = status().epoch;
    // A successor without the handover memory cannot import: it must give up
    // without attaching, and the old one keeps placing.
    auto b = spawn_server("placement-round-robin", "takeover=1");
    CAP_REQUIRE(b.ok());
    CAP_CHECK(wait_code(b.value()) == 3);
    Status s = status();
    CAP_CHECK(s.mode == 1 && s.epoch == e1);
    stop(a.value());
}

// The primes workload under `module` on two CPUs, traced.
bool traced_primes(::cap::test::Context& cap_test_ctx_, const char* module) {
    return traced(cap_test_ctx_, module, "cpus=2", [&] {
        auto w = spawn_worker("primes=1 threads=3 sleep_ms=2");
        CAP_REQUIRE(w.ok());
        CAP_CHECK(wait_code(w.value()) == 0);
    });
}

CAP_TEST(trace_of_a_fair_share_run) {
    if (traced_primes(cap_test_ctx_, "placement-fair-share")) kernel_stats();
}

CAP_TEST(trace_of_a_round_robin_run) { (void)traced_primes(cap_test_ctx_, "placement-round-robin"); }

// The weights SchedulerControl.snapshot reports for the threads of process
// `pid` (the run-queue weight of each); returns how many it found.
uint32_t weights_of(uint64_t pid, uint32_t* out, uint32_t max) {
    alignas(8) static uint8_t res[8192];
    guest::Raw r = guest::raw_call(schedctl(), SC::kInterfaceId, SC::Methods::snapshot, nullptr, 0, res, sizeof res);
    if (r.cqe.status != 0) return 0;
    cap::capnp::FlatMessageReader<4> m;
    if (m.init_flat(res, r.cqe.result_len) != cap::capnp::Error::Ok || m.validate() != cap::capnp::Error::Ok) return 0;
    const auto threads = m.root<SC::SnapshotResults>().snapshot().threads();
    uint32_t n = 0;
    for (uint32_t i = 0; i < threads.size(); ++i)
        if (threads[i].process_id() == pid && n < max) out[n++] = threads[i].weight();
    return n;
}

// ProcessSpawner.spawn's placementWeight is the weight of the child's
// threads (0: the kernel's default 1024); above 10000 is refused.
CAP_TEST(spawn_placement_weight_is_the_weight_of_the_childs_threads) {
    const CapHandle spawner = cap::start_info().named("spawner");
    CAP_REQUIRE(spawner != 0);
    const cap::StartInfo& info = cap::start_info();
    const cap::SpawnGrant std_grants[3] = {{"console", info.console()}, {"park", info.park()}, {"timer", info.timer()}};
    char args[64];
    const uint32_t weights[2] = {300, 0};
    for (uint32_t k = 0; k < 2; ++k) {
        // Spins 300 ms: alive while the snapshot is taken.
        (void)cap::snprint(args, sizeof args, "mode=spin until=%llu",
                           static_cast<unsigned long long>(now() + 300'000'000ull));
        auto w = cap::spawn(spawner, "weighted", "placement-worker", args, std_grants, 3, nullptr, weights[k]);
        CAP_REQUIRE(w.ok());
        sleep_ms(20);
        uint32_t got[4] = {};
        uint32_t n = weights_of(w.value().pid, got, 4);
        CAP_CHECK(n == 1);
        CAP_CHECK(got[0] == (weights[k] != 0 ? weights[k] : 1024u));
        CAP_CHECK(guest::wait_process(w.value().handle).ok());
        CapHandle h[1] = {w.value().handle};
        (void)guest::drop_caps(h, 1);
    }
    auto big = cap::spawn(spawner, "too-heavy", "placement-worker", "mode=spin until=0", std_grants, 3, nullptr, 10001);
    CAP_CHECK(!big.ok() && big.status() == capos::abi::Status::invalid_argument);
}

// setCpuWeights was removed (docs/placement.md, "CPU weights"): refused.
// While a server serves, traceDump is the server's alone (issue 14 point
// 6): this program is not the server, so it is refused (and the trace is
// neither cleared nor switched); once none serves it may dump again.
CAP_TEST(trace_dump_is_refused_to_a_non_server) {
    CAP_REQUIRE(wait_not_serving());
    CAP_CHECK(trace_dump(false) == 0);
    auto srv = spawn_attached("placement-round-robin", "");
    CAP_REQUIRE(srv.ok());
    CAP_CHECK(trace_dump(false) == static_cast<int32_t>(capos::abi::Status::stale_slot));
    stop(srv.value());
    CAP_REQUIRE(wait_not_serving());
    CAP_CHECK(trace_dump(false) == 0);
}

CAP_TEST(set_cpu_weights_is_refused) {
    guest::Raw r = guest::raw_call(schedctl(), SC::kInterfaceId, SC::Methods::set_cpu_weights);
    CAP_CHECK(r.cqe.status == static_cast<int32_t>(capos::abi::Status::bad_method));
}

CAP_TEST_MAIN("placement")
