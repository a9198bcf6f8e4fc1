// wire_codec.cpp: PlacementEvent / PlacementDecision / PlacementSnapshot on the wire,
// through the generated bindings (capos/schema/placement.capnp.h, scheduler.capnp.h).
#include "wire_codec.h"

#include "capos/capnp/capnp.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/scheduler.capnp.h"

namespace placement::codec {

namespace cp = cap::capnp;
namespace gs = cap::schema;
using SC = gs::SchedulerControl;

namespace {

// The builders' segment (write_flat then frames it into the caller's
// buffer). Large enough for the largest message the server sends: a full
// thread table in a snapshot, or a batch of decisions.
alignas(8) unsigned char g_seg[32 * 1024];

uint32_t finish(cp::MessageBuilder& b, void* buf, size_t cap) {
    size_t n = 0;
    if (b.error() != cp::Error::Ok || b.write_flat(buf, cap, &n) != cp::Error::Ok) return 0;
    return static_cast<uint32_t>(n);
}

template <class Root, class Fn>
bool read(const void* msg, uint32_t len, Fn&& fn) {
    cp::FlatMessageReader<1> r;
    if (r.init_flat(msg, len) != cp::Error::Ok || r.validate() != cp::Error::Ok) return false;
    return fn(r.root<Root>());
}

template <class B>
void put_thread(B t, const Event& e) {
    t.set_thread_id(e.thread_id);
    t.set_process_id(e.process_id);
    t.set_cpu(e.cpu);
    t.set_weight(e.weight);
    t.set_run_ns(e.run_ns);
}

template <class R>
void get_thread(const R& t, Event& e) {
    e.thread_id = t.thread_id();
    e.process_id = t.process_id();
    e.cpu = t.cpu();
    e.weight = t.weight();
    e.run_ns = t.run_ns();
}

}  // namespace

int decode_events(const void* msg, uint32_t len, Event* out, uint32_t max, uint64_t* dropped) {
    int n = -1;
    (void)read<SC::NextEventsResults>(msg, len, [&](const auto& res) {
        if (dropped != nullptr) *dropped = res.dropped();
        const auto l = res.events();
        const uint32_t count = l.size() < max ? l.size() : max;
        for (uint32_t i = 0; i < count; ++i) {
            const auto x = l[i];
            Event& e = out[i];
            e = Event{};
            e.seq = x.seq();
            e.time_ns = x.time_ns();
            e.cpu = x.cpu();
            using W = gs::PlacementEvent_Which;
            switch (x.which()) {
                // A thread event without its ThreadInfo is malformed (the kernel always sends one).
                case W::ThreadCreated:
                    if (!x.has_thread_created()) return false;
                    e.kind = EventKind::thread_created;
                    get_thread(x.thread_created(), e);
                    break;
                case W::ThreadRunnable:
                    if (!x.has_thread_runnable()) return false;
                    e.kind = EventKind::thread_runnable;
                    get_thread(x.thread_runnable(), e);
                    break;
                case W::ThreadBlocked:
                    if (!x.has_thread_blocked()) return false;
                    e.kind = EventKind::thread_blocked;
                    get_thread(x.thread_blocked(), e);
                    break;
                case W::ThreadExited:
                    if (!x.has_thread_exited()) return false;
                    e.kind = EventKind::thread_exited;
                    get_thread(x.thread_exited(), e);
                    break;
                case W::CpuLoad: {
                    if (!x.has_cpu_load()) return false;
                    const auto c = x.cpu_load();
                    e.kind = EventKind::cpu_load;
                    e.cpu = c.cpu();
                    e.runnable = c.runnable();
                    e.run_ns = c.busy_ns();
                    e.aux = c.idle_ns();
                    e.weight = c.weight();
                    break;
                }
                case W::Fallback:
                    e.kind = EventKind::demoted;
                    break;
                case W::DeadlineMissed:
                    e.kind = EventKind::deadline_missed;
                    e.aux = x.deadline_missed();
                    break;
                default:
                    e.kind = EventKind::none;
                    break;  // a newer kernel's event: ignored
            }
        }
        n = static_cast<int>(count);
        return true;
    });
    return n;
}

uint32_t encode_events(void* buf, size_t cap, const Event* ev, size_t n, uint64_t dropped) {
    cp::MessageBuilder b(g_seg, sizeof g_seg);
    auto res = b.init_root<SC::NextEventsResults>();
    res.set_dropped(dropped);
    auto l = res.init_events(static_cast<uint32_t>(n));
    for (size_t i = 0; i < n && b.error() == cp::Error::Ok; ++i) {
        auto e = l[static_cast<uint32_t>(i)];
        const Event& x = ev[i];
        e.set_seq(x.seq);
        e.set_time_ns(x.time_ns);
        e.set_cpu(x.cpu);
        switch (x.kind) {
            case EventKind::thread_created:
                put_thread(e.init_thread_created(), x);
                break;
            case EventKind::thread_runnable:
                put_thread(e.init_thread_runnable(), x);
                break;
            case EventKind::thread_blocked:
                put_thread(e.init_thread_blocked(), x);
                break;
            case EventKind::thread_exited:
                put_thread(e.init_thread_exited(), x);
                break;
            case EventKind::cpu_load: {
                auto c = e.init_cpu_load();
                c.set_cpu(x.cpu);
                c.set_runnable(x.runnable);
                c.set_busy_ns(x.run_ns);
                c.set_idle_ns(x.aux);
                c.set_weight(x.weight);
                break;
            }
            case EventKind::deadline_missed:
                e.set_deadline_missed(x.aux);
                break;
            default:
                (void)e.fallback();
                break;  // demoted (and none): the fallback member
        }
    }
    return finish(b, buf, cap);
}

uint32_t encode_place(void* buf, size_t cap, uint64_t epoch, const Decision* d, size_t n) {
    cp::MessageBuilder b(g_seg, sizeof g_seg);
    auto p = b.init_root<SC::PlaceParams>();
    p.set_epoch(epoch);
    auto l = p.init_decisions(static_cast<uint32_t>(n));
    for (size_t i = 0; i < n && b.error() == cp::Error::Ok; ++i) {
        auto e = l[static_cast<uint32_t>(i)];
        const Decision& x = d[i];
        e.set_answers_seq(x.answers_seq);
        switch (x.kind) {
            case DecisionKind::assign:
                if (x.cpu_mask != 0) {
                    auto a = e.assign_set();
                    a.set_thread_id(x.thread_id);
                    a.set_cpu_mask(x.cpu_mask);
                    a.set_slice_ns(x.value);
                } else {
                    auto a = e.assign();
                    a.set_thread_id(x.thread_id);
                    a.set_cpu(x.cpu);
                    a.set_slice_ns(x.value);
                }
                break;
            case DecisionKind::thread_weight: {
                auto w = e.thread_weight();
                w.set_thread_id(x.thread_id);
                w.set_weight(static_cast<uint32_t>(x.value));
                break;
            }
            case DecisionKind::process_weight: {
                auto w = e.process_weight();
                w.set_process_id(x.process_id);
                w.set_weight(static_cast<uint32_t>(x.value));
                break;
            }
            case DecisionKind::slice: {
                auto s = e.thread_slice();
                s.set_thread_id(x.thread_id);
                s.set_slice_ns(x.value);
                break;
            }
            case DecisionKind::default_slice:
                e.set_default_slice(x.value);
                break;
            default:
                e.set_none();
                break;
        }
    }
    return finish(b, buf, cap);
}

namespace {

void fill_snapshot(gs::PlacementSnapshot_Builder root, const PolicyState& s, uint64_t epoch) {
    root.set_epoch(epoch);
    root.set_last_seq(s.last_seq);
    root.set_version(s.version);
    root.set_default_slice_ns(s.default_slice_ns);
    uint32_t nl = 0;
    while (nl < sizeof s.policy && s.policy[nl] != '\0') ++nl;
    root.set_policy(s.policy, nl);
    auto cpus = root.init_cpus(s.ncpus);
    for (uint32_t c = 0; c < s.ncpus; ++c) {
        auto e = cpus[c];
        e.set_cpu(c);
        e.set_online(true);
    }
    auto threads = root.init_threads(s.nthreads);
    for (uint32_t i = 0; i < s.nthreads; ++i) {
        auto e = threads[i];
        const ThreadPlacement& t = s.threads[i];
        e.set_thread_id(t.thread_id);
        e.set_process_id(t.process_id);
        e.set_cpu(t.cpu);
        e.set_weight(t.weight);
        e.set_slice_ns(t.slice_ns);
        e.set_vruntime_ns(t.vruntime_ns);
        e.set_runnable(t.runnable);
    }
    if (s.opaque_len != 0) root.set_opaque(s.opaque, s.opaque_len);
}

// False if malformed. Every exporter names its policy, so a snapshot
// without a name is refused: that is also what a pointer of another kind
// read as the snapshot looks like (the generated readers give defaults
// where the hand reader refused), e.g. a bare snapshot taken for
// exportState results.
bool read_snapshot(const gs::PlacementSnapshot_Reader& root, PolicyState& s) {
    s = PolicyState{};
    if (!root.has_policy() || root.policy().size() == 0) return false;
    s.last_seq = root.last_seq();
    s.version = root.version();
    s.default_slice_ns = root.default_slice_ns();
    const auto name = root.policy();
    for (uint32_t i = 0; i < name.size() && i + 1 < sizeof s.policy; ++i) s.policy[i] = name.data()[i];
    const auto cpus = root.cpus();
    const auto threads = root.threads();
    if (cpus.size() > kMaxCpus || threads.size() > kMaxThreads) return false;
    s.ncpus = cpus.size();
    s.nthreads = threads.size();
    for (uint32_t i = 0; i < s.nthreads; ++i) {
        const auto e = threads[i];
        ThreadPlacement& t = s.threads[i];
        t.thread_id = e.thread_id();
        t.process_id = e.process_id();
        t.cpu = e.cpu();
        t.weight = e.weight();
        t.slice_ns = e.slice_ns();
        t.vruntime_ns = e.vruntime_ns();
        t.runnable = e.runnable();
    }
    const auto op = root.opaque();
    if (op.size() > sizeof s.opaque) return false;
    s.opaque_len = op.size();
    for (uint32_t i = 0; i < s.opaque_len; ++i) s.opaque[i] = op.data()[i];
    return true;
}

}  // namespace

uint32_t encode_snapshot(void* buf, size_t cap, const PolicyState& s, uint64_t epoch) {
    cp::MessageBuilder b(g_seg, sizeof g_seg);
    fill_snapshot(b.init_root<gs::PlacementSnapshot>(), s, epoch);
    return finish(b, buf, cap);
}

bool decode_snapshot(const void* msg, uint32_t len, PolicyState& s) {
    return read<gs::PlacementSnapshot>(msg, len, [&](const auto& root) { return read_snapshot(root, s); });
}

uint32_t encode_export_results(void* buf, size_t cap, const PolicyState& s, uint64_t epoch) {
    cp::MessageBuilder b(g_seg, sizeof g_seg);
    fill_snapshot(b.init_root<gs::Placement::ExportStateResults>().init_snapshot(), s, epoch);
    return finish(b, buf, cap);
}

bool decode_export_results(const void* msg, uint32_t len, PolicyState& s) {
    return read<gs::Placement::ExportStateResults>(
        msg, len, [&](const auto& res) { return res.has_snapshot() && read_snapshot(res.snapshot(), s); });
}

}  // namespace placement::codec
