// server.cpp: the generic placement server: SchedulerControl events in, a policy's decisions out.
#include "server.h"

#include "capos/abi/layout.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "capos/schema/thread.capnp.h"
#include "libcap/calls.h"
#include "libcap/crash_point.h"
#include "libcap/endpoint.h"
#include "libcap/interfaces.h"
#include "libcap/print.h"
#include "libcap/raw_call.h"
#include "libcap/ring.h"
#include "accel.h"
#include "ring_server.h"
#include "wire_codec.h"

namespace placement {
namespace {

using capos::abi::CapHandle;
using capos::abi::Cqe;

// Interface ids and ordinals from the generated headers.
using SchedCtl = cap::schema::SchedulerControl;
constexpr uint64_t kSchedCtl = SchedCtl::kInterfaceId;
constexpr uint16_t kAttach = SchedCtl::Methods::attach, kNextEvents = SchedCtl::Methods::next_events,
                   kPlace = SchedCtl::Methods::place;
constexpr uint16_t kStatus = SchedCtl::Methods::status, kSchedTraceDump = SchedCtl::Methods::trace_dump;
// The Placement interface (schema/placement.capnp) the server serves on its
// `placement_ep` endpoint: describe, exportState (hot swap) and traceDump.
constexpr uint64_t kPlacementIface = cap::schema::Placement::kInterfaceId;
constexpr uint16_t kDescribe = cap::schema::Placement::Methods::describe,
                   kExportState = cap::schema::Placement::Methods::export_state,
                   kTraceDump = cap::schema::Placement::Methods::trace_dump;
constexpr uint64_t kHandoverVa = 0x0000'5000'0000'0000ull;
constexpr uint32_t kHandoverBytes = 64 * 1024;

struct Raw {
    Cqe cqe{};
    bool ok = false;
};

// One call on this thread's ring, started and waited for (libcap's
// raw_call): its Cqe, ok iff it completed with status 0. `caps`: in-caps
// sent with it (caps_in of them).
Raw call_on(CapHandle cap, cap::iface::Method method, const void* params, uint32_t plen, void* result, uint32_t rmax,
            CapHandle* caps = nullptr, uint16_t caps_in = 0) {
    Raw out;
    out.cqe = cap::raw_call(cap, method.interface_id, method.ordinal, params, plen, result, rmax, caps, caps_in);
    out.ok = out.cqe.status == 0;
    return out;
}

// A SchedulerControl call (call_on with the interface fixed).
Raw call(CapHandle cap, uint16_t method, const void* params, uint32_t plen, void* result, uint32_t rmax) {
    return call_on(cap, cap::iface::Method{kSchedCtl, method}, params, plen, result, rmax);
}

// The server's own arguments; every other word goes to Policy::configure.
const char* const kServerKeys[] = {"deadline_us", "cpus",      "takeover", "fail", "fail_after", "quiet",
                                   "crash_at",    "crash_how", "rings",    "poll", "trace"};

bool is_server_key(const KeyValue& kv) {
    for (const char* k : kServerKeys)
        if (kv.key_is(k)) return true;
    return false;
}

KeyValues g_args;         // the command line's words (point into info.args())
KeyValues g_policy_args;  // the words the server hands to the policy

// A server argument as a number (`dflt` when absent). A present but bad value
// is refused: the caller prints err and exits rather than run misconfigured.
bool server_u64(const char* key, uint64_t lo, uint64_t hi, uint64_t dflt, uint64_t& out, ArgError& err) {
    const KeyValue* kv = g_args.find(key);
    if (kv == nullptr) {
        out = dflt;
        return true;
    }
    return value_u64(*kv, lo, hi, out, err);
}

bool arg_is(const char* key, const char* value) {
    const KeyValue* kv = g_args.find(key);
    return kv != nullptr && kv->value_is(value);
}

volatile uint64_t* g_handover = nullptr;

bool map_handover(cap::StartInfo& info) {
    CapHandle mo = info.named("handover");
    if (mo == capos::abi::kNullCap) return false;
    auto r = cap::process_map(cap::this_ring(), info.process(), mo, kHandoverVa, 0, kHandoverBytes, true, false);
    if (!r.ok()) return false;
    g_handover = reinterpret_cast<volatile uint64_t*>(kHandoverVa);
    return true;
}

uint64_t now_ns(cap::StartInfo& info) {
    auto t = cap::timer_now(cap::this_ring(), info.timer());
    return t.ok() ? t.value() : 0;
}

PolicyState g_state;  // large: static, not on the stack
alignas(8) uint8_t g_msg[8192];
alignas(8) uint8_t g_res[8192];
Event g_events[64];
Decisions g_out;

// Predecessor side: someone asked for our state. Export it, then wait for
// the verdict. Returns true if we were taken over (exit), false to resume.
bool serve_export(cap::StartInfo& info, Policy& policy, uint64_t epoch) {
    g_state = PolicyState{};
    policy.export_state(g_state);
    uint8_t* area = reinterpret_cast<uint8_t*>(kHandoverVa) + 64;
    uint32_t n = codec::encode_snapshot(area, kHandoverBytes - 64, g_state, epoch);
    g_handover[1] = n;
    __atomic_store_n(&g_handover[0], n != 0 ? 2ull : 4ull, __ATOMIC_RELEASE);
    uint64_t until = now_ns(info) + 2'000'000'000ull;
    while (now_ns(info) < until) {
        uint64_t st = __atomic_load_n(&g_handover[0], __ATOMIC_ACQUIRE);
        if (st == 3) return true;
        if (st == 4) break;
        (void)cap::timer_sleep(cap::this_ring(), info.timer(), 1'000'000);
    }
    __atomic_store_n(&g_handover[0], 0ull, __ATOMIC_RELEASE);
    cap::print("[placement] %s: successor did not take over; resuming\n", policy.name());
    return false;
}

// Successor side: ask the running server for its snapshot and import it.
bool take_over(cap::StartInfo& info, Policy& policy, uint64_t* resume_after) {
    __atomic_store_n(&g_handover[0], 1ull, __ATOMIC_RELEASE);
    uint64_t until = now_ns(info) + 2'000'000'000ull;
    while (__atomic_load_n(&g_handover[0], __ATOMIC_ACQUIRE) != 2) {
        if (now_ns(info) > until || __atomic_load_n(&g_handover[0], __ATOMIC_ACQUIRE) == 4) return false;
        (void)cap::timer_sleep(cap::this_ring(), info.timer(), 1'000'000);
    }
    uint32_t n = static_cast<uint32_t>(g_handover[1]);
    const uint8_t* area = reinterpret_cast<const uint8_t*>(kHandoverVa) + 64;
    if (n == 0 || n > kHandoverBytes - 64 || !codec::decode_snapshot(area, n, g_state) ||
        !policy.import_state(g_state)) {
        __atomic_store_n(&g_handover[0], 4ull, __ATOMIC_RELEASE);
        return false;
    }
    // No duplicates in what we took over (the hot-swap test checks this line).
    uint32_t dups = 0;
    for (uint32_t i = 0; i < g_state.nthreads; ++i)
        for (uint32_t k = i + 1; k < g_state.nthreads; ++k)
            if (g_state.threads[i].thread_id == g_state.threads[k].thread_id) ++dups;
    cap::print("[placement] %s imported %s v%u snapshot: threads=%u duplicates=%u ncpus=%u last_seq=%llu\n",
               policy.name(), g_state.policy, g_state.version, g_state.nthreads, dups, g_state.ncpus,
               static_cast<unsigned long long>(g_state.last_seq));
    *resume_after = g_state.last_seq;
    return true;
}

// --- hot swap over an Endpoint (Placement.exportState) ------------------------------------
// The supervisor grants the running server a root endpoint as `placement_ep`
// and its successor a client of it as `predecessor`. The server keeps one
// receive outstanding on its ring and looks at it between nextEvents calls
// (at most 20 ms apart); the successor calls exportState, imports the
// snapshot and attaches; the predecessor, quiesced after answering, sees the
// epoch move on (SchedulerControl.status) and exits, or resumes after 2 s
// when nobody attached (the successor refused the snapshot). Replies carry
// at most kMaxParams (8 KiB) of snapshot, about 160 threads; a bigger state
// is refused (`overflow`) and the old server stays.

CapHandle g_ep = capos::abi::kNullCap;
uint64_t g_rcv_tag = 0;
bool g_rcv_armed = false;
alignas(8) uint8_t g_rcv_params[32];
alignas(8) uint8_t g_rcv_buf[1024];
CapHandle g_rcv_caps[16];
alignas(8) uint8_t g_reply[8192];
alignas(8) uint8_t g_export[8192 - 256];

// An IncomingCall from Endpoint.receive, decoded by libcap's endpoint codec
// (generated bindings); not ok when the receive failed or timed out.
struct Incoming {
    uint64_t call_id = 0, iface = 0;
    uint16_t method = 0;
    bool ok = false;
};

Incoming decode_receive(const Cqe& c) {
    Incoming in;
    cap::Incoming got;
    if (!cap::decode_receive(c, g_rcv_buf, got).ok() || got.timed_out) return in;
    in.call_id = got.call_id;
    in.iface = got.iface;
    in.method = got.method;
    in.ok = true;
    return in;
}

void arm_receive() {
    if (g_ep == capos::abi::kNullCap || g_rcv_armed) return;
    cap::CallArgs a;
    a.cap = g_ep;
    a.method = cap::iface::kEndpointReceive;  // receive(timeoutNs = 0: none)
    a.params = g_rcv_params;
    a.params_len = cap::encode_receive(g_rcv_params, sizeof g_rcv_params, 0);
    a.result = g_rcv_buf;
    a.result_max = sizeof g_rcv_buf;
    a.caps = g_rcv_caps;
    a.caps_out_max = 16;
    auto tag = cap::this_ring().start(cap::make_sqe(a));
    g_rcv_armed = tag.ok();
    if (tag.ok()) g_rcv_tag = tag.value();
}

bool reply(uint64_t call_id, capos::abi::Status st, const void* results, uint32_t rlen) {
    // Endpoint.ReplyParams through the generated bindings. Not libcap's
    // encode_reply: it takes at most 4 KB of results, and an exportState
    // snapshot may be larger; this server replies from one thread.
    alignas(8) static unsigned char seg[sizeof g_reply];
    cap::capnp::MessageBuilder b(seg, sizeof seg);
    auto p = b.init_root<cap::schema::Endpoint::ReplyParams>();
    p.set_call_id(call_id);
    p.set_status(static_cast<int32_t>(st));
    if (rlen != 0) p.set_results(static_cast<const uint8_t*>(results), rlen);
    size_t n = 0;
    if (b.error() != cap::capnp::Error::Ok || b.write_flat(g_reply, sizeof g_reply, &n) != cap::capnp::Error::Ok)
        return false;
    cap::CallArgs a;
    a.cap = g_ep;
    a.method = cap::iface::kEndpointReply;
    a.params = g_reply;
    a.params_len = n;
    cap::Ring& r = cap::this_ring();
    auto tag = r.start(cap::make_sqe(a));
    if (!tag.ok()) return false;
    auto c = r.wait(tag.value());
    return c.ok() && c.value().status == 0;
}

// SchedulerControl.nextEvents params through the generated bindings into
// buf; the message length (0: no room).
uint32_t encode_next_events(void* buf, uint32_t size, uint32_t max, uint64_t timeout_ns) {
    alignas(8) unsigned char seg[64];
    cap::capnp::MessageBuilder b(seg, sizeof seg);
    auto p = b.init_root<cap::schema::SchedulerControl::NextEventsParams>();
    p.set_max(max);
    p.set_timeout_ns(timeout_ns);
    size_t n = 0;
    if (b.error() != cap::capnp::Error::Ok || b.write_flat(buf, size, &n) != cap::capnp::Error::Ok) return 0;
    return static_cast<uint32_t>(n);
}

// trace=1: the server records the kernel's placement trace of its run
// (SchedulerControl.traceDump(enable) before it attaches) and prints it
// when a client asks (Placement.traceDump, after a benchmark's last window).
bool g_trace = false;

// SchedulerControl.traceDump: prints and clears the kernel's trace, then
// records from now on only if `enable`. Returns the call's status (0: done).
int32_t sched_trace_dump(CapHandle ctl, bool enable) {
    alignas(8) uint8_t seg[64], msg[64], res[32];
    cap::capnp::MessageBuilder b(seg, sizeof seg);
    b.init_root<SchedCtl::TraceDumpParams>().set_enable(enable);
    size_t n = 0;
    if (b.error() != cap::capnp::Error::Ok || b.write_flat(msg, sizeof msg, &n) != cap::capnp::Error::Ok)
        return static_cast<int32_t>(capos::abi::Status::internal);
    return call(ctl, kSchedTraceDump, msg, static_cast<uint32_t>(n), res, sizeof res).cqe.status;
}

uint64_t current_epoch(CapHandle ctl) {
    alignas(8) uint8_t res[64];
    Raw s = call(ctl, kStatus, nullptr, 0, res, sizeof res);
    if (!s.ok) return 0;
    cap::capnp::FlatMessageReader<1> r;
    if (r.init_flat(res, s.cqe.result_len) != cap::capnp::Error::Ok || r.validate() != cap::capnp::Error::Ok) return 0;
    return r.root<cap::schema::SchedulerControl::StatusResults>().epoch();
}

// Serves a Placement call that arrived on placement_ep, if any. Returns
// true when we were taken over (the caller exits).
bool serve_endpoint(cap::StartInfo& info, Policy& policy, CapHandle ctl, uint64_t epoch) {
    Cqe c;
    if (!g_rcv_armed || !cap::this_ring().poll(g_rcv_tag, c)) return false;
    g_rcv_armed = false;
    Incoming in = decode_receive(c);
    bool taken = false;
    // Capabilities a caller sends along are not used (none of these methods
    // takes any); they stay in our table.
    if (in.ok) {
        if (in.iface != kPlacementIface) {
            (void)reply(in.call_id, capos::abi::Status::bad_method, nullptr, 0);
        } else if (in.method == kDescribe) {
            alignas(8) uint8_t seg[128], res[160];
            cap::capnp::MessageBuilder b(seg, sizeof seg);
            auto d = b.init_root<cap::schema::Placement::DescribeResults>();
            d.set_name(policy.name());
            d.set_version(policy.version());
            size_t n = 0;
            if (b.error() != cap::capnp::Error::Ok || b.write_flat(res, sizeof res, &n) != cap::capnp::Error::Ok)
                (void)reply(in.call_id, capos::abi::Status::internal, nullptr, 0);
            else (void)reply(in.call_id, capos::abi::Status::ok, res, static_cast<uint32_t>(n));
        } else if (in.method == kTraceDump) {
            // The dump goes to the serial log before the reply, so whoever asked
            // knows it is complete when the answer comes.
            const uint64_t t0 = now_ns(info);
            const int32_t st = g_trace ? sched_trace_dump(ctl, false) : -1;
            if (g_trace && st != 0) cap::print("[placement] %s: traceDump refused (%d)\n", policy.name(), st);
            if (g_trace && st == 0)
                cap::print("[placement] %s: trace dumped in %llu ms\n", policy.name(),
                           static_cast<unsigned long long>((now_ns(info) - t0) / 1'000'000));
            g_trace = false;  // one dump per run: the recording stopped with it
            alignas(8) uint8_t seg[64], res[96];
            cap::capnp::MessageBuilder b(seg, sizeof seg);
            b.init_root<cap::schema::Placement::TraceDumpResults>().set_dumped(st == 0);
            size_t n = 0;
            if (b.error() != cap::capnp::Error::Ok || b.write_flat(res, sizeof res, &n) != cap::capnp::Error::Ok)
                (void)reply(in.call_id, capos::abi::Status::internal, nullptr, 0);
            else (void)reply(in.call_id, capos::abi::Status::ok, res, static_cast<uint32_t>(n));
        } else if (in.method == kExportState) {
            // Quiesce: no nextEvents until the verdict; the kernel keeps every
            // event past the snapshot's lastSeq for the successor.
            g_state = PolicyState{};
            policy.export_state(g_state);
            uint32_t n = codec::encode_export_results(g_export, sizeof g_export, g_state, epoch);
            if (n == 0) {
                (void)reply(in.call_id, capos::abi::Status::overflow, nullptr, 0);
            } else if (reply(in.call_id, capos::abi::Status::ok, g_export, n)) {
                uint64_t until = now_ns(info) + 2'000'000'000ull;
                while (!taken && now_ns(info) < until) {
                    uint64_t e = current_epoch(ctl);
                    taken = e != 0 && e != epoch;
                    if (!taken) (void)cap::timer_sleep(cap::this_ring(), info.timer(), 1'000'000);
                }
                if (!taken) cap::print("[placement] %s: successor did not take over; resuming\n", policy.name());
            }
        } else {
            (void)reply(in.call_id, capos::abi::Status::bad_method, nullptr, 0);
        }
    }
    if (!taken) arm_receive();
    return taken;
}

// Successor side over the endpoint: exportState on `predecessor`, import.
bool take_over_endpoint(CapHandle pred, Policy& policy, uint64_t* resume_after) {
    alignas(8) uint8_t seg[32], params[48];
    cap::capnp::MessageBuilder b(seg, sizeof seg);
    (void)b.init_root<cap::schema::Placement::ExportStateParams>();
    size_t pn = 0;
    if (b.error() != cap::capnp::Error::Ok || b.write_flat(params, sizeof params, &pn) != cap::capnp::Error::Ok)
        return false;
    const Raw c = call_on(pred, cap::iface::Method{kPlacementIface, kExportState}, params, static_cast<uint32_t>(pn),
                          g_res, sizeof g_res);
    if (!c.ok) {
        cap::print("[placement] %s: exportState on the predecessor failed (%d)\n", policy.name(), c.cqe.status);
        return false;
    }
    if (!codec::decode_export_results(g_res, c.cqe.result_len, g_state) || !policy.import_state(g_state)) return false;
    uint32_t dups = 0;
    for (uint32_t i = 0; i < g_state.nthreads; ++i)
        for (uint32_t k = i + 1; k < g_state.nthreads; ++k)
            if (g_state.threads[i].thread_id == g_state.threads[k].thread_id) ++dups;
    // ncpus: the CPUs the predecessor's policy placed on (its start()).
    cap::print(
        "[placement] %s imported %s v%u snapshot: threads=%u duplicates=%u ncpus=%u last_seq=%llu (over the "
        "endpoint)\n",
        policy.name(), g_state.policy, g_state.version, g_state.nthreads, dups, g_state.ncpus,
        static_cast<unsigned long long>(g_state.last_seq));
    *resume_after = g_state.last_seq;
    return true;
}

// Where a test may kill the server inside one decision round (issue 18;
// `crash_at=` in libcap/crash_point.h, `:<n>` counts event batches):
//   after_events  a batch of events is received, the policy has seen none of it
//   mid_decision  the policy has taken half the batch
//   before_place  the decisions are encoded, SchedulerControl.place not yet called
// A list (`crash_at=after_events:2,mid_decision:2`) names one point per
// attach epoch, so a restarted server dies at the next point.
const char* const kCrashPoints[] = {"after_events", "mid_decision", "before_place"};
cap::CrashPoints g_crash;

// --- shared rings (docs/placement.md, "Shared rings") ----------------------------------------
// With rings=1 (the default) the server passes SchedulerControl.attach a
// MemoryObject of three pages (capos/abi/sched_ring.h): events arrive in
// its event ring, decisions go into its decision ring, and nextEvents is
// only the way to park (it first applies what the decision ring holds).

constexpr uint64_t kRingsVa = 0x0000'5100'0000'0000ull;
RingServer g_rs;

// Allocates and maps the ring pages; the MemoryObject's handle, or kNullCap.
CapHandle make_rings(cap::StartInfo& info) {
    auto mo = cap::process_allocate(cap::this_ring(), info.process(), capos::abi::kSchedRingPages * 4096ull);
    if (!mo.ok()) return capos::abi::kNullCap;
    auto m = cap::process_map(cap::this_ring(), info.process(), mo.value(), kRingsVa, 0,
                              capos::abi::kSchedRingPages * 4096ull, true, false);
    if (!m.ok()) return capos::abi::kNullCap;
    return mo.value();
}

RingPages rings_view() {
    RingPages v;
    auto* base = reinterpret_cast<uint8_t*>(kRingsVa);
    v.hdr = reinterpret_cast<capos::abi::SchedRingHeader*>(base);
    v.ev = reinterpret_cast<capos::abi::SchedRingEvent*>(base + 4096);
    v.dec = reinterpret_cast<capos::abi::SchedRingDecision*>(base + 8192);
    return v;
}

// SchedulerControl.attach params through the generated bindings; the
// rings MemoryObject (if any) is the call's first in-cap.
uint32_t encode_attach(void* buf, uint32_t size, uint64_t deadline_ns, uint64_t resume, bool rings) {
    namespace cp = cap::capnp;
    alignas(8) unsigned char seg[128];
    cp::MessageBuilder b(seg, sizeof seg);
    uint32_t cap_table[1];
    b.set_cap_table(cap_table, 1);
    auto p = b.init_root<cap::schema::SchedulerControl::AttachParams>();
    p.set_deadline_ns(deadline_ns);
    p.set_resume_after_seq(resume);
    if (rings && !p.set_rings(0)) return 0;
    size_t n = 0;
    if (b.error() != cp::Error::Ok || b.write_flat(buf, size, &n) != cp::Error::Ok) return 0;
    return static_cast<uint32_t>(n);
}

Event event_of(const capos::abi::SchedRingEvent& r) {
    Event e;
    e.seq = r.seq;
    e.time_ns = r.time_ns;
    e.thread_id = r.thread_id;
    e.process_id = r.process_id;
    e.run_ns = r.run_ns;
    e.aux = r.aux;
    e.cpu = r.cpu;
    e.weight = r.weight;
    e.runnable = r.runnable;
    e.kind = r.kind <= static_cast<uint8_t>(EventKind::demoted) ? static_cast<EventKind>(r.kind) : EventKind::none;
    return e;
}

capos::abi::SchedRingDecision ring_decision(const Decision& d, uint64_t epoch) {
    capos::abi::SchedRingDecision r{};
    r.answers_seq = d.answers_seq;
    r.thread_id = d.thread_id;
    r.process_id = d.process_id;
    r.cpu_mask = d.cpu_mask;
    r.value = d.value;
    r.cpu = d.cpu;
    r.kind = static_cast<uint8_t>(d.kind);
    r.epoch = epoch;
    return r;
}

// nextEvents(timeout): with rings, applies our decisions and parks until an
// event (timeout 0: only applies). False when the kernel refused: `code` is
// the exit code (0 replaced, 4 demoted).
bool park(CapHandle ctl, uint64_t timeout_ns, Policy& policy, int* code) {
    uint32_t nl = encode_next_events(g_msg, sizeof g_msg, 64, timeout_ns);
    Raw r = call(ctl, kNextEvents, g_msg, nl, g_res, sizeof g_res);
    if (r.ok) return true;
    cap::print("[placement] %s: nextEvents refused (%d); exiting\n", policy.name(), r.cqe.status);
    *code = r.cqe.status == static_cast<int32_t>(capos::abi::Status::stale_slot) ? 0 : 4;
    return false;
}

// Polling: pins the server's (one, main) thread to `cpu` with
// Thread.setCpuHint, then sleeps once so that its next placement puts it
// there. The policy places on the CPUs below it, so the spinning thread
// does not share a CPU with the threads it places. False: the kernel
// refused (the server then spins wherever the default put it).
bool pin_to(cap::StartInfo& info, uint32_t cpu) {
    using T = cap::schema::Thread;
    alignas(8) unsigned char seg[64];
    cap::capnp::MessageBuilder m(seg, sizeof seg);
    m.init_root<T::SetCpuHintParams>().set_cpu(cpu);
    alignas(8) unsigned char flat[96];
    size_t len = 0;
    if (m.write_flat(flat, sizeof flat, &len) != cap::capnp::Error::Ok) return false;
    const Cqe c = cap::raw_call(info.cap(capos::abi::StartCap::thread), T::kInterfaceId, T::Methods::set_cpu_hint, flat,
                                static_cast<uint32_t>(len));
    if (c.status != 0) return false;
    (void)cap::timer_sleep(cap::this_ring(), info.timer(), 1'000'000);
    return true;
}

struct Hooks {
    uint64_t fail_after;
    bool fail_exit, fail_hang, fail_garbage;
};

// The loop with rings: take events from the page, run the policy, put its
// decisions in the page. Blocking (poll=0): when no event waits, park in
// nextEvents, which also applies our decisions. Polling: spin; ring the
// doorbell (nextEvents with timeout 0) only when our decisions sat
// unconsumed for kDoorbellSpins empty polls (no event came to carry them:
// the kernel drains the page whenever it posts an event, and every tick).
int serve_rings(cap::StartInfo& info, Policy& policy, CapHandle ctl, uint64_t epoch, bool poll, const Hooks& h) {
    constexpr uint32_t kDoorbellSpins = 200;
    uint64_t seen = 0, dropped_seen = 0;
    uint32_t idle = 0;
    int code = 0;
    for (;;) {
        if (serve_endpoint(info, policy, ctl, epoch) ||
            (g_handover != nullptr && __atomic_load_n(&g_handover[0], __ATOMIC_ACQUIRE) == 1 &&
             serve_export(info, policy, epoch))) {
            cap::print("[placement] %s handed over; exiting\n", policy.name());
            return 0;
        }
        if (g_rs.closed()) {
            // Replaced, demoted or detached: the kernel says which.
            if (!park(ctl, 0, policy, &code)) return code;
            cap::print("[placement] %s: rings closed; exiting\n", policy.name());
            return 4;
        }
        if (uint64_t d = g_rs.dropped(); d != dropped_seen) {
            cap::print(
                "[placement] %s: %llu events dropped (kernel buffer full; those threads were placed by default)\n",
                policy.name(), static_cast<unsigned long long>(d - dropped_seen));
            dropped_seen = d;
        }
        capos::abi::SchedRingEvent re;
        int n = 0;
        while (n < 64 && g_rs.pop_event(re)) g_events[n++] = event_of(re);
        if (n == 0) {
            if (poll) {
                if (g_rs.decisions_unconsumed() != 0 && ++idle >= kDoorbellSpins) {
                    idle = 0;
                    if (!park(ctl, 0, policy, &code)) return code;
                }
                __builtin_ia32_pause();
                continue;
            }
            if (!park(ctl, 20'000'000, policy, &code)) return code;
            continue;
        }
        idle = 0;
        g_crash.hit("after_events");
        g_out.clear();
        for (int i = 0; i < n; ++i) {
            if (i == n / 2) g_crash.hit("mid_decision");
            ++seen;
            policy.on_event(g_events[i], g_out);
        }
        if (h.fail_after != 0 && seen > h.fail_after) {
            if (h.fail_exit) return 9;
            if (h.fail_hang) {
                cap::print("[placement] %s: hanging (test)\n", policy.name());
                for (;;) (void)cap::timer_sleep(cap::this_ring(), info.timer(), 1'000'000'000ull);
            }
            if (h.fail_garbage) {
                for (size_t i = 0; i < g_out.n; ++i) g_out.d[i].cpu = 999;  // no such CPU
                if (g_out.n == 0) g_out.push(assign(0, 1, 999));
            }
        }
        if (g_out.n == 0) continue;
        g_crash.hit("before_place");
        for (size_t i = 0; i < g_out.n; ++i) {
            // Full: the kernel has not taken the last 64 yet; have it apply them now.
            while (!g_rs.push_decision(ring_decision(g_out.d[i], epoch)))
                if (!park(ctl, 0, policy, &code)) return code;
        }
    }
}

}  // namespace

int run_server(cap::StartInfo& info, Policy& policy) {
    const char* args = info.args();
    CapHandle ctl = info.named("schedctl");
    if (ctl == capos::abi::kNullCap) {
        cap::print("[placement] %s: no schedctl capability\n", policy.name());
        return 2;
    }
    // One parser for the server's words and the policy's (policy_args.h).
    ArgError aerr;
    uint64_t deadline_us = 0, fail_after = 0, takeover_v = 0, cpus_arg = 0, rings_v = 1, poll_v = 0, trace_v = 0;
    bool args_ok = parse_key_values(args, ~size_t{0}, ' ', g_args, aerr) &&
                   server_u64("deadline_us", 0, 1'000'000'000, 0, deadline_us, aerr) &&
                   server_u64("fail_after", 0, ~0ull >> 1, 0, fail_after, aerr) &&
                   server_u64("takeover", 0, 1, 0, takeover_v, aerr) &&
                   server_u64("cpus", 0, kMaxCpus, 0, cpus_arg, aerr) && server_u64("rings", 0, 1, 1, rings_v, aerr) &&
                   server_u64("poll", 0, 1, 0, poll_v, aerr) && server_u64("trace", 0, 1, 0, trace_v, aerr);
    if (args_ok && poll_v != 0 && rings_v == 0) {
        aerr.add("poll=1 needs rings=1");
        args_ok = false;
    }
    g_policy_args.n = 0;
    for (uint32_t i = 0; args_ok && i < g_args.n; ++i)
        if (!is_server_key(g_args.kv[i])) g_policy_args.kv[g_policy_args.n++] = g_args.kv[i];
    if (args_ok) args_ok = policy.configure(g_policy_args, aerr);
    if (!args_ok) {
        cap::print("[placement] %s: arguments refused: %s\n", policy.name(), aerr.text);
        return 6;
    }
    // No deadline_us (or 0): the default for what runs the guest (accel.h).
    const Accel accel = detect_accel();
    const bool deadline_default = deadline_us == 0;
    if (deadline_default) deadline_us = default_deadline_us(accel);
    const uint64_t deadline_ns = deadline_us * 1000;
    const bool fail_hang = arg_is("fail", "hang");
    const bool fail_garbage = arg_is("fail", "garbage");
    const bool fail_exit = arg_is("fail", "exit");
    const bool takeover = takeover_v != 0;
    const bool have_handover = map_handover(info);
    const CapHandle pred = info.named("predecessor");
    if (!g_crash.configure("placement", args, kCrashPoints, sizeof kCrashPoints / sizeof kCrashPoints[0])) return 5;
    g_ep = info.named("placement_ep");

    // Attach: ask the kernel first for the CPU count (attach returns it).
    // start() waits for the CPU count attach returns (policy.h: lifecycle);
    // a successor imports its predecessor's state before that.
    uint64_t resume = 0;
    if (takeover) {
        // Over the predecessor's endpoint when granted one, else the page.
        bool ok = pred != capos::abi::kNullCap ? take_over_endpoint(pred, policy, &resume)
                                               : have_handover && take_over(info, policy, &resume);
        if (!ok) {
            cap::print("[placement] %s: import refused or no predecessor; the old server stays\n", policy.name());
            return 3;
        }
    }
    if (trace_v != 0) {
        // Start a fresh recording just before attaching (allowed: nobody else
        // serves yet). What it prints now is whatever was recorded before
        // (nothing without the kernel option strace); the run's dump is the next.
        const int32_t st = sched_trace_dump(ctl, true);
        g_trace = st == 0;
        if (st != 0) cap::print("[placement] %s: trace=1 but the kernel refused to record (%d)\n", policy.name(), st);
    }
    CapHandle rings_mo = rings_v != 0 ? make_rings(info) : capos::abi::kNullCap;
    if (rings_v != 0 && rings_mo == capos::abi::kNullCap)
        cap::print("[placement] %s: no memory for the rings; using calls\n", policy.name());
    const bool use_rings = rings_mo != capos::abi::kNullCap;
    uint32_t plen = encode_attach(g_msg, sizeof g_msg, deadline_ns, resume, use_rings);
    Raw a;
    CapHandle caps[1] = {rings_mo};
    if (plen != 0)
        a = call_on(ctl, cap::iface::Method{kSchedCtl, kAttach}, g_msg, plen, g_res, sizeof g_res,
                    use_rings ? caps : nullptr, use_rings ? 1 : 0);
    if (use_rings && a.ok && !g_rs.open(rings_view())) {
        cap::print("[placement] %s: the kernel did not set up the rings\n", policy.name());
        return 2;
    }
    if (!a.ok) {
        cap::print("[placement] %s: attach failed (%d)\n", policy.name(), a.cqe.status);
        if (takeover && have_handover && pred == capos::abi::kNullCap)
            __atomic_store_n(&g_handover[0], 4ull, __ATOMIC_RELEASE);
        return 2;
    }
    cap::capnp::FlatMessageReader<1> ar;
    if (ar.init_flat(g_res, a.cqe.result_len) != cap::capnp::Error::Ok || ar.validate() != cap::capnp::Error::Ok)
        return 2;
    const auto attached = ar.root<cap::schema::SchedulerControl::AttachResults>();
    uint64_t epoch = attached.epoch();
    uint32_t ncpus = attached.cpu_count();
    const uint32_t attach_ncpus = ncpus;
    uint32_t limit = static_cast<uint32_t>(cpus_arg);
    // Polling: the server's spinning thread needs a CPU of its own; the
    // policy places on the others (unless cpus= says otherwise).
    if (poll_v != 0 && limit == 0 && ncpus > 1) limit = ncpus - 1;
    if (limit != 0 && limit < ncpus) ncpus = limit;
    policy.start(ncpus);
    g_crash.select(epoch != 0 ? static_cast<uint32_t>(epoch - 1) : 0);
    if (takeover && pred == capos::abi::kNullCap) __atomic_store_n(&g_handover[0], 3ull, __ATOMIC_RELEASE);
    arm_receive();
    if (!arg_is("quiet", "1")) {
        // The policy's arguments as it took them (the benchmark checks them).
        char pa[160];
        uint32_t pl = 0;
        for (uint32_t i = 0; i < g_policy_args.n; ++i) {
            ArgError one;
            one.add(i == 0 ? " args=" : ",").add_pair(g_policy_args.kv[i]);
            for (uint32_t k = 0; k < one.len && pl + 1 < sizeof pa; ++k) pa[pl++] = one.text[k];
        }
        pa[pl] = '\0';
        cap::print("[placement] %s v%u serving epoch %llu on %u cpus (deadline %llu us%s%s, %s)%s\n", policy.name(),
                   policy.version(), static_cast<unsigned long long>(epoch), ncpus,
                   static_cast<unsigned long long>(deadline_ns / 1000), deadline_default ? ": default for " : "",
                   deadline_default ? accel_name(accel) : "",
                   !use_rings ? "calls" : (poll_v != 0 ? "rings, polling" : "rings"), pa);
    }
    if (use_rings) {
        // attach's own count (before cpus=): the last CPU is the spinner's.
        if (poll_v != 0 && attach_ncpus > 1 && !pin_to(info, attach_ncpus - 1))
            cap::print("[placement] %s: could not pin the polling thread to cpu %u\n", policy.name(), attach_ncpus - 1);
        Hooks h{fail_after, fail_exit, fail_hang, fail_garbage};
        return serve_rings(info, policy, ctl, epoch, poll_v != 0, h);
    }

    uint64_t seen = 0;
    for (;;) {
        if (serve_endpoint(info, policy, ctl, epoch)) {
            cap::print("[placement] %s handed over; exiting\n", policy.name());
            return 0;
        }
        if (have_handover && __atomic_load_n(&g_handover[0], __ATOMIC_ACQUIRE) == 1) {
            if (serve_export(info, policy, epoch)) {
                cap::print("[placement] %s handed over; exiting\n", policy.name());
                return 0;
            }
        }
        // nextEvents(max 64, timeout 20 ms): wakes as soon as an event arrives.
        uint32_t nl = encode_next_events(g_msg, sizeof g_msg, 64, 20'000'000);
        Raw r = call(ctl, kNextEvents, g_msg, nl, g_res, sizeof g_res);
        if (!r.ok) {
            // stale_slot: a successor attached; cancelled: the kernel demoted us.
            cap::print("[placement] %s: nextEvents refused (%d); exiting\n", policy.name(), r.cqe.status);
            return r.cqe.status == static_cast<int32_t>(capos::abi::Status::stale_slot) ? 0 : 4;
        }
        if (r.cqe.result_len == 0) continue;
        uint64_t dropped = 0;
        int n = codec::decode_events(g_res, r.cqe.result_len, g_events, 64, &dropped);
        if (n <= 0) continue;
        g_crash.hit("after_events");
        g_out.clear();
        for (int i = 0; i < n; ++i) {
            if (i == n / 2) g_crash.hit("mid_decision");
            ++seen;
            policy.on_event(g_events[i], g_out);
        }
        if (fail_after != 0 && seen > fail_after) {
            if (fail_exit) return 9;
            if (fail_hang) {
                cap::print("[placement] %s: hanging (test)\n", policy.name());
                for (;;) (void)cap::timer_sleep(cap::this_ring(), info.timer(), 1'000'000'000ull);
            }
            if (fail_garbage) {
                for (size_t i = 0; i < g_out.n; ++i) g_out.d[i].cpu = 999;  // no such CPU
                if (g_out.n == 0) g_out.push(assign(0, 1, 999));
            }
        }
        if (g_out.n == 0) continue;
        uint32_t pl = codec::encode_place(g_msg, sizeof g_msg, epoch, g_out.d, g_out.n);
        g_crash.hit("before_place");
        Raw pr = call(ctl, kPlace, g_msg, pl, g_res, sizeof g_res);
        if (!pr.ok && pr.cqe.status != static_cast<int32_t>(capos::abi::Status::ok)) {
            cap::print("[placement] %s: place refused (%d); exiting\n", policy.name(), pr.cqe.status);
            return pr.cqe.status == static_cast<int32_t>(capos::abi::Status::stale_slot) ? 0 : 4;
        }
        // Say why the first few rejected decisions were rejected (the kernel's reasons).
        static uint32_t reported = 0;
        cap::capnp::FlatMessageReader<1> rr;
        if (reported < 5 && pr.cqe.result_len != 0 && rr.init_flat(g_res, pr.cqe.result_len) == cap::capnp::Error::Ok &&
            rr.validate() == cap::capnp::Error::Ok) {
            const auto rej = rr.root<cap::schema::SchedulerControl::PlaceResults>().rejected();
            for (uint32_t i = 0; i < rej.size() && reported < 5; ++i, ++reported) {
                const auto e = rej[i];
                const auto why = e.reason();
                cap::print("[placement] %s: decision for seq %llu rejected: %.*s\n", policy.name(),
                           static_cast<unsigned long long>(e.answers_seq()), static_cast<int>(why.size()), why.data());
            }
        }
    }
}

}  // namespace placement
