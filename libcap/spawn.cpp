// spawn.cpp - ProcessSpawner / ProcessHandle / Process.dropCaps calls on this thread's ring (see spawn.h).
#include "libcap/spawn.h"

#include "capos/capnp/capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "libcap/args.h"
#include "libcap/interfaces.h"
#include "libcap/raw_call.h"
#include "libcap/runtime.h"

namespace cap {

namespace cp = cap::capnp;
namespace sc = cap::schema;
using capos::abi::CapHandle;
using capos::abi::Cqe;

Result<Spawned> spawn(CapHandle spawner, const char* name, const char* module, const char* args,
                      const SpawnGrant* grants, uint32_t ngrants, const SpawnQuotas* q, uint32_t placement_weight,
                      SpawnRefusal* refusal) {
    if (refusal != nullptr) *refusal = SpawnRefusal{};
    if (ngrants > kMaxSpawnGrants) return Status::invalid_argument;
    alignas(8) uint8_t buf[2048];
    const uint32_t len = encode_spawn(buf, sizeof buf, name, len_of(name), module, len_of(module), args, grants,
                                      ngrants, q, placement_weight);
    if (len == 0) return Status::invalid_argument;
    CapHandle caps[kMaxSpawnGrants] = {};
    for (uint32_t i = 0; i < ngrants; ++i) caps[i] = grants[i].cap;
    alignas(8) uint8_t res[128];
    const Cqe c = raw_call(spawner, iface::kSpawnerSpawn.interface_id, iface::kSpawnerSpawn.ordinal, buf, len, res,
                           sizeof res, caps, static_cast<uint16_t>(ngrants), 1);
    if (c.status != 0) {
        if (refusal != nullptr && status_of(c) == Status::quota_exceeded && c.result_len != 0)
            (void)decode_spawn_refusal(res, c.result_len, *refusal);
        return status_of(c);
    }
    if (c.caps_out_count != 1) return Status::internal;
    uint64_t pid = c.value;
    if (c.result_len != 0) {
        cp::FlatMessageReader<1> r;
        if (r.init_flat(res, c.result_len) == cp::Error::Ok && r.validate() == cp::Error::Ok)
            pid = r.root<sc::ProcessSpawner::SpawnResults>().process_id();
    }
    return Spawned{caps[0], pid};
}

Result<uint32_t> spawner_modules(CapHandle spawner, char* out, uint32_t size) {
    alignas(8) static uint8_t res[4096];
    const Cqe c = raw_call(spawner, iface::kSpawnerModules.interface_id, iface::kSpawnerModules.ordinal, nullptr, 0,
                           res, sizeof res);
    if (c.status != 0) return status_of(c);
    cp::FlatMessageReader<1> r;
    if (r.init_flat(res, c.result_len) != cp::Error::Ok || r.validate() != cp::Error::Ok)
        return Status::malformed_message;
    const auto names = r.root<sc::ProcessSpawner::ModulesResults>().names();
    uint32_t n = 0;
    for (uint32_t i = 0; i < names.size(); ++i) {
        const auto t = names[i];
        if (n + t.size() + 2 > size) return Status::result_too_large;
        for (uint32_t k = 0; k < t.size(); ++k) out[n++] = t.c_str()[k];
        out[n++] = '\n';
    }
    if (size != 0) out[n] = '\0';
    return names.size();
}

Result<SpawnerStats> spawner_stats(CapHandle spawner) {
    alignas(8) uint8_t res[160];
    const Cqe c =
        raw_call(spawner, iface::kSpawnerStats.interface_id, iface::kSpawnerStats.ordinal, nullptr, 0, res, sizeof res);
    if (c.status != 0) return status_of(c);
    SpawnerStats s;
    if (!decode_spawner_stats(res, c.result_len, s)) return Status::malformed_message;
    return s;
}

Result<ProcessExit> wait_process(CapHandle handle) {
    alignas(8) uint8_t res[64];
    const Cqe c = raw_call(handle, iface::kProcessHandleWait.interface_id, iface::kProcessHandleWait.ordinal, nullptr,
                           0, res, sizeof res);
    if (c.status != 0) return status_of(c);
    cp::FlatMessageReader<1> r;
    if (r.init_flat(res, c.result_len) != cp::Error::Ok || r.validate() != cp::Error::Ok)
        return Status::malformed_message;
    return decode_exit(res, c.result_len);
}

Result<uint64_t> start_wait_process(CapHandle handle, void* res, uint32_t res_max) {
    CallArgs a;
    a.cap = handle;
    a.method = iface::kProcessHandleWait;
    a.result = res;
    a.result_max = res_max;
    return this_ring().start(make_sqe(a));
}

Result<void> kill_process(CapHandle handle) {
    const Cqe c = raw_call(handle, iface::kProcessHandleKill.interface_id, iface::kProcessHandleKill.ordinal);
    if (c.status != 0) return status_of(c);
    return ok();
}

Result<void> drop_caps(CapHandle* caps, uint16_t n) {
    const Cqe c = raw_call(start_info().process(), iface::kProcessDropCaps.interface_id,
                           iface::kProcessDropCaps.ordinal, nullptr, 0, nullptr, 0, caps, n, 0);
    if (c.status != 0) return status_of(c);
    return ok();
}

}  // namespace cap
