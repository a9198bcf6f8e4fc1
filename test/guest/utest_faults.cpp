// utest_faults.cpp - in-guest fault-injection sweep (issue 18): for each allocating kernel operation, fail its
// n-th frame (then heap) allocation for n = 1, 2, 3, ... through the FaultInjection capability (per thread: only
// this thread's allocations count) until the operation succeeds without the injection being hit. Each case must
// answer no_memory (not a crash, not another status) and leave free frames, kernel heap bytes, capability slots,
// processes and threads as they were. Needs the kernel option fault_inject=on (docs/fault-injection.md).
//
// Output per operation and kind, then a total:
//   [faults] <op> frame sites=S heap sites=H cases=C leaks=L wrong=W absorbed=A
//   [faults] total ops=<n> sites=<S+H> cases=<C> leaks=<L> wrong=<W>
#include "capos/abi/layout.h"
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/fault_inject.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/test.h"
#include "libcap/thread.h"
#include "capos/schema/scheduler.capnp.h"

extern "C" void cap_thread_entry();  // libcap crt0.S: the entry of every thread libcap starts

namespace {

namespace abi = capos::abi;
using cap::FaultKind;
using cap::Status;
using cap::this_ring;
using guest::CapHandle;

// More allocation sites than this on one path means the sweep does not end.
constexpr uint32_t kMaxSites = 1000;
// Prints every case as it starts (debugging a hang).
constexpr bool kVerbose = false;

CapHandle faults() { return cap::start_info().named("faults"); }
CapHandle process() { return cap::start_info().process(); }

// ---- leak check ----------------------------------------------------------------------

struct Baseline {
    // Free frames plus the frames the kernel heap holds plus this process's
    // page tables: heap growth only moves frames into the heap, and page
    // tables a path built stay (reachable, reused) until the address space goes.
    uint64_t frame_bytes = 0;
    uint64_t heap_in_use = 0, heap_allocations = 0, processes = 0, slots = 0;
    uint64_t process_threads = 0, kernel_threads = 0;
};

bool take(Baseline& b) {
    auto m = guest::kernel_memory();
    auto c = cap::fault_counts(faults());
    if (!m.ok() || !c.ok()) return false;
    b.frame_bytes = (m.value().free_frames + c.value().page_tables) * abi::kPageSize + m.value().heap_mapped;
    b.heap_in_use = m.value().heap_in_use;
    b.heap_allocations = m.value().heap_allocations;
    b.processes = m.value().processes;
    b.slots = m.value().slots_used;
    b.process_threads = c.value().process_threads;
    b.kernel_threads = c.value().kernel_threads;
    return true;
}

bool matches(const Baseline& want, const Baseline& now) {
    return now.frame_bytes == want.frame_bytes && now.heap_in_use == want.heap_in_use &&
           now.heap_allocations == want.heap_allocations && now.processes == want.processes &&
           now.slots == want.slots && now.process_threads == want.process_threads &&
           now.kernel_threads == want.kernel_threads;
}

// Waits (up to about a second) for the kernel's deferred work -- the reaper
// freeing ended threads and processes -- to bring everything back.
bool settle(const Baseline& want, Baseline& now) {
    for (int i = 0; i < 200; ++i) {
        if (take(now) && matches(want, now)) return true;
        (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 5'000'000);
    }
    return false;
}

long long d(uint64_t a, uint64_t b) { return static_cast<long long>(b) - static_cast<long long>(a); }

void print_leak(const char* op, const char* kind, uint32_t n, const Baseline& a, const Baseline& b) {
    cap::print(
        "[faults] LEAK %s %s n=%u: frame_bytes %lld heap_in_use %lld heap_allocations %lld processes %lld "
        "slots %lld process_threads %lld kernel_threads %lld\n",
        op, kind, n, d(a.frame_bytes, b.frame_bytes), d(a.heap_in_use, b.heap_in_use),
        d(a.heap_allocations, b.heap_allocations), d(a.processes, b.processes), d(a.slots, b.slots),
        d(a.process_threads, b.process_threads), d(a.kernel_threads, b.kernel_threads));
}

// Lets deferred work of earlier tests (threads and processes the reaper has
// not freed yet) finish: the counters must hold still for 20 ms.
void quiesce() {
    Baseline a, b;
    for (int i = 0; i < 100; ++i) {
        (void)take(a);
        (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 20'000'000);
        (void)take(b);
        if (matches(a, b)) return;
    }
}

// ---- the sweep -----------------------------------------------------------------------

// One operation under test. prepare (not armed) sets up what the operation
// needs; run (armed) is the operation, returning its status; cleanup (not
// armed) undoes what a successful run made and what prepare made, and
// returns false if the operation's effect was wrong.
struct Op {
    const char* name;
    bool (*prepare)();
    Status (*run)();
    bool (*cleanup)(bool succeeded);
    // Sites the path certainly has (a new object from the heap, fresh
    // frames): fewer found means the injection did not reach the path.
    uint32_t min_frame_sites;
    uint32_t min_heap_sites;
};

struct Sweep {
    uint32_t sites = 0, cases = 0, leaks = 0, wrong = 0, absorbed = 0;
    bool ended = false;  // the operation succeeded without an injected failure
};

Sweep sweep(const Op& op, FaultKind kind) {
    const char* kname = kind == FaultKind::frame ? "frame" : "heap";
    Sweep s;
    quiesce();
    for (uint32_t n = 1; n <= kMaxSites + 1; ++n) {
        Baseline before, after;
        if (kVerbose) cap::print("[faults] case %s %s n=%u\n", op.name, kname, n);
        if (!take(before)) {
            cap::print("[faults] ERROR %s: cannot read the kernel's counters\n", op.name);
            ++s.wrong;
            break;
        }
        if (op.prepare != nullptr && !op.prepare()) {
            cap::print("[faults] ERROR %s %s n=%u: set-up failed\n", op.name, kname, n);
            ++s.wrong;
            break;
        }
        if (!cap::fault_arm(faults(), kind, n).ok()) {
            cap::print("[faults] ERROR %s: FaultInjection.arm failed\n", op.name);
            ++s.wrong;
            break;
        }
        const Status st = op.run();
        auto rep = cap::fault_disarm(faults());
        ++s.cases;
        // Clean-up counted too (not failed), for the leak report.
        (void)cap::fault_arm(faults(), FaultKind::frame, 0);
        const bool effect_ok = op.cleanup != nullptr ? op.cleanup(st == Status::ok) : true;
        auto clean = cap::fault_disarm(faults());
        if (!rep.ok() || !clean.ok()) {
            cap::print("[faults] ERROR %s: FaultInjection.disarm failed\n", op.name);
            ++s.wrong;
            break;
        }
        if (!settle(before, after)) {
            ++s.leaks;
            print_leak(op.name, kname, n, before, after);
            cap::print("[faults]   (counted frames %llu heap %llu injected %llu; clean-up frames %llu)\n",
                       static_cast<unsigned long long>(rep.value().frames),
                       static_cast<unsigned long long>(rep.value().heap),
                       static_cast<unsigned long long>(rep.value().injected),
                       static_cast<unsigned long long>(clean.value().frames));
            Baseline later;
            for (int i = 0; i < 20; ++i) (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 50'000'000);
            if (take(later)) print_leak(op.name, "(1 s later)", n, before, later);
        }
        if (!effect_ok) {
            ++s.wrong;
            cap::print("[faults] WRONG %s %s n=%u: the operation's effect was wrong (status %s)\n", op.name, kname, n,
                       capos::abi::status_name(st));
        }
        if (rep.value().injected == 0) {
            if (st != Status::ok) {
                ++s.wrong;
                cap::print("[faults] WRONG %s %s n=%u: failed with %s and no injected failure\n", op.name, kname, n,
                           capos::abi::status_name(st));
                break;
            }
            s.sites = n - 1;
            s.ended = true;
            break;
        }
        if (st == Status::ok) {
            // The path got over a failed allocation (a fallback): allowed, but said.
            ++s.absorbed;
            cap::print("[faults] note %s %s n=%u: succeeded past an injected failure\n", op.name, kname, n);
        } else if (st != Status::no_memory) {
            ++s.wrong;
            cap::print("[faults] WRONG %s %s n=%u: status %s, expected no_memory\n", op.name, kname, n,
                       capos::abi::status_name(st));
        }
    }
    if (!s.ended) cap::print("[faults] ERROR %s %s: no clean success within %u cases\n", op.name, kname, s.cases);
    return s;
}

struct Totals {
    uint32_t ops = 0, sites = 0, cases = 0, leaks = 0, wrong = 0;
} g_total;

// Sweeps both kinds; true if nothing went wrong and both sweeps ended.
uint64_t now_ms() {
    auto t = cap::timer_now(this_ring(), cap::start_info().timer());
    return t.ok() ? t.value() / 1'000'000 : 0;
}

bool sweep_both(const Op& op) {
    const uint64_t t0 = now_ms();
    const Sweep f = sweep(op, FaultKind::frame);
    const Sweep h = sweep(op, FaultKind::heap);
    cap::print("[faults] %s frame sites=%u heap sites=%u cases=%u leaks=%u wrong=%u absorbed=%u (%llu ms)\n", op.name,
               f.sites, h.sites, f.cases + h.cases, f.leaks + h.leaks, f.wrong + h.wrong, f.absorbed + h.absorbed,
               static_cast<unsigned long long>(now_ms() - t0));
    g_total.ops += 1;
    g_total.sites += f.sites + h.sites;
    g_total.cases += f.cases + h.cases;
    g_total.leaks += f.leaks + h.leaks;
    g_total.wrong += f.wrong + h.wrong;
    const bool reached = f.sites >= op.min_frame_sites && h.sites >= op.min_heap_sites;
    if (!reached)
        cap::print("[faults] WRONG %s: fewer sites than the path certainly has (frame >= %u, heap >= %u)\n", op.name,
                   op.min_frame_sites, op.min_heap_sites);
    return reached && f.ended && h.ended && f.leaks + h.leaks == 0 && f.wrong + h.wrong == 0;
}

void drop(CapHandle h) {
    if (h != abi::kNullCap) (void)cap::drop_caps(&h, 1);
}

// ---- operations ------------------------------------------------------------------------

// ProcessSpawner.spawn of guest-child (which exits 99 at once), passing one capability.
CapHandle g_child = abi::kNullCap;
CapHandle g_grant_mo = abi::kNullCap;

Status spawn_run() {
    const CapHandle spawner = cap::start_info().named("spawner");
    cap::SpawnGrant g[1] = {cap::SpawnGrant{"memory", g_grant_mo}};
    auto s = cap::spawn(spawner, "guest-child", "guest-child", "", g, 1, nullptr);
    if (!s.ok()) return s.status();
    g_child = s.value().handle;
    return Status::ok;
}

bool spawn_cleanup(bool ok) {
    if (!ok) return g_child == abi::kNullCap;
    auto e = guest::wait_process(g_child);
    drop(g_child);
    g_child = abi::kNullCap;
    return e.ok() && e.value().code == 99 && e.value().reason == 0;
}

// Process.createThread with a prepared stack: the kernel thread, its stack,
// the user thread object, its ring and TLS (the ring set-up of a new thread).
struct StartBlock {  // the head of libcap's Thread::Block (thread_spawn.cpp): fn, arg, exit code
    int64_t (*fn)(void*);
    void* arg;
    int64_t exit_code;
    uint64_t pad[8];
};
alignas(64) uint8_t g_stack[64 * 1024];
CapHandle g_thread = abi::kNullCap;

int64_t thread_body(void* arg) { return static_cast<int64_t>(reinterpret_cast<uintptr_t>(arg)); }

Status thread_run() {
    const uint64_t top = reinterpret_cast<uint64_t>(g_stack + sizeof g_stack);
    const uint64_t block_addr = (top - sizeof(StartBlock)) & ~uint64_t{63};
    auto* b = reinterpret_cast<StartBlock*>(block_addr);
    *b = StartBlock{thread_body, reinterpret_cast<void*>(uintptr_t{41}), 0, {}};
    auto t = cap::process_create_thread(this_ring(), process(), reinterpret_cast<uint64_t>(&cap_thread_entry),
                                        block_addr & ~uint64_t{15}, block_addr);
    if (!t.ok()) return t.status();
    g_thread = t.value();
    return Status::ok;
}

bool thread_cleanup(bool ok) {
    if (!ok) return g_thread == abi::kNullCap;
    auto j = cap::thread_join(this_ring(), g_thread);
    drop(g_thread);
    g_thread = abi::kNullCap;
    return j.ok() && j.value().exit_code == 41 && j.value().reason == 0;
}

// Process.allocate: a MemoryObject of 4 pages.
CapHandle g_mo = abi::kNullCap;

Status allocate_run() {
    auto m = cap::process_allocate(this_ring(), process(), 4 * abi::kPageSize);
    if (!m.ok()) return m.status();
    g_mo = m.value();
    return Status::ok;
}

bool allocate_cleanup(bool ok) {
    if (!ok) return g_mo == abi::kNullCap;
    guest::Raw r = guest::raw_call(g_mo, guest::kMemoryObject, 0);  // size
    drop(g_mo);
    g_mo = abi::kNullCap;
    return r.cqe.status == 0 && r.cqe.value == 4 * abi::kPageSize;
}

// Process.map of a 4-page MemoryObject at a fresh 1 GiB-aligned address, so
// that every case needs new page tables.
CapHandle g_map_mo = abi::kNullCap;
uint64_t g_map_va = 0;
constexpr uint64_t kGiB = uint64_t{1} << 30;

bool map_prepare() {
    const uint64_t va = cap::reserve_va(2 * kGiB);
    if (va == 0) return false;
    g_map_va = (va + kGiB - 1) & ~(kGiB - 1);
    return true;
}

Status map_run() {
    auto m = cap::process_map(this_ring(), process(), g_map_mo, g_map_va, 0, 4 * abi::kPageSize, true, false);
    return m.ok() ? Status::ok : m.status();
}

bool map_cleanup(bool ok) {
    if (!ok) {
        // Nothing may be mapped: a second map of the range must be possible.
        auto m = cap::process_map(this_ring(), process(), g_map_mo, g_map_va, 0, 4 * abi::kPageSize, true, false);
        if (!m.ok()) return false;
    }
    auto* p = reinterpret_cast<volatile uint64_t*>(g_map_va);
    p[0] = 0x1234;
    p[3 * 512] = 0x5678;
    const bool same = p[0] == 0x1234 && p[3 * 512] == 0x5678;
    return cap::process_unmap(this_ring(), process(), g_map_va, 4 * abi::kPageSize).ok() && same;
}

// Process.createEndpoint.
CapHandle g_ep = abi::kNullCap;

Status endpoint_create_run() {
    auto e = guest::create_endpoint();
    if (!e.ok()) return e.status();
    g_ep = e.value();
    return Status::ok;
}

bool endpoint_create_cleanup(bool ok) {
    if (!ok) return g_ep == abi::kNullCap;
    drop(g_ep);
    g_ep = abi::kNullCap;
    return true;
}

// Endpoint.mint on an endpoint made beforehand.
CapHandle g_minted = abi::kNullCap;

bool mint_prepare() {
    auto e = guest::create_endpoint();
    if (!e.ok()) return false;
    g_ep = e.value();
    return true;
}

Status mint_run() {
    auto c = guest::mint(g_ep, 77);
    if (!c.ok()) return c.status();
    g_minted = c.value();
    return Status::ok;
}

bool mint_cleanup(bool ok) {
    const bool right = ok ? g_minted != abi::kNullCap : g_minted == abi::kNullCap;
    drop(g_minted);
    drop(g_ep);
    g_minted = g_ep = abi::kNullCap;
    return right;
}

// An endpoint call carrying two capabilities, answered with one, by a server
// thread of this process (its allocations are its own, not counted).
constexpr uint64_t kCallIface = 0x5eed5eed5eed5eedull;
constexpr uint16_t kCallEcho = 1, kCallStop = 2;
CapHandle g_srv_ep = abi::kNullCap, g_srv_client = abi::kNullCap, g_srv_reply_mo = abi::kNullCap;
CapHandle g_call_caps[2] = {};
CapHandle g_call_out = abi::kNullCap;
uint32_t g_served = 0, g_bad_calls = 0;

int64_t call_server(void*) {
    alignas(8) static uint8_t buf[1024];
    for (;;) {
        auto in = guest::receive(g_srv_ep, 0, buf, sizeof buf);
        if (!in.ok()) {
            // Nothing the caller's injected failures do may end our receive.
            __atomic_fetch_add(&g_bad_calls, 1, __ATOMIC_ACQ_REL);
            continue;
        }
        const guest::Incoming& c = in.value();
        if (c.method == kCallStop) {
            (void)guest::reply(g_srv_ep, c.call_id, 0, nullptr, 0, nullptr, 0);
            return 0;
        }
        if (c.cap_count != 2) ++g_bad_calls;
        for (uint32_t i = 0; i < c.cap_count; ++i) drop(c.caps[i]);
        alignas(8) uint8_t res[32];
        const uint64_t w[1] = {0xca11};
        const uint32_t n = guest::words_msg(res, sizeof res, w, 1);
        CapHandle out[1] = {g_srv_reply_mo};
        if (!guest::reply(g_srv_ep, c.call_id, 0, res, n, out, 1).ok()) ++g_bad_calls;
        __atomic_fetch_add(&g_served, 1, __ATOMIC_ACQ_REL);
    }
}

Status call_run() {
    CapHandle caps[2] = {g_call_caps[0], g_call_caps[1]};
    alignas(8) uint8_t params[32], result[64];
    const uint64_t w[1] = {7};
    cap::CallArgs a;
    a.cap = g_srv_client;
    a.method = cap::iface::Method{kCallIface, kCallEcho};
    a.params = params;
    a.params_len = guest::words_msg(params, sizeof params, w, 1);
    a.result = result;
    a.result_max = sizeof result;
    a.caps = caps;
    a.caps_in = 2;
    a.caps_out_max = 1;
    auto c = this_ring().call(a);
    if (!c.ok()) return c.status();
    if (c.value().status != 0) return static_cast<Status>(c.value().status);
    g_call_out = c.value().caps_out_count == 1 ? caps[0] : abi::kNullCap;
    return c.value().caps_out_count == 1 ? Status::ok : Status::internal;
}

bool call_cleanup(bool ok) {
    const bool right = ok ? g_call_out != abi::kNullCap : g_call_out == abi::kNullCap;
    drop(g_call_out);
    g_call_out = abi::kNullCap;
    return right && g_bad_calls == 0;
}

// The server side of a call, on this thread: receive a call queued by an
// earlier (not armed) submission of ours, carrying one capability, and reply
// with one. Afterwards the call completes.
CapHandle g_sv_ep = abi::kNullCap, g_sv_client = abi::kNullCap, g_sv_mo = abi::kNullCap;
uint64_t g_sv_tag = 0;
bool g_sv_received = false, g_sv_replied = false;
guest::Incoming g_sv_in;
CapHandle g_sv_call_caps[1] = {};
alignas(8) uint8_t g_sv_buf[1024];

bool serve_prepare() {
    g_sv_received = g_sv_replied = false;
    g_sv_call_caps[0] = g_sv_mo;
    cap::CallArgs a;
    a.cap = g_sv_client;
    a.method = cap::iface::Method{kCallIface, kCallEcho};
    a.caps = g_sv_call_caps;
    a.caps_in = 1;
    a.caps_out_max = 1;
    auto tag = this_ring().start(cap::make_sqe(a));
    if (!tag.ok()) return false;
    g_sv_tag = tag.value();
    return true;
}

Status serve_once(bool with_caps) {
    if (!g_sv_received) {
        auto in = guest::receive(g_sv_ep, 1'000'000'000, g_sv_buf, sizeof g_sv_buf);
        if (!in.ok()) return in.status();
        if (in.value().timed_out) return Status::timeout;
        g_sv_in = in.value();
        g_sv_received = true;
    }
    CapHandle out[1] = {g_sv_mo};
    auto r = guest::reply(g_sv_ep, g_sv_in.call_id, 0, nullptr, 0, out, with_caps ? 1 : 0);
    if (!r.ok()) return r.status();
    g_sv_replied = true;
    return Status::ok;
}

Status serve_run() { return serve_once(true); }

bool serve_cleanup(bool ok) {
    bool right = ok == (g_sv_received && g_sv_replied);
    if (!g_sv_replied && serve_once(false) != Status::ok) right = false;
    if (g_sv_received) {
        right = right && g_sv_in.cap_count == 1;
        for (uint32_t i = 0; i < g_sv_in.cap_count; ++i) drop(g_sv_in.caps[i]);
    }
    auto c = this_ring().wait(g_sv_tag);
    if (!c.ok() || c.value().status != 0) return false;
    // With our reply's capability if that reply was the first one to succeed.
    if (c.value().caps_out_count == 1) drop(g_sv_call_caps[0]);
    return right && c.value().caps_out_count == (ok ? 1 : 0);
}

// Timer.sleep (an asynchronous operation and a deadline).
Status sleep_run() {
    auto s = cap::timer_sleep(this_ring(), cap::start_info().timer(), 1'000'000);
    return s.ok() ? Status::ok : s.status();
}

// Park.wait that times out (an asynchronous operation in a park bucket).
uint32_t g_park_word = 5;
Status park_run() {
    auto w = cap::park_wait(this_ring(), cap::start_info().park(), &g_park_word, 5, 1'000'000);
    return w.ok() ? Status::ok : w.status();
}

// KernelStats.read (a kernel scratch buffer for the samples).
Status kstats_run() {
    alignas(8) uint8_t p[32];
    const uint64_t w[1] = {0};
    const uint32_t n = guest::words_msg(p, sizeof p, w, 1);
    alignas(8) static uint8_t res[8192];
    guest::Raw r = guest::raw_call(cap::start_info().named("kstats"), cap::schema::KernelStats::kInterfaceId,
                                   cap::schema::KernelStats::Methods::read, p, n, res, sizeof res);
    return static_cast<Status>(r.cqe.status);
}

// Thread.join of a thread still running (an asynchronous join op).
int64_t sleepy_body(void*) {
    (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 3'000'000);
    return 42;
}

bool join_prepare() {
    const uint64_t top = reinterpret_cast<uint64_t>(g_stack + sizeof g_stack);
    const uint64_t block_addr = (top - sizeof(StartBlock)) & ~uint64_t{63};
    auto* b = reinterpret_cast<StartBlock*>(block_addr);
    *b = StartBlock{sleepy_body, nullptr, 0, {}};
    auto t = cap::process_create_thread(this_ring(), process(), reinterpret_cast<uint64_t>(&cap_thread_entry),
                                        block_addr & ~uint64_t{15}, block_addr);
    if (!t.ok()) return false;
    g_thread = t.value();
    return true;
}

cap::Result<cap::JoinResult> g_join = Status::internal;

Status join_run() {
    g_join = cap::thread_join(this_ring(), g_thread);
    return g_join.ok() ? Status::ok : g_join.status();
}

bool join_cleanup(bool ok) {
    if (!ok) g_join = cap::thread_join(this_ring(), g_thread);
    drop(g_thread);
    g_thread = abi::kNullCap;
    return g_join.ok() && g_join.value().exit_code == 42;
}

// ProcessHandle.wait on a child that is still alive (an asynchronous wait
// op): submitted armed, then the child is killed and the wait must end.
CapHandle g_blocked = abi::kNullCap;
uint64_t g_wait_tag = 0;
bool g_wait_done = false;
abi::Cqe g_wait_cqe{};
alignas(8) uint8_t g_wait_res[64];

bool wait_prepare() {
    auto c = guest::spawn_std("guest-child", "block", nullptr, nullptr, 0);
    if (!c.ok()) return false;
    g_blocked = c.value().handle;
    g_wait_done = false;
    return true;
}

Status wait_run() {
    cap::CallArgs a;
    a.cap = g_blocked;
    a.method = cap::iface::kProcessHandleWait;
    a.result = g_wait_res;
    a.result_max = sizeof g_wait_res;
    auto tag = this_ring().start(cap::make_sqe(a));
    if (!tag.ok()) return tag.status();
    g_wait_tag = tag.value();
    // A wait that could not be set up completes at once with its error; one
    // that is waiting does not complete within the 2 ms.
    auto c = this_ring().wait(g_wait_tag, 2'000'000);
    if (!c.ok()) return c.status() == Status::timeout ? Status::ok : c.status();
    g_wait_done = true;
    g_wait_cqe = c.value();
    return g_wait_cqe.status == 0 ? Status::internal : static_cast<Status>(g_wait_cqe.status);
}

bool wait_cleanup(bool ok) {
    bool right = guest::kill_process(g_blocked).ok();
    if (ok) {
        auto c = this_ring().wait(g_wait_tag);
        right =
            right && c.ok() && c.value().status == 0 && cap::decode_exit(g_wait_res, c.value().result_len).reason == 1;
    } else {
        right = right && g_wait_done;
        auto e = guest::wait_process(g_blocked);
        right = right && e.ok() && e.value().reason == 1;
    }
    drop(g_blocked);
    g_blocked = abi::kNullCap;
    return right;
}

// Endpoint.receive that waits and times out (an asynchronous receive op and
// a deadline).
CapHandle g_rt_ep = abi::kNullCap;
alignas(8) uint8_t g_rt_buf[512];

Status receive_timeout_run() {
    auto in = guest::receive(g_rt_ep, 1'000'000, g_rt_buf, sizeof g_rt_buf);
    if (!in.ok()) return in.status();
    return in.value().timed_out ? Status::ok : Status::internal;
}

// Process.unmap of a mapping made beforehand (batched TLB shootdown).
bool unmap_prepare() {
    if (!map_prepare()) return false;
    return map_run() == Status::ok;
}

Status unmap_run() {
    auto u = cap::process_unmap(this_ring(), process(), g_map_va, 4 * abi::kPageSize);
    return u.ok() ? Status::ok : u.status();
}

bool unmap_cleanup(bool ok) {
    if (!ok && unmap_run() != Status::ok) return false;
    // Unmapped: the range can be mapped again (and is unmapped once more).
    return map_run() == Status::ok && unmap_run() == Status::ok;
}

// Console.write of one short line.
Status console_run() {
    static const char kLine[] = "[faults] console write under injection\n";
    auto w = cap::console_write(this_ring(), cap::start_info().console(), kLine, sizeof kLine - 1);
    return w.ok() ? Status::ok : w.status();
}

// An endpoint call carrying a capability that finds no receiver and is
// queued (this thread serves it afterwards, not armed).
CapHandle g_q_ep = abi::kNullCap, g_q_client = abi::kNullCap, g_q_mo = abi::kNullCap;
CapHandle g_q_caps[1] = {};
uint64_t g_q_tag = 0;
bool g_q_done = false;
abi::Cqe g_q_cqe{};

Status queued_run() {
    g_q_done = false;
    g_q_caps[0] = g_q_mo;
    cap::CallArgs a;
    a.cap = g_q_client;
    a.method = cap::iface::Method{kCallIface, kCallEcho};
    a.caps = g_q_caps;
    a.caps_in = 1;
    auto tag = this_ring().start(cap::make_sqe(a));
    if (!tag.ok()) return tag.status();
    g_q_tag = tag.value();
    // Refused at once, or queued (no completion until it is served).
    auto c = this_ring().wait(g_q_tag, 2'000'000);
    if (!c.ok()) return c.status() == Status::timeout ? Status::ok : c.status();
    g_q_done = true;
    g_q_cqe = c.value();
    return g_q_cqe.status == 0 ? Status::internal : static_cast<Status>(g_q_cqe.status);
}

bool queued_cleanup(bool ok) {
    if (!ok) {
        // Nothing may be queued: a receive finds nothing.
        auto in = guest::receive(g_q_ep, 1'000'000, g_sv_buf, sizeof g_sv_buf);
        return g_q_done && in.ok() && in.value().timed_out;
    }
    auto in = guest::receive(g_q_ep, 1'000'000'000, g_sv_buf, sizeof g_sv_buf);
    if (!in.ok() || in.value().timed_out) return false;
    const bool carried = in.value().cap_count == 1;
    for (uint32_t i = 0; i < in.value().cap_count; ++i) drop(in.value().caps[i]);
    if (!guest::reply(g_q_ep, in.value().call_id, 0, nullptr, 0, nullptr, 0).ok()) return false;
    auto c = this_ring().wait(g_q_tag);
    return carried && c.ok() && c.value().status == 0;
}

cap::Thread g_server;

}  // namespace

CAP_TEST(granted) {
    CAP_REQUIRE(faults() != abi::kNullCap);
    // Arming and disarming alone fail nothing.
    CAP_REQUIRE(cap::fault_arm(faults(), FaultKind::heap, 1000).ok());
    auto rep = cap::fault_disarm(faults());
    CAP_REQUIRE(rep.ok());
    CAP_CHECK(rep.value().injected == 0);
    // A kind the schema does not define is refused (arm params: kind in the
    // low 16 bits of word 0, nth word 1, every word 2).
    alignas(8) uint8_t p[64];
    const uint64_t w[3] = {9, 1, 0};
    const uint32_t n = guest::words_msg(p, sizeof p, w, 3);
    guest::Raw bad = guest::raw_call(faults(), cap::schema::FaultInjection::kInterfaceId,
                                     cap::schema::FaultInjection::Methods::arm, p, n);
    CAP_CHECK(bad.cqe.status == static_cast<int32_t>(Status::invalid_argument));
    // A message that does not parse is refused.
    guest::Raw junk = guest::raw_call(faults(), cap::schema::FaultInjection::kInterfaceId,
                                      cap::schema::FaultInjection::Methods::arm, w, sizeof w);
    CAP_CHECK(junk.cqe.status == static_cast<int32_t>(Status::malformed_message));
    // Disarmed, nothing fails and nothing is counted.
    auto e = guest::create_endpoint();
    CAP_CHECK(e.ok());
    if (e.ok()) drop(e.value());
    rep = cap::fault_disarm(faults());
    CAP_CHECK(rep.ok() && rep.value().heap == 0 && rep.value().frames == 0);
}

namespace {
uint32_t g_go = 0, g_done = 0;
int64_t g_other_status = -1;

int64_t other_thread(void*) {
    while (__atomic_load_n(&g_go, __ATOMIC_ACQUIRE) == 0) __builtin_ia32_pause();
    auto e = guest::create_endpoint();  // a kernel heap allocation on this thread
    g_other_status = e.ok() ? 0 : static_cast<int64_t>(e.status());
    if (e.ok()) drop(e.value());
    __atomic_store_n(&g_done, 1, __ATOMIC_RELEASE);
    return 0;
}
}  // namespace

CAP_TEST(injection_is_per_thread) {
    // Armed on this thread: another thread's allocations are neither failed
    // nor counted; this thread's next one fails.
    auto t = cap::Thread::spawn(other_thread, nullptr, 16 * 1024);
    CAP_REQUIRE(t.ok());
    CAP_REQUIRE(cap::fault_arm(faults(), FaultKind::heap, 1).ok());
    __atomic_store_n(&g_go, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&g_done, __ATOMIC_ACQUIRE) == 0) __builtin_ia32_pause();  // no kernel call while armed
    auto mine = guest::create_endpoint();
    auto rep = cap::fault_disarm(faults());
    CAP_CHECK(g_other_status == 0);
    CAP_CHECK(!mine.ok() && mine.status() == Status::no_memory);
    if (mine.ok()) drop(mine.value());
    CAP_REQUIRE(rep.ok());
    CAP_CHECK(rep.value().injected == 1);
    CAP_CHECK(rep.value().heap == 1);  // only this thread's endpoint allocation was counted
    auto j = t.value().join();
    CAP_CHECK(j.ok());
}

CAP_TEST(set_up) {
    auto m = cap::process_allocate(this_ring(), process(), abi::kPageSize);
    CAP_REQUIRE(m.ok());
    g_grant_mo = m.value();
    m = cap::process_allocate(this_ring(), process(), 4 * abi::kPageSize);
    CAP_REQUIRE(m.ok());
    g_map_mo = m.value();
    for (CapHandle& c : g_call_caps) {
        m = cap::process_allocate(this_ring(), process(), abi::kPageSize);
        CAP_REQUIRE(m.ok());
        c = m.value();
    }
    m = cap::process_allocate(this_ring(), process(), abi::kPageSize);
    CAP_REQUIRE(m.ok());
    g_srv_reply_mo = m.value();
    m = cap::process_allocate(this_ring(), process(), abi::kPageSize);
    CAP_REQUIRE(m.ok());
    g_sv_mo = m.value();
    auto e = guest::create_endpoint();
    CAP_REQUIRE(e.ok());
    g_srv_ep = e.value();
    auto c = guest::mint(g_srv_ep, 1);
    CAP_REQUIRE(c.ok());
    g_srv_client = c.value();
    e = guest::create_endpoint();
    CAP_REQUIRE(e.ok());
    g_sv_ep = e.value();
    c = guest::mint(g_sv_ep, 2);
    CAP_REQUIRE(c.ok());
    g_sv_client = c.value();
    e = guest::create_endpoint();
    CAP_REQUIRE(e.ok());
    g_rt_ep = e.value();
    e = guest::create_endpoint();
    CAP_REQUIRE(e.ok());
    g_q_ep = e.value();
    c = guest::mint(g_q_ep, 3);
    CAP_REQUIRE(c.ok());
    g_q_client = c.value();
    m = cap::process_allocate(this_ring(), process(), abi::kPageSize);
    CAP_REQUIRE(m.ok());
    g_q_mo = m.value();
    auto t = cap::Thread::spawn(call_server, nullptr, 64 * 1024);
    CAP_REQUIRE(t.ok());
    g_server = t.value();
}

#define SWEEP_CASE(id, name, prepare, run, cleanup, min_frame, min_heap) \
    CAP_TEST(id) { CAP_CHECK(sweep_both(Op{name, prepare, run, cleanup, min_frame, min_heap})); }

// The lower bounds are sites the path certainly has (a new object from the
// heap, fresh frames); the sweep measures how many there really are.
SWEEP_CASE(sweep_spawn, "spawn", nullptr, spawn_run, spawn_cleanup, 1, 1)
SWEEP_CASE(sweep_thread_create, "thread_create", nullptr, thread_run, thread_cleanup, 1, 1)
SWEEP_CASE(sweep_memory_allocate, "memory_allocate", nullptr, allocate_run, allocate_cleanup, 1, 1)
SWEEP_CASE(sweep_map, "map", map_prepare, map_run, map_cleanup, 1, 0)
SWEEP_CASE(sweep_endpoint_create, "endpoint_create", nullptr, endpoint_create_run, endpoint_create_cleanup, 0, 1)
SWEEP_CASE(sweep_endpoint_mint, "endpoint_mint", mint_prepare, mint_run, mint_cleanup, 0, 1)
SWEEP_CASE(sweep_endpoint_call, "endpoint_call", nullptr, call_run, call_cleanup, 0, 1)
SWEEP_CASE(sweep_endpoint_call_queued, "endpoint_call_queued", nullptr, queued_run, queued_cleanup, 0, 2)
SWEEP_CASE(sweep_endpoint_serve, "endpoint_serve", serve_prepare, serve_run, serve_cleanup, 0, 0)
SWEEP_CASE(sweep_timer_sleep, "timer_sleep", nullptr, sleep_run, nullptr, 0, 1)
SWEEP_CASE(sweep_park_wait, "park_wait", nullptr, park_run, nullptr, 0, 1)
SWEEP_CASE(sweep_kstats_read, "kstats_read", nullptr, kstats_run, nullptr, 0, 1)
SWEEP_CASE(sweep_thread_join, "thread_join", join_prepare, join_run, join_cleanup, 0, 1)
SWEEP_CASE(sweep_process_wait, "process_wait", wait_prepare, wait_run, wait_cleanup, 0, 1)
SWEEP_CASE(sweep_endpoint_receive_timeout, "endpoint_receive_timeout", nullptr, receive_timeout_run, nullptr, 0, 1)
SWEEP_CASE(sweep_unmap, "unmap", unmap_prepare, unmap_run, unmap_cleanup, 0, 0)
SWEEP_CASE(sweep_console_write, "console_write", nullptr, console_run, nullptr, 0, 0)

CAP_TEST(tear_down) {
    cap::CallArgs a;
    a.cap = g_srv_client;
    a.method = cap::iface::Method{kCallIface, kCallStop};
    CAP_CHECK(this_ring().call(a).ok());
    auto j = g_server.join();
    CAP_CHECK(j.ok() && j.value() == 0);
    CapHandle all[] = {g_grant_mo,   g_map_mo, g_call_caps[0], g_call_caps[1], g_srv_reply_mo, g_sv_mo,    g_srv_ep,
                       g_srv_client, g_sv_ep,  g_sv_client,    g_rt_ep,        g_q_ep,         g_q_client, g_q_mo};
    CAP_CHECK(cap::drop_caps(all, sizeof all / sizeof all[0]).ok());
    cap::print("[faults] total ops=%u sites=%u cases=%u leaks=%u wrong=%u\n", g_total.ops, g_total.sites, g_total.cases,
               g_total.leaks, g_total.wrong);
    CAP_CHECK(g_total.leaks == 0 && g_total.wrong == 0);
}

CAP_TEST_MAIN("faults")
