// spawn_codec.cpp - ProcessSpawner / ProcessHandle messages, portable (see spawn.h).
#include "lib/capnp_wire.h"
#include "libcap/args.h"
#include "libcap/spawn.h"

namespace cap {

namespace wire = kern::wire;

uint32_t encode_spawn(void* buf, uint32_t size, const char* name, uint32_t name_len, const char* module,
                      uint32_t module_len, const char* args, const SpawnGrant* grants, uint32_t ngrants,
                      const SpawnQuotas* q, uint32_t placement_weight) {
  // spawn(name p0, module p1, args p2 :List(Text), caps p3 :List(CapGrant),
  //       quotas p4, placementWeight u32 #0); CapGrant = (name p0, cap p1, rights u32 #0 ^ 0xffffffff).
  wire::Builder b(buf, size);
  auto root = b.root(1, 5);
  b.set_text(root, 0, name, name_len);
  b.set_text(root, 1, module, module_len);
  if (args != nullptr && args[0] != '\0') {
    uint64_t* l = b.pointer_list(root, 2, 1);
    if (l != nullptr) b.set_text_at(l, args, len_of(args));
  }
  if (ngrants != 0) {
    wire::Builder::Struct e;
    b.struct_list(root, 3, ngrants, 1, 2, &e);
    for (uint32_t i = 0; i < ngrants && e.data != nullptr; ++i) {
      wire::Builder::Struct g{e.data + i * 3, e.data + i * 3 + 1, 1, 2};
      b.set_text(g, 0, grants[i].name, len_of(grants[i].name));
      b.set_cap(g, 1, i);
      wire::Builder::set_u32(g, 0, grants[i].rights ^ 0xffffffffu);  // stored XOR the default
    }
  }
  if (q != nullptr) {
    auto qs = b.child(root, 4, 3, 0);
    wire::Builder::set_u64(qs, 0, q->frames);
    wire::Builder::set_u32(qs, 2, q->cap_slots);
    wire::Builder::set_u32(qs, 3, q->threads);
    wire::Builder::set_u32(qs, 4, q->outstanding_calls);
    wire::Builder::set_u32(qs, 5, q->children);
  }
  wire::Builder::set_u32(root, 0, placement_weight);
  return b.finish();
}

const char* spawn_quota_name(SpawnQuota q) {
  switch (q) {
    case SpawnQuota::children: return "children";
    case SpawnQuota::frames: return "frames";
    case SpawnQuota::cap_slots: return "capSlots";
    case SpawnQuota::none: break;
  }
  return "none";
}

uint32_t encode_spawn_refusal(void* buf, uint32_t size, const SpawnRefusal& r) {
  wire::Builder b(buf, size);
  auto s = b.root(4, 0);
  wire::Builder::set_u16(s, 0, static_cast<uint16_t>(r.quota));
  wire::Builder::set_u64(s, 1, r.used);
  wire::Builder::set_u64(s, 2, r.limit);
  wire::Builder::set_u64(s, 3, r.asked);
  return b.finish();
}

bool decode_spawn_refusal(const void* buf, uint32_t len, SpawnRefusal& out) {
  wire::Reader rd;
  if (!rd.init(buf, len).ok()) return false;
  out.quota = static_cast<SpawnQuota>(wire::Reader::u16(rd.root(), 0));
  out.used = wire::Reader::u64(rd.root(), 1);
  out.limit = wire::Reader::u64(rd.root(), 2);
  out.asked = wire::Reader::u64(rd.root(), 3);
  return true;
}

bool decode_spawner_stats(const void* buf, uint32_t len, SpawnerStats& out) {
  wire::Reader rd;
  if (!rd.init(buf, len).ok()) return false;
  const auto& r = rd.root();
  out.free_frames = wire::Reader::u64(r, 0);
  out.heap_in_use = wire::Reader::u64(r, 1);
  out.heap_mapped = wire::Reader::u64(r, 2);
  out.heap_allocations = wire::Reader::u64(r, 3);
  out.processes = wire::Reader::u64(r, 4);
  out.slots_used = wire::Reader::u64(r, 5);
  out.children = wire::Reader::u64(r, 6);
  return true;
}

const char* exit_reason_name(uint16_t r) {
  switch (r) {
    case 0: return "exited";
    case 1: return "killed";
    case 2: return "faulted";
    case 3: return "quota";
  }
  return "unknown";
}

ProcessExit decode_exit(const void* res, uint32_t len) {
  wire::Reader rd;
  if (!rd.init(res, len).ok()) return ProcessExit{};
  return ProcessExit{static_cast<int64_t>(wire::Reader::u64(rd.root(), 0)), wire::Reader::u16(rd.root(), 4)};
}

}  // namespace cap
