// spawn_codec.cpp - ProcessSpawner / ProcessHandle messages through the generated bindings (schema/spawner.capnp, process.capnp), portable (see spawn.h).
#include "capos/capnp/capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "libcap/args.h"
#include "libcap/spawn.h"

namespace cap {

namespace {

namespace cp = cap::capnp;
namespace sc = cap::schema;

uint32_t finish(const cp::MessageBuilder& b, void* buf, uint32_t size) {
    size_t n = 0;
    if (b.error() != cp::Error::Ok || b.write_flat(buf, size, &n) != cp::Error::Ok) return 0;
    return static_cast<uint32_t>(n);
}

// A received message's root, validated; false if it does not parse.
template <typename T>
bool read_root(const void* buf, uint32_t len, cp::FlatMessageReader<1>& r, typename T::Reader& out) {
    if (r.init_flat(buf, len) != cp::Error::Ok || r.validate() != cp::Error::Ok) return false;
    out = r.root<T>();
    return true;
}

}  // namespace

uint32_t encode_spawn(void* buf, uint32_t size, const char* name, uint32_t name_len, const char* module,
                      uint32_t module_len, const char* args, const SpawnGrant* grants, uint32_t ngrants,
                      const SpawnQuotas* q, uint32_t placement_weight) {
    // Built in a segment of the caller's size (the flat copy adds 8 bytes of framing).
    alignas(8) unsigned char seg[2048];
    constexpr uint32_t kMaxGrants = 64;  // the kernel's most capabilities per call
    if (ngrants > kMaxGrants) return 0;
    cp::MessageBuilder m(seg, sizeof seg);
    // Grant i travels as capability i of the call (the ring rewrites the
    // indices to the receiver's slots), so the table holds 0..n-1.
    uint32_t table[kMaxGrants];
    m.set_cap_table(table, kMaxGrants);
    auto p = m.init_root<sc::ProcessSpawner::SpawnParams>();
    p.set_name(name, name_len);
    p.set_module(module, module_len);
    if (args != nullptr && args[0] != '\0') p.init_args(1).set(0, args, len_of(args));
    if (ngrants != 0) {
        auto caps = p.init_caps(ngrants);
        for (uint32_t i = 0; i < ngrants; ++i) {
            auto g = caps[i];
            g.set_name(grants[i].name, len_of(grants[i].name));
            if (!g.init_cap().set_capability(i)) return 0;
            g.set_rights(grants[i].rights);
        }
    }
    if (q != nullptr) {
        auto qs = p.init_quotas();
        qs.set_frames(q->frames);
        qs.set_cap_slots(q->cap_slots);
        qs.set_threads(q->threads);
        qs.set_outstanding_calls(q->outstanding_calls);
        qs.set_children(q->children);
    }
    p.set_placement_weight(placement_weight);
    return finish(m, buf, size);
}

const char* spawn_quota_name(SpawnQuota q) {
    switch (q) {
        case SpawnQuota::children:
            return "children";
        case SpawnQuota::frames:
            return "frames";
        case SpawnQuota::cap_slots:
            return "capSlots";
        case SpawnQuota::none:
            break;
    }
    return "none";
}

uint32_t encode_spawn_refusal(void* buf, uint32_t size, const SpawnRefusal& r) {
    alignas(8) unsigned char seg[128];
    cp::MessageBuilder m(seg, sizeof seg);
    auto s = m.init_root<sc::SpawnRefusal>();
    s.set_quota(static_cast<sc::SpawnQuota>(r.quota));
    s.set_used(r.used);
    s.set_limit(r.limit);
    s.set_asked(r.asked);
    return finish(m, buf, size);
}

bool decode_spawn_refusal(const void* buf, uint32_t len, SpawnRefusal& out) {
    cp::FlatMessageReader<1> r;
    sc::SpawnRefusal::Reader s;
    if (!read_root<sc::SpawnRefusal>(buf, len, r, s)) return false;
    out.quota = static_cast<SpawnQuota>(s.quota());
    out.used = s.used();
    out.limit = s.limit();
    out.asked = s.asked();
    return true;
}

bool decode_spawner_stats(const void* buf, uint32_t len, SpawnerStats& out) {
    cp::FlatMessageReader<1> r;
    sc::ProcessSpawner::FreeFramesResults::Reader s;
    if (!read_root<sc::ProcessSpawner::FreeFramesResults>(buf, len, r, s)) return false;
    out.free_frames = s.frames();
    out.heap_in_use = s.heap_bytes_in_use();
    out.heap_mapped = s.heap_bytes_mapped();
    out.heap_allocations = s.heap_allocations();
    out.processes = s.live_processes();
    out.slots_used = s.cap_slots_used();
    out.children = s.live_children();
    return true;
}

const char* exit_reason_name(uint16_t r) {
    using R = schema::ExitReason;
    switch (static_cast<R>(r)) {
        case R::Exited:
            return "exited";
        case R::Killed:
            return "killed";
        case R::Faulted:
            return "faulted";
        case R::Quota:
            return "quota";
    }
    return "unknown";
}

ProcessExit decode_exit(const void* res, uint32_t len) {
    cp::FlatMessageReader<1> r;
    sc::ProcessHandle::WaitResults::Reader s;
    if (!read_root<sc::ProcessHandle::WaitResults>(res, len, r, s)) return ProcessExit{};
    return ProcessExit{s.exit_code(), static_cast<uint16_t>(s.reason())};
}

}  // namespace cap
