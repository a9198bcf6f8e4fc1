// guest.cpp - raw calls and the spawner helpers of the in-guest tests (see guest.h).
#include "libcap/cpu.h"
#include "guest.h"

#include "capos/capnp/capnp.h"
#include "libcap/runtime.h"

namespace guest {

uint32_t words_msg(void* buf, uint32_t size, const uint64_t* w, uint16_t n) {
    namespace cp = cap::capnp;
    alignas(8) unsigned char seg[8 * 16 + 16];
    if (n > 16) return 0;
    cp::MessageBuilder b(seg, sizeof seg);
    cp::StructBuilder s = b.root_pointer().init_struct(n, 0);
    for (uint16_t i = 0; i < n; ++i) s.set<uint64_t>(i, w[i]);
    size_t len = 0;
    if (b.error() != cp::Error::Ok || b.write_flat(buf, size, &len) != cp::Error::Ok) return 0;
    return static_cast<uint32_t>(len);
}

Raw raw_call(CapHandle cap, uint64_t iface, uint16_t method, const void* params, uint32_t plen, void* result,
             uint32_t rmax, CapHandle* caps, uint16_t caps_in, uint16_t caps_out, uint16_t flags) {
    return Raw{cap::raw_call(cap, iface, method, params, plen, result, rmax, caps, caps_in, caps_out, flags)};
}

cap::Result<Spawned> spawn(const char* module, const char* args, const char* const* names, CapHandle* grants,
                           uint32_t ngrants, const Quotas* q) {
    const CapHandle spawner = cap::start_info().named("spawner");
    if (spawner == 0) return Status::invalid_slot;
    if (ngrants > cap::kMaxSpawnGrants) return Status::invalid_argument;
    cap::SpawnGrant g[cap::kMaxSpawnGrants];
    for (uint32_t i = 0; i < ngrants; ++i) g[i] = cap::SpawnGrant{names[i], grants[i]};
    return cap::spawn(spawner, module, module, args, g, ngrants, q);
}

cap::Result<Spawned> spawn_std(const char* module, const char* args, const char* const* names, CapHandle* grants,
                               uint32_t ngrants, const Quotas* q) {
    if (ngrants > 5) return Status::invalid_argument;
    const cap::StartInfo& info = cap::start_info();
    const char* all_names[8] = {"console", "park", "timer"};
    CapHandle all[8] = {info.console(), info.park(), info.timer()};
    for (uint32_t i = 0; i < ngrants; ++i) {
        all_names[3 + i] = names[i];
        all[3 + i] = grants[i];
    }
    return spawn(module, args, all_names, all, 3 + ngrants, q);
}

cap::Result<uint64_t> free_frames() {
    Raw r = raw_call(cap::start_info().named("spawner"), kSpawnerStats.interface_id, kSpawnerStats.ordinal);
    if (r.cqe.status != 0) return cap::status_of(r.cqe);
    return r.cqe.value;
}

cap::Result<KernelMemory> kernel_memory() { return cap::spawner_stats(cap::start_info().named("spawner")); }

uint32_t cpu_now() { return cap::current_cpu(); }

}  // namespace guest
