// stest_kill.cpp - servers killed at chosen points (issue 18), driven from inside the guest.
//
// mode=servers (manifest kill-servers; capabilities "bootSpawner" = the
// kernel's ProcessSpawner with all rights, console, timer, park):
//   Spawner: for each crash point of the spawner server (kCrashPoints in
//   servers/spawner/spawner.cpp), killed by a fault and by stalling there
//   and being killed through its ProcessHandle, this program starts a
//   spawner instance itself (answering its BootRegistry calls as init
//   would), asks it for one spawn and checks that the spawn completes with
//   an error (peer_dead, within 5 s: no hang), that the spawner ended with
//   the expected reason, and that free frames, live processes and this
//   program's capability slots come back to what they were before that
//   instance started. Then a misspelt point is refused and a fresh spawner
//   serves a spawn.
//   Coordinator: the benchmark coordinator (benchmarks/capos) started with
//   crash_at=after_start (process workload, workers running), mid_run
//   (thread workload, its hashing threads running; fault, and stall + kill):
//   its end is seen through its ProcessHandle with the expected reason, the
//   orphaned workers finish and everything comes back; then a clean run
//   exits 0 with both workloads verified.
//   Prints one [kill-test] line per case and [kill-check] lines, then
//   `[kill-test] done: <n> cases, <f> failed`.
// mode=child: crash_at=start faults at once (an init child dying during start-up).
// mode=exporter: exports "token" to init; crash_at=before_export|before_ready.
// mode=victim: exports its own Process ("self") and idles.
// mode=killer: kills "victim" through that capability, waits for its end,
//   then says ready and idles (init is still starting entries meanwhile).
#include "capos/capnp/capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "libcap/calls.h"
#include "libcap/crash_point.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "srv.h"

namespace {

using capos::abi::CapHandle;
using capos::abi::Cqe;
using capos::abi::Status;

CapHandle g_boot = 0, g_ep = 0;
uint64_t g_badge = 0;
uint32_t g_cases = 0, g_failed = 0;

uint64_t now_ms() {
    auto t = srv::now_ns();
    return t.ok() ? t.value() / 1'000'000 : 0;
}
void sleep_ms(uint64_t ms) { (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), ms * 1'000'000); }

[[noreturn]] void idle() {
    for (;;) sleep_ms(3'600'000);
}

bool check(bool ok, const char* what) {
    if (!ok) {
        ++g_failed;
        cap::print("[kill-test] FAILED: %s\n", what);
    }
    return ok;
}

struct Snap {
    uint64_t frames = 0, procs = 0, slots = 0, heap = 0, mapped = 0;
};
bool snap(Snap& s) {
    auto k = srv::stats(g_boot);
    if (!k.ok()) return false;
    s = Snap{k.value().free_frames, k.value().processes, k.value().slots_used, k.value().heap_in_use,
             k.value().heap_mapped};
    return true;
}
// The kernel heap keeps the pages it grows by (a new high-water mark under a
// dying server's teardown, measured once per peak, then reused): frames it
// took are not lost while the bytes in use are the same. So free frames are
// counted together with the heap's mapped pages, and heap bytes in use must
// be identical.
uint64_t frames_or_heap(const Snap& s) { return s.frames + s.mapped / 4096; }
bool same(const Snap& a, const Snap& b) {
    return frames_or_heap(a) == frames_or_heap(b) && a.heap == b.heap && a.procs == b.procs && a.slots == b.slots;
}

// Reaping is asynchronous: a baseline once the counts stop moving.
Snap baseline() {
    Snap a{}, b{};
    (void)snap(a);
    for (int i = 0; i < 50; ++i) {
        sleep_ms(20);
        (void)snap(b);
        if (same(a, b)) break;
        a = b;
    }
    return a;
}

// Waits (5 s at most) for the counts to come back to `base`, then says so.
void leak_check(const char* what, const Snap& base) {
    Snap after{};
    bool ok = false;
    for (int i = 0; i < 250 && !ok; ++i) {
        ok = snap(after) && same(base, after);
        if (!ok) sleep_ms(20);
    }
    cap::print(
        "[kill-check] %s free_frames+kheap_pages before=%llu after=%llu (free_frames %llu -> %llu) processes before=%llu after=%llu "
        "slots before=%llu after=%llu kheap_in_use before=%llu after=%llu kheap_mapped before=%llu after=%llu "
        "-> %s\n",
        what, static_cast<unsigned long long>(frames_or_heap(base)),
        static_cast<unsigned long long>(frames_or_heap(after)), static_cast<unsigned long long>(base.frames),
        static_cast<unsigned long long>(after.frames), static_cast<unsigned long long>(base.procs),
        static_cast<unsigned long long>(after.procs), static_cast<unsigned long long>(base.slots),
        static_cast<unsigned long long>(after.slots), static_cast<unsigned long long>(base.heap),
        static_cast<unsigned long long>(after.heap), static_cast<unsigned long long>(base.mapped),
        static_cast<unsigned long long>(after.mapped), ok ? "same" : "DIFFERENT");
    check(ok, "resources back to the baseline");
}

// Waits up to `ms` for `tag`; false if it has not completed.
bool wait_tag(uint64_t tag, uint64_t ms, Cqe& out) {
    cap::Ring& r = cap::this_ring();
    const uint64_t end = now_ms() + ms;
    for (;;) {
        if (r.poll(tag, out)) return true;
        const uint64_t t = now_ms();
        if (t >= end) return false;
        (void)r.enter(1, (end - t) * 1'000'000);
        r.reap();
    }
}

// ---- the spawner server -----------------------------------------------------------

struct Server {
    CapHandle handle = 0;  // ProcessHandle
    uint64_t pid = 0;
    CapHandle client = 0;  // its exported "spawner"
};

// Starts a spawner instance with `args` and takes its export, as init does.
bool start_spawner(const char* args, Server& s, bool registers) {
    auto reg = srv::mint(g_ep, ++g_badge);
    if (!check(reg.ok(), "mint a registry client")) return false;
    const srv::Grant g[3] = {{"bootSpawner", g_boot, 0xffffffffu},
                             {"console", cap::start_info().console(), 0xffffffffu},
                             {"init", reg.value(), 0xffffffffu}};
    srv::Quotas q;
    q.frames = 4096;
    q.cap_slots = 256;
    q.threads = 4;
    auto sp = srv::spawn(g_boot, "spawner", "spawner", args, g, 3, q);
    CapHandle r = reg.value();
    (void)srv::drop_caps(&r, 1);
    if (!check(sp.ok(), "start a spawner instance")) return false;
    s.handle = sp.value().handle;
    s.pid = sp.value().pid;
    if (!registers) return true;
    alignas(8) static uint8_t buf[4096];
    for (;;) {
        auto in = srv::receive(g_ep, 5'000'000'000ull, buf, sizeof buf);
        if (!check(in.ok() && !in.value().timed_out, "the spawner instance registers")) return false;
        srv::Incoming& m = in.value();
        for (uint32_t i = 0; i < m.cap_count; ++i)
            if (m.caps[i] != 0 && m.method == srv::kRegExport && s.client == 0) {
                s.client = m.caps[i];
                m.caps[i] = 0;
            }
        for (uint32_t i = 0; i < m.cap_count; ++i)
            if (m.caps[i] != 0) (void)srv::drop_caps(&m.caps[i], 1);
        (void)srv::reply(g_ep, m.call_id, Status::ok, nullptr, 0, nullptr, 0);
        if (m.method == srv::kRegReady) return check(s.client != 0, "the spawner exported its capability");
    }
}

// One ProcessSpawner.spawn(spawn-child <args>) in flight; `grant`, if not
// 0, travels with the call as the child's "timer".
struct Request {
    alignas(8) uint8_t params[512];
    alignas(8) uint8_t res[128];
    CapHandle caps[2];
    uint64_t tag = 0;
};
Request g_req[2];
bool spawn_async(CapHandle spawner, const char* args, Request& q, CapHandle grant = 0) {
    const srv::Grant g{"timer", 0, 0xffffffffu};  // cap index 0 of the call
    const uint32_t n = srv::encode_spawn(q.params, sizeof q.params, "kill-child", 10, "spawn-child", 11, args,
                                         grant != 0 ? &g : nullptr, grant != 0 ? 1 : 0, srv::Quotas{}, 0);
    q.caps[0] = grant;
    cap::CallArgs a;
    a.cap = spawner;
    a.method = cap::iface::Method{srv::kSpawner, srv::kSpawn};
    a.params = q.params;
    a.params_len = n;
    a.result = q.res;
    a.result_max = sizeof q.res;
    a.caps = q.caps;
    a.caps_in = grant != 0 ? 1 : 0;
    a.caps_out_max = 1;
    auto t = cap::this_ring().start(cap::make_sqe(a));
    if (!t.ok()) return false;
    q.tag = t.value();
    return true;
}

void spawner_case(const char* point, bool stall) {
    ++g_cases;
    const Snap base = baseline();
    char args[160];
    cap::snprint(args, sizeof args, "children=4 child_frames=1024 child_slots=32 crash_at=%s%s", point,
                 stall ? " crash_how=stall" : "");
    Server s;
    if (!start_spawner(args, s, true)) return;
    const uint64_t t0 = now_ms();
    // The child sleeps until killed: a spawner dying after the kernel created
    // it (after_create, before_reply) leaves it with no holder, and the
    // kernel must end it (its last outside handle went with the spawner's
    // table) for the leak check below to see its frames come back.
    if (!check(spawn_async(s.client, "sleep", g_req[0], cap::start_info().timer()), "submit the spawn")) return;
    Cqe c{}, c2{};
    bool done = false, early = false, done2 = true;
    if (stall) {
        // The server stalls at the point and never answers; a reply here
        // would mean the point was not reached.
        early = done = wait_tag(g_req[0].tag, 300, c);
        check(!early, "the stalled spawner has not answered");
        // A second request, carrying a capability, waits in the endpoint's
        // queue behind the stalled one when the server dies.
        done2 = false;
        check(spawn_async(s.client, "sleep", g_req[1], cap::start_info().timer()), "queue a second spawn");
        check(srv::kill_process(s.handle).ok(), "kill the stalled spawner");
    }
    if (!done) done = wait_tag(g_req[0].tag, 5000, c);
    const uint64_t ms = now_ms() - t0;
    if (!done) cap::this_ring().abandon(g_req[0].tag);
    if (stall) {
        done2 = wait_tag(g_req[1].tag, 5000, c2);
        if (!done2) cap::this_ring().abandon(g_req[1].tag);
        cap::print("[kill-test] spawner point=%s how=stall+kill: queued spawn answered %s\n", point,
                   done2 ? cap::status_name(static_cast<Status>(c2.status)) : "NOTHING (hang)");
        check(done2 && c2.status == static_cast<int32_t>(Status::peer_dead), "the queued spawn gets peer_dead");
    }
    auto x = srv::wait_process(s.handle);
    const uint16_t want = stall ? 1 : 2;  // killed : faulted
    cap::print(
        "[kill-test] spawner point=%s how=%s: spawn answered %s after %llu ms; spawner %llu ended: code=%lld "
        "reason=%s\n",
        point, stall ? "stall+kill" : "fault",
        done ? cap::status_name(static_cast<Status>(c.status)) : "NOTHING (hang)", static_cast<unsigned long long>(ms),
        static_cast<unsigned long long>(s.pid), x.ok() ? static_cast<long long>(x.value().code) : 0LL,
        x.ok() ? srv::reason_name(x.value().reason) : "?");
    check(done && c.status == static_cast<int32_t>(Status::peer_dead), "the spawn gets peer_dead");
    check(x.ok() && x.value().reason == want, "the spawner ended as expected");
    CapHandle drop[2] = {s.handle, s.client};
    (void)srv::drop_caps(drop, 2);
    char what[64];
    cap::snprint(what, sizeof what, "spawner point=%s how=%s", point, stall ? "stall+kill" : "fault");
    leak_check(what, base);
}

void spawner_cases() {
    static const char* const points[] = {"after_request", "after_checks", "after_create", "before_reply"};
    for (const char* p : points) spawner_case(p, false);
    for (const char* p : points) spawner_case(p, true);

    // A misspelt point is refused at start: the instance exits without serving.
    ++g_cases;
    {
        const Snap base = baseline();
        Server s;
        if (start_spawner("crash_at=after_reqest", s, false)) {
            auto x = srv::wait_process(s.handle);
            cap::print("[kill-test] spawner crash_at=after_reqest: ended code=%lld reason=%s\n",
                       x.ok() ? static_cast<long long>(x.value().code) : 0LL,
                       x.ok() ? srv::reason_name(x.value().reason) : "?");
            check(x.ok() && x.value().reason == 0 && x.value().code == 7, "an unknown point is refused (exit 7)");
            (void)srv::drop_caps(&s.handle, 1);
            leak_check("spawner unknown point", base);
        }
    }

    // After all that, a fresh spawner serves a spawn.
    ++g_cases;
    const Snap base = baseline();
    Server s;
    if (!start_spawner("children=4 child_frames=1024 child_slots=32", s, true)) return;
    auto sp = srv::spawn(s.client, "kill-child", "spawn-child", "exit=5", nullptr, 0, srv::Quotas{});
    int64_t code = -1;
    if (check(sp.ok(), "the fresh spawner spawns")) {
        auto w = srv::wait_process(sp.value().handle);
        code = w.ok() ? w.value().code : -1;
        (void)srv::drop_caps(&sp.value().handle, 1);
    }
    cap::print("[kill-test] fresh spawner serves: child exited code=%lld\n", static_cast<long long>(code));
    check(code == 5, "the fresh spawner's child exits 5");
    check(srv::kill_process(s.handle).ok(), "kill the fresh spawner");
    (void)srv::wait_process(s.handle);
    CapHandle drop[2] = {s.handle, s.client};
    (void)srv::drop_caps(drop, 2);
    leak_check("fresh spawner", base);
}

// ---- the benchmark coordinator -------------------------------------------------------

// Runs bench-coordinator with `args`; with `stall_ms`, kills it that long
// after its start (it stalls at its crash point meanwhile). Expects reason
// `want` (0 exited, 1 killed, 2 faulted) and, for an exit, `code`. The
// coordinator's "spawner" is the kernel's: this program plays init and runs
// no spawner server for it (the ProcessSpawner interface is the same; the
// shipped manifests give it the server's).
void coord_case(const char* label, const char* args, uint64_t stall_ms, uint16_t want, int64_t code = 0) {
    ++g_cases;
    const Snap base = baseline();
    const cap::StartInfo& info = cap::start_info();
    const srv::Grant g[4] = {{"spawner", g_boot, 0xffffffffu},
                             {"console", info.console(), 0xffffffffu},
                             {"park", info.park(), 0xffffffffu},
                             {"timer", info.timer(), 0xffffffffu}};
    srv::Quotas q;
    q.frames = 4096;
    q.cap_slots = 256;
    q.threads = 16;
    auto sp = srv::spawn(g_boot, "coordinator", "bench-coordinator", args, g, 4, q);
    if (!check(sp.ok(), "start the coordinator")) return;
    const uint64_t t0 = now_ms();
    if (stall_ms != 0) {
        sleep_ms(stall_ms);
        cap::print("[kill-test] killing coordinator %llu (%s)\n", static_cast<unsigned long long>(sp.value().pid),
                   label);
        check(srv::kill_process(sp.value().handle).ok(), "kill the coordinator");
    }
    auto x = srv::wait_process(sp.value().handle);
    cap::print("[kill-test] coordinator %s: ended after %llu ms: code=%lld reason=%s\n", label,
               static_cast<unsigned long long>(now_ms() - t0), x.ok() ? static_cast<long long>(x.value().code) : 0LL,
               x.ok() ? srv::reason_name(x.value().reason) : "?");
    check(x.ok() && x.value().reason == want && (want != 0 || x.value().code == code),
          "the coordinator ended as expected");
    (void)srv::drop_caps(&sp.value().handle, 1);
    char what[64];
    cap::snprint(what, sizeof what, "coordinator %s", label);
    leak_check(what, base);
}

void coord_cases() {
    coord_case("after_start/fault", "case=process hi=300000 crash_at=after_start", 0, 2);
    coord_case("mid_run/fault", "case=thread blocks=8192 crash_at=mid_run", 0, 2);
    coord_case("mid_run/stall+kill", "case=thread blocks=8192 crash_at=mid_run crash_how=stall", 2000, 1);
    coord_case("unknown point", "case=thread blocks=8192 crash_at=midrun", 0, 0, 2);
    coord_case("clean run", "case=all hi=300000 blocks=8192", 0, 0);
}

// ---- the placement server ------------------------------------------------------------

struct PStatus {
    uint64_t mode = 0, epoch = 0;  // mode 0: no server, 1: attached and serving, 2: demoted
    uint64_t fallbacks = 0;        // demotions so far plus the current server's deadline misses
};
PStatus pstatus() {
    alignas(8) uint8_t res[64];
    using SC = cap::schema::SchedulerControl;
    Cqe c = srv::raw_call(cap::start_info().named("schedctl"), SC::kInterfaceId, SC::Methods::status, nullptr, 0, res,
                          sizeof res);
    PStatus s;
    if (c.status != 0) return s;
    cap::capnp::FlatMessageReader<1> r;
    if (r.init_flat(res, c.result_len) != cap::capnp::Error::Ok || r.validate() != cap::capnp::Error::Ok) return s;
    const auto st = r.root<SC::StatusResults>();
    s.mode = static_cast<uint64_t>(st.mode());
    s.epoch = st.epoch();
    s.fallbacks = st.fallbacks();
    return s;
}

// Scheduling events for the server to decide on: short-lived children.
void some_activity() {
    auto sp = srv::spawn(g_boot, "kill-child", "spawn-child", "exit=0", nullptr, 0, srv::Quotas{});
    if (!sp.ok()) return;
    (void)srv::wait_process(sp.value().handle);
    (void)srv::drop_caps(&sp.value().handle, 1);
}

// A fair-share server with crash_at=<point>:3. Fault: it must die (and the
// kernel fall back); stall: it must be demoted for missed deadlines while
// alive, then killed. Either way the kernel's default placement serves and
// everything the server held comes back.
void placement_case(const char* point, bool stall) {
    ++g_cases;
    const Snap base = baseline();
    const PStatus p0 = pstatus();
    const cap::StartInfo& info = cap::start_info();
    const srv::Grant g[4] = {{"schedctl", info.named("schedctl"), 0xffffffffu},
                             {"console", info.console(), 0xffffffffu},
                             {"timer", info.timer(), 0xffffffffu},
                             {"park", info.park(), 0xffffffffu}};
    srv::Quotas q;
    q.frames = 1024;
    q.threads = 2;
    char args[128];
    // Fault: the deadline is the accelerator's default, as in every shipped
    // manifest (accel.h); the server dies at its crash point before any miss
    // matters. Stall: 100 ms, so its misses demote it within the case.
    cap::snprint(args, sizeof args, "%scrash_at=%s:3%s", stall ? "deadline_us=100000 " : "", point,
                 stall ? " crash_how=stall" : "");
    auto sp = srv::spawn(g_boot, "placement", "placement-fair-share", args, g, 4, q);
    if (!check(sp.ok(), "start a placement server")) return;
    bool attached = false;
    for (int i = 0; i < 150 && !attached; ++i) {
        const PStatus p = pstatus();
        // The epoch counts attaches: a server that attached and already died
        // (the kernel back in mode 0) between two polls has attached too.
        attached = p.epoch > p0.epoch;
        if (!attached) sleep_ms(20);
    }
    check(attached, "the placement server attaches");
    // Watch its end while feeding it events.
    alignas(8) static uint8_t wres[64];
    auto wt = srv::start_wait_process(sp.value().handle, wres, sizeof wres);
    if (!check(wt.ok(), "wait on the placement server")) return;
    Cqe c{};
    bool ended = false, demoted = false;
    const uint64_t t0 = now_ms();
    while (now_ms() - t0 < 5000) {
        ended = wait_tag(wt.value(), 0, c);
        demoted = pstatus().mode != 1;
        if (ended || (stall && demoted)) break;
        some_activity();
    }
    const uint64_t ms = now_ms() - t0;
    if (stall && !ended) {
        check(demoted, "the stalled server is demoted while alive");
        check(srv::kill_process(sp.value().handle).ok(), "kill the stalled placement server");
        ended = wait_tag(wt.value(), 5000, c);
    }
    if (!ended) cap::this_ring().abandon(wt.value());
    const srv::Exit x = ended && c.status == 0 ? srv::decode_exit(wres, c.result_len) : srv::Exit{-999, 0xffff};
    // The kernel takes placement back once it sees the server gone, which can
    // come just after the server's exit reached its waiters (seen at -smp 4:
    // mode=2 read before the kernel's 'demoted (server exited)' line).
    PStatus p1 = pstatus();
    for (const uint64_t w0 = now_ms(); !(p1.mode == 0 && p1.fallbacks > p0.fallbacks) && now_ms() - w0 < 2000;
         p1 = pstatus())
        sleep_ms(10);
    cap::print(
        "[kill-test] placement point=%s how=%s: %s after %llu ms; server %llu ended: code=%lld reason=%s; "
        "kernel placement mode=%llu demotions+misses %llu -> %llu\n",
        point, stall ? "stall+kill" : "fault", stall ? "demoted" : "died", static_cast<unsigned long long>(ms),
        static_cast<unsigned long long>(sp.value().pid), static_cast<long long>(x.code), srv::reason_name(x.reason),
        static_cast<unsigned long long>(p1.mode), static_cast<unsigned long long>(p0.fallbacks),
        static_cast<unsigned long long>(p1.fallbacks));
    check(ended && x.reason == (stall ? 1 : 2), "the placement server ended as expected");
    check(p1.mode == 0 && p1.fallbacks > p0.fallbacks, "the kernel fell back");
    some_activity();  // the default placement still runs new processes
    (void)srv::drop_caps(&sp.value().handle, 1);
    char what[64];
    cap::snprint(what, sizeof what, "placement point=%s how=%s", point, stall ? "stall+kill" : "fault");
    leak_check(what, base);
}

void placement_cases() {
    if (cap::start_info().named("schedctl") == 0) return;
    static const char* const points[] = {"after_events", "mid_decision", "before_place"};
    for (const char* p : points) placement_case(p, false);
    placement_case("mid_decision", true);
}

int servers_mode() {
    g_boot = cap::start_info().named("bootSpawner");
    auto ep = srv::create_endpoint();
    if (g_boot == 0 || !ep.ok()) {
        cap::print("[kill-test] error: needs bootSpawner and an endpoint\n");
        return 2;
    }
    g_ep = ep.value();
    spawner_cases();
    coord_cases();
    placement_cases();
    cap::print("[kill-test] done: %u cases, %u failed\n", g_cases, g_failed);
    return g_failed == 0 ? 0 : 1;
}

}  // namespace

int main(cap::StartInfo& info) {
    const char* a = info.args();
    char mode[16] = {};
    (void)srv::arg_str(a, "mode", mode, sizeof mode);
    if (srv::str_eq(mode, "servers")) return servers_mode();

    static const char* const points[] = {"start", "before_export", "before_ready"};
    cap::CrashPoints crash;
    if (!crash.configure(mode, a, points, 3)) return 7;
    crash.hit("start");
    const CapHandle reg = info.named("init");
    if (srv::str_eq(mode, "child")) return 0;
    if (srv::str_eq(mode, "exporter") || srv::str_eq(mode, "victim")) {
        const bool victim = srv::str_eq(mode, "victim");
        crash.hit("before_export");
        // The victim hands over its own Process so another module can kill it.
        if (reg == 0 || !srv::register_export(reg, victim ? "self" : "token", info.process()).ok()) return 3;
        crash.hit("before_ready");
        if (!srv::register_ready(reg).ok()) return 4;
        idle();
    }
    if (srv::str_eq(mode, "killer")) {
        const CapHandle v = info.named("victim");
        if (v == 0 || !srv::kill_process(v).ok()) {
            cap::print("[killer] cannot kill the victim\n");
            return 5;
        }
        auto x = srv::wait_process(v);
        cap::print("[killer] victim ended: reason=%s; now ready\n", x.ok() ? srv::reason_name(x.value().reason) : "?");
        if (reg == 0 || !srv::register_export(reg, "token", info.process()).ok() || !srv::register_ready(reg).ok())
            return 6;
        idle();
    }
    cap::print("[kill-test] unknown mode '%s'\n", mode);
    return 2;
}
