// spawner.cpp - the ProcessSpawner server: starts processes from boot modules for
// whoever holds its capability, within the spawner's own quotas.
//
// Capabilities (from its manifest entry): "bootSpawner" (the kernel's
// ProcessSpawner; the only way to create a process), "init" (registry:
// it exports "spawner", a badged client of its endpoint). Arguments:
//   children=<n>  children alive at once, over all clients (default 16)
//   frames=<n>    frames quota summed over live children (default 65536)
//   slots=<n>     capability slots summed over live children (default 4096)
//   child_frames=<n>, child_slots=<n>  a child's quotas when the request leaves them 0
//   verbose=1     one line per spawn and exit
//   exit_after=<n> exit (code 0) after answering n requests (init's restart test)
//   crash_at=<point>[:<n>], crash_how=fault|stall  test only: die inside a spawn
//                 (libcap/crash_point.h; the points are kCrashPoints below)
//
// Requests (interface ProcessSpawner, schema/spawner.capnp):
//   spawn @0  checked, then forwarded to the kernel with the caller's own
//             capabilities (transferred with the call, so a child never gets
//             more than its parent passes; rights masked by CapGrant.rights).
//             Errors: invalid_argument (unknown module, bad name), invalid_slot
//             (a CapGrant names no transferred capability), quota_exceeded
//             (children, frames or slots of this spawner: the reply's results
//             are a SpawnRefusal naming the quota, used, limit and asked), or
//             the kernel's status (an ELF it refuses, its own quotas).
//             The child gets exactly the CapGrants (console, park, timer
//             included: nothing is added on the way).
//   modules @1  the boot module names (forwarded to the kernel).
//   stats @2  the kernel's freeFrames words 0..4, then this server's used
//             slots and live children (for leak checks).
// The result of spawn carries a copy of the child's ProcessHandle (wait,
// kill go straight to the kernel); the server keeps its own copy and waits
// on it to give the quota back.
#include "capos/capnp/capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "libcap/crash_point.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "srv.h"

namespace {

using capos::abi::CapHandle;
using srv::Status;

constexpr uint32_t kMaxChildren = 56;  // tracked ring operations: 64, minus receive and calls

struct Child {
    CapHandle handle = 0;  // 0: free
    uint64_t pid = 0;
    uint64_t frames = 0;
    uint32_t slots = 0;
    uint64_t tag = 0;
    alignas(8) uint8_t res[64];
};

struct Limits {
    uint32_t children = 16;
    uint64_t frames = 65536;
    uint64_t slots = 4096;
    uint64_t child_frames = 2048;
    uint32_t child_slots = 64;
} g_lim;

Child g_children[kMaxChildren];
uint32_t g_live = 0;
uint64_t g_frames_used = 0, g_slots_used = 0;
uint64_t g_spawned = 0;
bool g_verbose = false;
CapHandle g_boot = 0, g_ep = 0;
char g_modules[2048];

// Where a test may kill the server inside one spawn request (issue 18):
//   after_request  the request is received and framed, nothing checked yet
//   after_checks   module, grants and quotas accepted, the kernel not yet asked
//   after_create   the kernel created and loaded the child; not yet recorded
//   before_reply   the reply (handle, pid) is built, not yet sent
const char* const kCrashPoints[] = {"after_request", "after_checks", "after_create", "before_reply"};
cap::CrashPoints g_crash;

void arm_wait(Child& c) {
    auto t = srv::start_wait_process(c.handle, c.res, sizeof c.res);
    c.tag = t.ok() ? t.value() : 0;
}

void child_gone(Child& c, const capos::abi::Cqe& cqe) {
    if (g_verbose) {
        const srv::Exit x = cqe.status == 0 ? srv::decode_exit(c.res, cqe.result_len) : srv::Exit{cqe.status, 0xffff};
        cap::print("[spawner] child %llu exited: code=%lld reason=%s\n", static_cast<unsigned long long>(c.pid),
                   static_cast<long long>(x.code), srv::reason_name(x.reason));
    }
    (void)srv::drop_caps(&c.handle, 1);
    g_frames_used -= c.frames;
    g_slots_used -= c.slots;
    --g_live;
    c = Child{};
}

// Claims completed child waits (so the quota is free before a decision).
void collect_children() {
    capos::abi::Cqe cqe{};
    // enter(0, 0) posts completions the kernel has finished but not yet put
    // in the CQ (a child that exited just before this request).
    (void)cap::this_ring().enter(0, 0);
    cap::this_ring().reap();
    for (Child& c : g_children)
        if (c.handle != 0 && c.tag != 0 && cap::this_ring().poll(c.tag, cqe)) child_gone(c, cqe);
}

Status refuse(const char* why, uint64_t badge, const char* detail) {
    cap::print("[spawner] refused spawn from client %llu: %s%s\n", static_cast<unsigned long long>(badge), why, detail);
    return Status::ok;
}

// spawn: decode and check everything, then forward. Returns the reply status;
// on success fills the result message and the handle to pass back.
Status handle_spawn(srv::Incoming& in, uint8_t* res, uint32_t& rlen, CapHandle& out_handle) {
    namespace cp = cap::capnp;
    using Spawn = cap::schema::ProcessSpawner;
    // A grant names one of the call's capabilities by its index (read through
    // srv::identity_cap_table); an index past them is refused below as
    // invalid_slot, not as a malformed message.
    cp::FlatMessageReader<4> r;
    if (r.init_flat(in.params, in.params_len) != cp::Error::Ok) return Status::malformed_message;
    r.set_cap_table(srv::identity_cap_table());
    if (r.validate() != cp::Error::Ok) return Status::malformed_message;
    g_crash.hit("after_request");
    const auto root = r.root<Spawn::SpawnParams>();
    const auto name = root.name();
    const auto module = root.module();
    const auto args = root.args();
    const auto caps = root.caps();
    const auto quotas = root.quotas();
    // A field of the wrong kind (a list where text belongs) reads as its
    // default and leaves the reader's error set.
    if (r.error() != cp::Error::Ok) return Status::malformed_message;
    char detail[96];
    // Decode: module, capabilities, quotas. Nothing changes until all pass.
    if (!srv::module_listed(g_modules, module.c_str(), module.size())) {
        uint32_t n = module.size() < 48 ? module.size() : 48;
        char m[49];
        __builtin_memcpy(m, module.c_str(), n);
        m[n] = '\0';
        cap::snprint(detail, sizeof detail, " '%s'", m);
        refuse("unknown module", in.badge, detail);
        return Status::invalid_argument;
    }
    if (name.size() == 0 || name.size() > 31) {
        refuse("bad process name", in.badge, "");
        return Status::invalid_argument;
    }
    if (caps.size() > 16) {
        refuse("too many capabilities", in.badge, "");
        return Status::invalid_argument;
    }
    srv::Grant grants[16];
    char gnames[16][24];
    const uint32_t ng = caps.size();
    for (uint32_t i = 0; i < ng; ++i) {
        const auto g = caps[i];
        const auto gname = g.name();
        uint32_t gcap = 0;
        const bool has_cap = g.cap().get_capability(gcap);
        if (gname.size() == 0 || gname.size() > 23) {
            refuse("bad capability name", in.badge, "");
            return Status::invalid_argument;
        }
        if (!has_cap || gcap >= in.cap_count || in.caps[gcap] == 0) {
            cap::snprint(detail, sizeof detail, " (grant %u names no transferred capability)", i);
            refuse("invalid capability", in.badge, detail);
            return Status::invalid_slot;
        }
        __builtin_memcpy(gnames[i], gname.c_str(), gname.size());
        gnames[i][gname.size()] = '\0';
        grants[i] = srv::Grant{gnames[i], in.caps[gcap], g.rights()};
    }
    srv::Quotas q;
    q.frames = quotas.frames();
    q.cap_slots = quotas.cap_slots();
    q.threads = quotas.threads();
    q.outstanding_calls = quotas.outstanding_calls();
    q.children = quotas.children();
    if (q.frames == 0) q.frames = g_lim.child_frames;
    if (q.cap_slots == 0) q.cap_slots = g_lim.child_slots;
    collect_children();
    // A quota refusal says which quota in its results (SpawnRefusal).
    auto over = [&](srv::SpawnQuota which, uint64_t used, uint64_t limit, uint64_t asked) {
        rlen = srv::encode_spawn_refusal(res, 128, srv::SpawnRefusal{which, used, limit, asked});
        return Status::quota_exceeded;
    };
    const uint32_t max_children = g_lim.children < kMaxChildren ? g_lim.children : kMaxChildren;
    if (g_live >= max_children) {
        cap::snprint(detail, sizeof detail, " (%u of %u alive)", g_live, max_children);
        refuse("children quota exhausted", in.badge, detail);
        return over(srv::SpawnQuota::children, g_live, max_children, 1);
    }
    if (q.frames > g_lim.frames - g_frames_used) {
        cap::snprint(detail, sizeof detail, " (%llu asked, %llu of %llu left)",
                     static_cast<unsigned long long>(q.frames),
                     static_cast<unsigned long long>(g_lim.frames - g_frames_used),
                     static_cast<unsigned long long>(g_lim.frames));
        refuse("frames quota exhausted", in.badge, detail);
        return over(srv::SpawnQuota::frames, g_frames_used, g_lim.frames, q.frames);
    }
    if (q.cap_slots > g_lim.slots - g_slots_used) {
        cap::snprint(detail, sizeof detail, " (%u asked, %llu left)", q.cap_slots,
                     static_cast<unsigned long long>(g_lim.slots - g_slots_used));
        refuse("slots quota exhausted", in.badge, detail);
        return over(srv::SpawnQuota::cap_slots, g_slots_used, g_lim.slots, q.cap_slots);
    }
    Child* slot = nullptr;
    for (Child& c : g_children)
        if (c.handle == 0) {
            slot = &c;
            break;
        }
    if (slot == nullptr)
        return over(srv::SpawnQuota::children, g_live, max_children, 1);  // not reached: g_live counts them
    // Invoke: the kernel creates the process (or refuses, e.g. a bad ELF).
    char pname[32], mname[64], argbuf[256];
    __builtin_memcpy(pname, name.c_str(), name.size());
    pname[name.size()] = '\0';
    const uint32_t ml = module.size() < 63 ? module.size() : 63;
    __builtin_memcpy(mname, module.c_str(), ml);
    mname[ml] = '\0';
    uint32_t al = 0;
    for (uint32_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        if (r.error() != cp::Error::Ok || al + a.size() + 2 > sizeof argbuf) return Status::invalid_argument;
        if (al != 0) argbuf[al++] = ' ';
        __builtin_memcpy(argbuf + al, a.c_str(), a.size());
        al += a.size();
    }
    argbuf[al] = '\0';
    const uint32_t weight = root.placement_weight();
    g_crash.hit("after_checks");
    auto sp = srv::spawn(g_boot, pname, mname, argbuf, grants, ng, q, weight);
    if (!sp.ok()) {
        cap::snprint(detail, sizeof detail, " (module '%s': %s)", mname, cap::status_name(sp.status()));
        refuse("kernel refused", in.badge, detail);
        return sp.status();
    }
    g_crash.hit("after_create");
    slot->handle = sp.value().handle;
    slot->pid = sp.value().pid;
    slot->frames = q.frames;
    slot->slots = q.cap_slots;
    g_frames_used += q.frames;
    g_slots_used += q.cap_slots;
    ++g_live;
    ++g_spawned;
    arm_wait(*slot);
    if (g_verbose)
        cap::print("[spawner] spawned %s (module %s) as process %llu for client %llu\n", pname, mname,
                   static_cast<unsigned long long>(slot->pid), static_cast<unsigned long long>(in.badge));
    // The handle travels as the reply's capability 0.
    alignas(8) unsigned char seg[96];
    cp::MessageBuilder b(seg, sizeof seg);
    uint32_t table[1];
    b.set_cap_table(table, 1);
    auto out = b.init_root<Spawn::SpawnResults>();
    out.set_process_id(slot->pid);
    size_t n = 0;
    if (!out.set_handle(0) || b.write_flat(res, 128, &n) != cp::Error::Ok) return Status::internal;
    rlen = static_cast<uint32_t>(n);
    out_handle = slot->handle;
    return Status::ok;
}

void handle(srv::Incoming& in) {
    alignas(8) static uint8_t res[4096];
    uint32_t rlen = 0;
    CapHandle out = 0;
    Status st = Status::bad_method;
    if (in.iface == srv::kSpawner && in.method == srv::kSpawn) {
        st = handle_spawn(in, res, rlen, out);
    } else if (in.iface == srv::kSpawner && in.method == srv::kModules) {
        // Forward the kernel's list as is.
        alignas(8) static uint8_t mres[4096];
        capos::abi::Cqe c = srv::raw_call(g_boot, srv::kSpawner, srv::kModules, nullptr, 0, mres, sizeof mres);
        st = srv::status_of(c);
        if (st == Status::ok) {
            if (c.result_len > sizeof res) st = Status::result_too_large;
            else {
                __builtin_memcpy(res, mres, c.result_len);
                rlen = c.result_len;
            }
        }
    } else if (in.iface == srv::kSpawner && in.method == srv::kStats) {
        collect_children();
        auto k = srv::stats(g_boot);
        st = k.ok() ? Status::ok : k.status();
        if (k.ok()) {
            namespace cp = cap::capnp;
            alignas(8) unsigned char seg[96];
            cp::MessageBuilder b(seg, sizeof seg);
            auto ff = b.init_root<cap::schema::ProcessSpawner::FreeFramesResults>();
            ff.set_frames(k.value().free_frames);
            ff.set_heap_bytes_in_use(k.value().heap_in_use);
            ff.set_heap_bytes_mapped(k.value().heap_mapped);
            ff.set_heap_allocations(k.value().heap_allocations);
            ff.set_live_processes(k.value().processes);
            ff.set_cap_slots_used(k.value().slots_used);
            ff.set_live_children(g_live);
            size_t n = 0;
            if (b.write_flat(res, sizeof res, &n) != cp::Error::Ok) st = Status::internal;
            rlen = static_cast<uint32_t>(n);
        }
    }
    // The caller's capabilities are ours only for the call: the kernel copied
    // what the child gets. Drop them all.
    for (uint32_t i = 0; i < in.cap_count; ++i)
        if (in.caps[i] != 0) (void)srv::drop_caps(&in.caps[i], 1);
    if (in.iface == srv::kSpawner && in.method == srv::kSpawn) g_crash.hit("before_reply");
    auto rr = srv::reply(g_ep, in.call_id, st, res, rlen, out != 0 ? &out : nullptr, out != 0 ? 1 : 0);
    if (!rr.ok()) cap::print("[spawner] reply failed: %s\n", cap::status_name(rr.status()));
}

}  // namespace

int main(cap::StartInfo& info) {
    const char* a = info.args();
    g_lim.children = static_cast<uint32_t>(srv::arg_u64(a, "children", g_lim.children));
    g_lim.frames = srv::arg_u64(a, "frames", g_lim.frames);
    g_lim.slots = srv::arg_u64(a, "slots", g_lim.slots);
    g_lim.child_frames = srv::arg_u64(a, "child_frames", g_lim.child_frames);
    g_lim.child_slots = static_cast<uint32_t>(srv::arg_u64(a, "child_slots", g_lim.child_slots));
    g_verbose = srv::arg_u64(a, "verbose", 0) != 0;
    const uint64_t exit_after = srv::arg_u64(a, "exit_after", 0);
    if (!g_crash.configure("spawner", a, kCrashPoints, sizeof kCrashPoints / sizeof kCrashPoints[0])) return 7;
    uint64_t handled = 0;
    if (g_lim.children > kMaxChildren) g_lim.children = kMaxChildren;
    g_boot = info.named("bootSpawner");
    const CapHandle reg = info.named("init");
    if (g_boot == 0) {
        cap::print("[spawner] error: no bootSpawner capability\n");
        return 2;
    }
    auto nm = srv::modules(g_boot, g_modules, sizeof g_modules);
    if (!nm.ok()) {
        cap::print("[spawner] error: cannot list boot modules: %s\n", cap::status_name(nm.status()));
        return 3;
    }
    auto ep = srv::create_endpoint();
    if (!ep.ok()) {
        cap::print("[spawner] error: no endpoint: %s\n", cap::status_name(ep.status()));
        return 4;
    }
    g_ep = ep.value();
    if (reg != 0) {
        auto client = srv::mint(g_ep, 1);
        if (!client.ok() || !srv::register_export(reg, "spawner", client.value()).ok()) {
            cap::print("[spawner] error: cannot export the spawner capability\n");
            return 5;
        }
        CapHandle c = client.value();
        (void)srv::drop_caps(&c, 1);  // init has its copy
    }
    cap::print("[spawner] ready: children<=%u frames<=%llu slots<=%llu, %u boot modules\n", g_lim.children,
               static_cast<unsigned long long>(g_lim.frames), static_cast<unsigned long long>(g_lim.slots), nm.value());
    if (reg != 0 && !srv::register_ready(reg).ok()) cap::print("[spawner] warning: init did not take ready\n");

    cap::Ring& ring = cap::this_ring();
    alignas(8) static uint8_t rbuf[8192 + 256];
    alignas(8) uint8_t rparams[32];
    const uint32_t plen = srv::encode_receive(rparams, sizeof rparams, 0);
    srv::Incoming in{};
    for (;;) {
        in = srv::Incoming{};
        cap::CallArgs ca;
        ca.cap = g_ep;
        ca.method = cap::iface::kEndpointReceive;
        ca.params = rparams;
        ca.params_len = plen;
        ca.result = rbuf;
        ca.result_max = sizeof rbuf;
        ca.caps = in.caps;
        ca.caps_out_max = 16;
        auto t = ring.start(cap::make_sqe(ca));
        if (!t.ok()) {
            cap::print("[spawner] receive failed: %s\n", cap::status_name(t.status()));
            return 6;
        }
        capos::abi::Cqe c{};
        // Wait for a request; child exits arriving meanwhile give quota back.
        while (!ring.poll(t.value(), c)) {
            collect_children();
            if (ring.poll(t.value(), c)) break;
            (void)ring.enter(1, capos::abi::kTimeoutInfinite);
            ring.reap();
        }
        if (!srv::decode_receive(c, rbuf, in).ok() || in.timed_out) continue;
        handle(in);
        if (exit_after != 0 && ++handled == exit_after) {
            cap::print("[spawner] exiting after %llu requests (exit_after)\n",
                       static_cast<unsigned long long>(handled));
            return 0;
        }
    }
}
