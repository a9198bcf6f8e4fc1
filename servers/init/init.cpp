// init.cpp - the first process: reads the boot manifest, starts every module with
// exactly the capabilities it lists, reports exits and restarts what may be restarted.
//
// What the kernel gives init (boot/init_process.cpp): the well-known caps
// (own Process and Thread, Console, Park, Timer), the named cap "spawner" (the
// kernel's ProcessSpawner over the boot modules), "manifest" (a read-only
// MemoryObject copy of the boot module manifest-<name>), "schedctl" (the
// SchedulerControl, for the placement server only), "kstats" (the same object
// with Read only: the KernelStats counters) and, where the kernel has
// it, "bootInfo". Its arguments say
// `manifest=<name> manifest_bytes=<n>`, and `placement=<k=v,...>` when the
// kernel command line has that option (added to the entry named placement).
// See docs/boot.md.
//
// A module gets exactly its entry's caps (plus "init" for exporters): the
// kernel spawner adds only the child's own Process and Thread, so Console,
// Park and Timer reach a module only when its entry lists them (a grant
// named "console"/"park"/"timer" also fills the child's well-known slot).
#include "capos/schema/manifest.capnp.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "manifest.h"
#include "srv.h"

namespace {

using capos::abi::CapHandle;
using srv::Status;

// Bootstrap timing: how long a module with exports has to say ready.
constexpr uint64_t kReadyTimeoutNs = 20'000'000'000ull;

struct Running {
    CapHandle handle = 0;  // ProcessHandle (0: not running)
    uint64_t pid = 0;
    uint32_t restarts = 0;
    bool ready = false;
    bool failed = false;   // could not start, or gave up on it
    bool waiting = false;  // a wait op is outstanding
    bool gone = false;     // ended and not restarted: its exports died with it, or it faulted / was killed
    uint64_t wait_tag = 0;
    alignas(8) uint8_t wait_res[64];
};

struct Export {
    uint32_t entry = 0;
    char name[init::kCapNameMax] = {};
    CapHandle cap = 0;
};

init::Manifest g_manifest;
Running g_run[init::kMaxEntries];
Export g_exports[init::kMaxEntries * init::kMaxExports];
uint32_t g_nexports = 0;
CapHandle g_kernel[static_cast<uint32_t>(init::KernelCap::count)] = {};
CapHandle g_endpoint = 0;
// One Endpoint per manifest channel (schema/manifest.capnp CapSource.channel),
// created before the first module starts; init keeps it for restarts.
CapHandle g_channels[init::kMaxChannels] = {};
char g_manifest_name[64] = "default";

[[noreturn]] void idle_forever() {
    for (;;) (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), 3600'000'000'000ull);
}

CapHandle export_cap(uint32_t entry, const char* name) {
    for (uint32_t i = 0; i < g_nexports; ++i)
        if (g_exports[i].entry == entry && srv::str_eq(g_exports[i].name, name)) return g_exports[i].cap;
    return 0;
}

// Handles one BootRegistry call (export / ready) that arrived at init's endpoint.
void handle_registry(srv::Incoming& in) {
    const uint32_t idx = static_cast<uint32_t>(in.badge - 1);
    Status st = Status::ok;
    if (in.badge == 0 || idx >= g_manifest.count || in.iface != srv::kBootRegistry) {
        st = Status::bad_method;
    } else if (in.method == srv::kRegExport) {
        namespace cp = cap::capnp;
        using BR = cap::schema::BootRegistry;
        const init::Entry& e = g_manifest.entries[idx];
        // The cap field names one of the call's capabilities by its index
        // (srv::identity_cap_table); an index past them is refused here.
        cp::FlatMessageReader<1> rd;
        bool framed = rd.init_flat(in.params, in.params_len) == cp::Error::Ok;
        rd.set_cap_table(srv::identity_cap_table());
        framed = framed && rd.validate() == cp::Error::Ok;
        const auto params = rd.root<BR::ExportParams>();
        const auto nm = params.name();
        uint32_t ci = 0;
        const bool has_cap = params.cap().get_capability(ci);
        if (!framed || rd.error() != cp::Error::Ok || nm.size() == 0 || !has_cap || ci >= in.cap_count) {
            st = Status::malformed_message;
        } else {
            const char* name = nm.c_str();
            bool listed = false;
            for (uint32_t k = 0; k < e.nexports; ++k) listed = listed || srv::str_eq(name, nm.size(), e.exports[k]);
            if (!listed) {
                cap::print("[init] %s: refused export '%s' (not in its manifest entry)\n", e.name, name);
                st = Status::invalid_argument;
            } else {
                // Replace an older registration (a restarted exporter).
                Export* slot = nullptr;
                for (uint32_t i = 0; i < g_nexports; ++i)
                    if (g_exports[i].entry == idx && srv::str_eq(g_exports[i].name, name)) slot = &g_exports[i];
                if (slot != nullptr) {
                    CapHandle old = slot->cap;
                    (void)srv::drop_caps(&old, 1);
                } else if (g_nexports < sizeof g_exports / sizeof g_exports[0]) {
                    slot = &g_exports[g_nexports++];
                    slot->entry = idx;
                    for (uint32_t k = 0; k < nm.size() && k + 1 < sizeof slot->name; ++k) slot->name[k] = name[k];
                }
                if (slot != nullptr) {
                    slot->cap = in.caps[ci];
                    in.caps[ci] = 0;  // kept
                } else {
                    st = Status::quota_exceeded;
                }
            }
        }
    } else if (in.method == srv::kRegReady) {
        if (!g_run[idx].ready) cap::print("[init] %s ready\n", g_manifest.entries[idx].name);
        g_run[idx].ready = true;
    } else {
        st = Status::bad_method;
    }
    // Capabilities that came with the call and were not kept are dropped.
    for (uint32_t i = 0; i < in.cap_count; ++i)
        if (in.caps[i] != 0) (void)srv::drop_caps(&in.caps[i], 1);
    (void)srv::reply(g_endpoint, in.call_id, st, nullptr, 0, nullptr, 0);
}

// Starts entry idx (first start or a restart). Returns false on failure (printed).
bool start_entry(uint32_t idx) {
    const init::Entry& e = g_manifest.entries[idx];
    Running& run = g_run[idx];
    srv::Grant grants[init::kMaxCaps + 1];
    uint32_t n = 0;
    CapHandle minted[init::kMaxCaps] = {};  // channel clients: init's copies go after the spawn
    uint32_t nminted = 0;
    for (uint32_t k = 0; k < e.ncaps; ++k) {
        const init::CapSpec& s = e.caps[k];
        CapHandle c = 0;
        if (s.kernel) {
            c = g_kernel[s.kcap];
        } else if (s.channel) {
            // The serving end gets the Endpoint; a calling end a client minted from
            // it (badge: the entry's index + 1, as the registry's), dropped after
            // the spawn like the registry cap.
            c = g_channels[s.chan];
            if (c != 0 && !s.serve) {
                auto m = srv::mint(c, idx + 1);
                c = m.ok() ? m.value() : 0;
                if (c != 0) minted[nminted++] = c;
            }
        } else {
            const int src = init::find_entry(g_manifest, s.module);
            c = src < 0 ? 0 : export_cap(static_cast<uint32_t>(src), s.exp);
        }
        if (c == 0) {
            cap::print("[init] not starting %s: capability '%s' unavailable (%s %s%s%s)\n", e.name, s.name,
                       s.kernel    ? "kernel"
                       : s.channel ? "channel"
                                   : "service",
                       s.kernel    ? init::kernel_cap_name(s.kcap)
                       : s.channel ? ""
                                   : s.module,
                       s.kernel || s.channel ? "" : ".", s.kernel ? "" : s.exp);
            if (nminted != 0) (void)srv::drop_caps(minted, static_cast<uint16_t>(nminted));
            return false;
        }
        grants[n++] = srv::Grant{s.name, c, s.rights};
    }
    CapHandle reg = 0;
    if (e.nexports != 0) {
        auto m = srv::mint(g_endpoint, idx + 1);
        if (!m.ok()) {
            cap::print("[init] not starting %s: cannot mint its registry cap: %s\n", e.name,
                       cap::status_name(m.status()));
            if (nminted != 0) (void)srv::drop_caps(minted, static_cast<uint16_t>(nminted));
            return false;
        }
        reg = m.value();
        grants[n++] = srv::Grant{"init", reg, 0xffffffffu};
    }
    srv::Quotas q = e.quotas;
    const srv::Quotas& d = g_manifest.defaults;
    if (q.frames == 0) q.frames = d.frames;
    if (q.cap_slots == 0) q.cap_slots = d.cap_slots;
    if (q.threads == 0) q.threads = d.threads;
    if (q.outstanding_calls == 0) q.outstanding_calls = d.outstanding_calls;
    if (q.children == 0) q.children = d.children;
    auto sp = srv::spawn(g_kernel[static_cast<uint32_t>(init::KernelCap::process_spawner)], e.name, e.image, e.args,
                         grants, n, q, e.weight);
    if (reg != 0) (void)srv::drop_caps(&reg, 1);  // the child has its own copy
    if (nminted != 0) (void)srv::drop_caps(minted, static_cast<uint16_t>(nminted));
    if (!sp.ok()) {
        cap::print("[init] failed to start %s (image %s): %s\n", e.name, e.image, cap::status_name(sp.status()));
        return false;
    }
    run.handle = sp.value().handle;
    run.pid = sp.value().pid;
    run.ready = e.nexports == 0;
    run.waiting = false;
    cap::print("[init] started %s (image %s) as process %llu with %u capabilities\n", e.name, e.image,
               static_cast<unsigned long long>(run.pid), n);
    return true;
}

// Starts the wait for entry idx's exit (an outstanding ProcessHandle.wait).
void arm_wait(uint32_t idx) {
    Running& run = g_run[idx];
    if (run.handle == 0 || run.waiting) return;
    auto t = srv::start_wait_process(run.handle, run.wait_res, sizeof run.wait_res);
    if (!t.ok()) {
        cap::print("[init] cannot watch %s: %s\n", g_manifest.entries[idx].name, cap::status_name(t.status()));
        return;
    }
    run.wait_tag = t.value();
    run.waiting = true;
}

// The one registry receive init keeps outstanding, shared by the start-up
// phase and supervise(): two receives on one ring would each take calls the
// other never answers.
struct RegistryReceive {
    bool armed = false;
    uint64_t tag = 0;
    srv::Incoming in{};
    alignas(8) uint8_t params[32];
    alignas(8) uint8_t buf[4096];
} g_rcv;

void on_exit(uint32_t idx, const srv::Exit& x);

// Handles whatever has completed on init's ring: a registry call, module
// exits. Returns true if anything did.
bool poll_once() {
    cap::Ring& ring = cap::this_ring();
    if (!g_rcv.armed) {
        g_rcv.in = srv::Incoming{};
        cap::CallArgs a;
        a.cap = g_endpoint;
        a.method = cap::iface::kEndpointReceive;
        a.params = g_rcv.params;
        a.params_len = srv::encode_receive(g_rcv.params, sizeof g_rcv.params, 0);
        a.result = g_rcv.buf;
        a.result_max = sizeof g_rcv.buf;
        a.caps = g_rcv.in.caps;
        a.caps_out_max = 16;
        auto t = ring.start(cap::make_sqe(a));
        if (t.ok()) {
            g_rcv.tag = t.value();
            g_rcv.armed = true;
        }
    }
    bool progress = false;
    capos::abi::Cqe c{};
    if (g_rcv.armed && ring.poll(g_rcv.tag, c)) {
        g_rcv.armed = false;
        progress = true;
        if (srv::decode_receive(c, g_rcv.buf, g_rcv.in).ok() && !g_rcv.in.timed_out) handle_registry(g_rcv.in);
    }
    for (uint32_t i = 0; i < g_manifest.count; ++i) {
        Running& run = g_run[i];
        if (!run.waiting || !ring.poll(run.wait_tag, c)) continue;
        progress = true;
        run.waiting = false;
        srv::Exit x{};
        if (c.status == 0) x = srv::decode_exit(run.wait_res, c.result_len);
        else x = srv::Exit{c.status, 0xffff};
        on_exit(i, x);
    }
    return progress;
}

// Serves the registry and watches exits until entry idx is ready, has ended
// (and was not restarted) or the deadline passes. Exits of any module are
// reported as they happen, so a module that dies while init is still
// starting others is seen before its dependents are considered, and an
// exporter that dies before `ready` does not cost the full timeout.
bool wait_ready(uint32_t idx) {
    cap::Ring& ring = cap::this_ring();
    auto t0 = srv::now_ns();
    const uint64_t start = t0.ok() ? t0.value() : 0;
    while (!g_run[idx].ready) {
        if (g_run[idx].handle == 0) return false;
        auto now = srv::now_ns();
        const uint64_t spent = now.ok() ? now.value() - start : 0;
        if (spent >= kReadyTimeoutNs) return false;
        if (!poll_once()) {
            (void)ring.enter(1, kReadyTimeoutNs - spent);
            ring.reap();
        }
    }
    // Exits that completed together with the ready call (a module that killed
    // another before saying ready) are reported before anything depends on them.
    (void)ring.enter(0, 0);
    ring.reap();
    while (poll_once()) {}
    return true;
}

// Serves the registry and watches exits for ms milliseconds (a timed start,
// BootModule.startAfterMs): init stays responsive while it waits.
void serve_for_ms(uint32_t ms) {
    cap::Ring& ring = cap::this_ring();
    auto t0 = srv::now_ns();
    const uint64_t start = t0.ok() ? t0.value() : 0;
    const uint64_t want = uint64_t{ms} * 1'000'000ull;
    for (;;) {
        auto now = srv::now_ns();
        const uint64_t spent = now.ok() ? now.value() - start : want;
        if (spent >= want) return;
        if (!poll_once()) {
            (void)ring.enter(1, want - spent);
            ring.reap();
        }
    }
}

// Exit of entry idx observed: report, maybe restart.
void on_exit(uint32_t idx, const srv::Exit& x) {
    const init::Entry& e = g_manifest.entries[idx];
    Running& run = g_run[idx];
    cap::print("[init] %s (process %llu) exited: code=%lld reason=%s\n", e.name,
               static_cast<unsigned long long>(run.pid), static_cast<long long>(x.code), srv::reason_name(x.reason));
    (void)srv::drop_caps(&run.handle, 1);
    run.handle = 0;
    run.waiting = false;
    const bool abnormal = x.reason != 0 || x.code != 0;
    if (!e.restartable) {
        cap::print("[init] %s is not restartable\n", e.name);
        run.gone = e.nexports != 0 || abnormal;
        return;
    }
    if (run.restarts >= e.max_restarts) {
        cap::print("[init] %s not restarted: restart limit %u reached\n", e.name, e.max_restarts);
        run.failed = true;
        run.gone = true;
        return;
    }
    ++run.restarts;
    cap::print("[init] restarting %s (restart %u of %u)\n", e.name, run.restarts, e.max_restarts);
    if (!start_entry(idx)) {
        run.failed = true;
        return;
    }
    // A restarted exporter registers again through the supervision loop's
    // receive (no blocking wait here: its dependents are already running).
    arm_wait(idx);
}

// Watches every running module and init's registry endpoint, forever.
[[noreturn]] void supervise() {
    cap::Ring& ring = cap::this_ring();
    for (;;) {
        if (!poll_once()) {
            (void)ring.enter(1, capos::abi::kTimeoutInfinite);
            ring.reap();
        }
    }
}

}  // namespace

int main(cap::StartInfo& info) {
    (void)srv::arg_str(info.args(), "manifest", g_manifest_name, sizeof g_manifest_name);
    const uint64_t bytes = srv::arg_u64(info.args(), "manifest_bytes", 0);
    g_kernel[static_cast<uint32_t>(init::KernelCap::console)] = info.console();
    g_kernel[static_cast<uint32_t>(init::KernelCap::timer)] = info.timer();
    g_kernel[static_cast<uint32_t>(init::KernelCap::park)] = info.park();
    g_kernel[static_cast<uint32_t>(init::KernelCap::process_spawner)] = info.named("spawner");
    // The kernel names it "schedctl" (boot/init_process.cpp).
    CapHandle sc = info.named("schedctl");
    if (sc == 0) sc = info.named("schedulerControl");
    g_kernel[static_cast<uint32_t>(init::KernelCap::scheduler_control)] = sc;
    g_kernel[static_cast<uint32_t>(init::KernelCap::boot_info)] = info.named("bootInfo");
    // Read-only SchedulerControl serving KernelStats (boot/init_process.cpp).
    g_kernel[static_cast<uint32_t>(init::KernelCap::kernel_stats)] = info.named("kstats");
    cap::print("[init] hello from user space\n");
    const CapHandle mo = info.named("manifest");
    if (mo == 0 || bytes == 0) {
        cap::print("[init] error: no boot module manifest-%s; nothing started\n", g_manifest_name);
        cap::print("[init] system up: idle (no manifest)\n");
        idle_forever();
    }
    // The manifest's bytes, read out of the MemoryObject 4 KiB at a time.
    auto* buf = static_cast<uint8_t*>(__builtin_malloc((bytes + 7) & ~uint64_t{7}));
    if (buf == nullptr) {
        cap::print("[init] error: no memory for the manifest (%llu bytes)\n", static_cast<unsigned long long>(bytes));
        idle_forever();
    }
    for (uint64_t off = 0; off < bytes; off += 4096) {
        const uint32_t n = static_cast<uint32_t>(bytes - off < 4096 ? bytes - off : 4096);
        auto r = srv::memory_read(mo, off, n, buf + off);
        if (!r.ok()) {
            cap::print("[init] error: reading the manifest failed: %s\n", cap::status_name(r.status()));
            idle_forever();
        }
    }
    char modules[2048];
    auto nm = srv::modules(g_kernel[static_cast<uint32_t>(init::KernelCap::process_spawner)], modules, sizeof modules);
    if (!nm.ok()) {
        cap::print("[init] error: cannot list the boot modules: %s\n", cap::status_name(nm.status()));
        idle_forever();
    }
    init::Environment env;
    env.modules = modules;
    for (uint32_t k = 0; k < static_cast<uint32_t>(init::KernelCap::count); ++k) env.kernel_caps[k] = g_kernel[k] != 0;

    init::Refusal why;
    init::ManifestError err = init::parse(buf, bytes, g_manifest, why);
    if (err == init::ManifestError::none) err = init::validate(g_manifest, env, why);
    // placement=<k=v,...> from the kernel command line: the policy server's
    // arguments for this boot (harness/bench.py --policy name:k=v).
    static char placement_args[128];
    if (err == init::ManifestError::none &&
        srv::arg_str(info.args(), "placement", placement_args, sizeof placement_args)) {
        err = init::add_placement_args(g_manifest, placement_args, why);
        if (err == init::ManifestError::none)
            cap::print("[init] placement arguments from the kernel command line: %s\n", placement_args);
    }
    if (err != init::ManifestError::none) {
        cap::print("[init] manifest '%s' refused: entry '%s': %s: %s\n", g_manifest_name, why.entry,
                   init::error_name(err), why.detail);
        cap::print("[init] system up: manifest refused, no module started\n");
        idle_forever();
    }
    cap::print("[init] manifest '%s': %u modules, %u boot modules available\n", g_manifest_name, g_manifest.count,
               nm.value());

    auto ep = srv::create_endpoint();
    if (!ep.ok()) {
        cap::print("[init] error: cannot create the registry endpoint: %s\n", cap::status_name(ep.status()));
        idle_forever();
    }
    g_endpoint = ep.value();
    for (uint32_t c = 0; c < g_manifest.nchannels; ++c) {
        auto ch = srv::create_endpoint();
        if (!ch.ok()) {
            cap::print("[init] error: cannot create the Endpoint of channel '%s': %s\n", g_manifest.channels[c],
                       cap::status_name(ch.status()));
            idle_forever();
        }
        g_channels[c] = ch.value();
    }

    uint32_t started = 0, failed = 0;
    for (uint32_t n = 0; n < g_manifest.count; ++n) {
        const uint32_t idx = g_manifest.order[n];
        const init::Entry& e = g_manifest.entries[idx];
        if (e.start_after_ms != 0) {
            cap::print("[init] starting %s in %u ms (startAfterMs)\n", e.name, e.start_after_ms);
            serve_for_ms(e.start_after_ms);
        }
        // Dependencies (dependsOn and service sources) must be up and ready.
        bool deps_ok = true;
        for (uint32_t k = 0; k < e.ndeps && deps_ok; ++k) {
            const int d = init::find_entry(g_manifest, e.deps[k]);
            // An exporter restarted during start-up (it died while init waited
            // for another) has to say ready again before its dependents start.
            if (d >= 0 && !g_run[d].failed && !g_run[d].gone && !g_run[d].ready && g_run[d].handle != 0 &&
                !wait_ready(static_cast<uint32_t>(d)))
                cap::print("[init] %s did not become ready again after its restart\n", e.deps[k]);
            if (d < 0 || g_run[d].failed || !g_run[d].ready || g_run[d].gone) {
                cap::print("[init] not starting %s: dependency %s is not running\n", e.name, e.deps[k]);
                deps_ok = false;
            }
        }
        if (!deps_ok || !start_entry(idx)) {
            g_run[idx].failed = true;
            ++failed;
            continue;
        }
        // Watched from the start: an exit during start-up is an exit like any other.
        arm_wait(idx);
        if (e.nexports != 0 && !wait_ready(idx)) {
            cap::print("[init] %s did not become ready (%s)\n", e.name,
                       g_run[idx].handle == 0 ? "it ended first" : "timed out");
            g_run[idx].failed = true;
            ++failed;
            continue;
        }
        ++started;
    }
    cap::print("[init] boot manifest '%s' done: %u started, %u failed\n", g_manifest_name, started, failed);
    cap::print("[init] system up\n");
    supervise();
}
