// wire_codec.cpp: PlacementEvent / PlacementDecision / PlacementSnapshot on the wire.
#include "wire_codec.h"

namespace placement::codec {

using kern::wire::Builder;
using kern::wire::Reader;
using kern::wire::StructView;

namespace {
// PlacementEvent union tags (schema order) -> EventKind.
EventKind kind_of_tag(uint16_t tag) {
  switch (tag) {
  case 0: return EventKind::thread_created;
  case 1: return EventKind::thread_runnable;
  case 2: return EventKind::thread_blocked;
  case 3: return EventKind::thread_exited;
  case 4: return EventKind::cpu_load;
  case 5: return EventKind::demoted;
  case 6: return EventKind::deadline_missed;
  default: return EventKind::none;
  }
}
uint16_t tag_of_kind(EventKind k) {
  switch (k) {
  case EventKind::thread_created: return 0;
  case EventKind::thread_runnable: return 1;
  case EventKind::thread_blocked: return 2;
  case EventKind::thread_exited: return 3;
  case EventKind::cpu_load: return 4;
  case EventKind::demoted: return 5;
  case EventKind::deadline_missed: return 6;
  default: return 5;
  }
}
}  // namespace

int decode_events(const void* msg, uint32_t len, Event* out, uint32_t max, uint64_t* dropped) {
  Reader r;
  if (!r.init(msg, len).ok()) return -1;
  if (dropped != nullptr) *dropped = Reader::u64(r.root(), 0);
  auto l = r.struct_list(r.root(), 0);
  if (!l.ok()) return -1;
  uint32_t n = l.value().count < max ? l.value().count : max;
  for (uint32_t i = 0; i < n; ++i) {
    StructView s = Reader::list_struct(l.value(), i);
    Event& e = out[i];
    e = Event{};
    e.seq = Reader::u64(s, 0);
    e.time_ns = Reader::u64(s, 1);
    e.kind = kind_of_tag(Reader::u16(s, 8));
    e.cpu = Reader::u32(s, 5);
    if (e.kind == EventKind::deadline_missed) {
      e.aux = Reader::u64(s, 3);
      continue;
    }
    if (e.kind == EventKind::demoted || e.kind == EventKind::none) continue;
    auto c = r.child(s, 0);
    if (!c.ok()) return -1;
    const StructView& x = c.value();
    if (e.kind == EventKind::cpu_load) {
      e.cpu = Reader::u32(x, 0);
      e.runnable = Reader::u32(x, 1);
      e.run_ns = Reader::u64(x, 1);
      e.aux = Reader::u64(x, 2);
      e.weight = Reader::u32(x, 6);
    } else {
      e.thread_id = Reader::u64(x, 0);
      e.process_id = Reader::u64(x, 1);
      e.cpu = Reader::u32(x, 4);
      e.weight = Reader::u32(x, 5);
      e.run_ns = Reader::u64(x, 3);
    }
  }
  return static_cast<int>(n);
}

uint32_t encode_events(void* buf, size_t cap, const Event* ev, size_t n, uint64_t dropped) {
  Builder b(buf, cap);
  Builder::Struct root = b.root(1, 1);
  Builder::set_u64(root, 0, dropped);
  Builder::Struct first;
  b.struct_list(root, 0, static_cast<uint32_t>(n), 4, 1, &first);
  for (size_t i = 0; i < n && b.ok(); ++i) {
    Builder::Struct e{first.data + i * 5, first.data + i * 5 + 4, 4, 1};
    Builder::set_u64(e, 0, ev[i].seq);
    Builder::set_u64(e, 1, ev[i].time_ns);
    Builder::set_u16(e, 8, tag_of_kind(ev[i].kind));
    Builder::set_u32(e, 5, ev[i].cpu);
    if (ev[i].kind == EventKind::deadline_missed) {
      Builder::set_u64(e, 3, ev[i].aux);
    } else if (ev[i].kind == EventKind::cpu_load) {
      Builder::Struct c = b.child(e, 0, 4, 0);
      Builder::set_u32(c, 0, ev[i].cpu);
      Builder::set_u32(c, 1, ev[i].runnable);
      Builder::set_u64(c, 1, ev[i].run_ns);
      Builder::set_u64(c, 2, ev[i].aux);
      Builder::set_u32(c, 6, ev[i].weight);
    } else if (ev[i].kind != EventKind::demoted) {
      Builder::Struct t = b.child(e, 0, 5, 0);
      Builder::set_u64(t, 0, ev[i].thread_id);
      Builder::set_u64(t, 1, ev[i].process_id);
      Builder::set_u32(t, 4, ev[i].cpu);
      Builder::set_u32(t, 5, ev[i].weight);
      Builder::set_u64(t, 3, ev[i].run_ns);
    }
  }
  return b.finish();
}

uint32_t encode_place(void* buf, size_t cap, uint64_t epoch, const Decision* d, size_t n) {
  Builder b(buf, cap);
  Builder::Struct root = b.root(1, 1);
  Builder::set_u64(root, 0, epoch);
  Builder::Struct first;
  b.struct_list(root, 0, static_cast<uint32_t>(n), 5, 0, &first);
  for (size_t i = 0; i < n && b.ok(); ++i) {
    Builder::Struct e{first.data + i * 5, first.data + i * 5 + 5, 5, 0};
    const Decision& x = d[i];
    Builder::set_u64(e, 0, x.answers_seq);
    switch (x.kind) {
    case DecisionKind::assign:
      if (x.cpu_mask != 0) {  // assignSet
        Builder::set_u16(e, 10, 6);
        Builder::set_u64(e, 1, x.thread_id);
        Builder::set_u64(e, 3, x.cpu_mask);
        Builder::set_u64(e, 4, x.value);
      } else {
        Builder::set_u16(e, 10, 0);
        Builder::set_u64(e, 1, x.thread_id);
        Builder::set_u32(e, 4, x.cpu);
        Builder::set_u64(e, 3, x.value);
      }
      break;
    case DecisionKind::thread_weight:
      Builder::set_u16(e, 10, 2);
      Builder::set_u64(e, 1, x.thread_id);
      Builder::set_u32(e, 4, static_cast<uint32_t>(x.value));
      break;
    case DecisionKind::process_weight:
      Builder::set_u16(e, 10, 5);
      Builder::set_u64(e, 1, x.process_id);
      Builder::set_u32(e, 4, static_cast<uint32_t>(x.value));
      break;
    case DecisionKind::slice:
      Builder::set_u16(e, 10, 7);
      Builder::set_u64(e, 1, x.thread_id);
      Builder::set_u64(e, 3, x.value);
      break;
    case DecisionKind::default_slice:
      Builder::set_u16(e, 10, 3);
      Builder::set_u64(e, 1, x.value);
      break;
    default:
      Builder::set_u16(e, 10, 4);
      break;
    }
  }
  return b.finish();
}

namespace {

// Fills a PlacementSnapshot struct (dw 4 pw 4) built in b.
void fill_snapshot(Builder& b, Builder::Struct& root, const PolicyState& s, uint64_t epoch) {
  // ThreadPlacement: dw 6 pw 0; CpuState: dw 2 pw 0.
  Builder::set_u64(root, 0, epoch);
  Builder::set_u64(root, 1, s.last_seq);
  Builder::set_u32(root, 4, s.version);
  Builder::set_u64(root, 3, s.default_slice_ns);
  uint32_t nl = 0;
  while (nl < sizeof s.policy && s.policy[nl] != '\0') ++nl;
  b.set_text(root, 0, s.policy, nl);
  Builder::Struct c0;
  b.struct_list(root, 1, s.ncpus, 2, 0, &c0);
  for (uint32_t c = 0; c < s.ncpus && b.ok(); ++c) {
    Builder::Struct e{c0.data + c * 2, c0.data + c * 2 + 2, 2, 0};
    Builder::set_u32(e, 0, c);
    Builder::set_bit(e, 32, true);
  }
  Builder::Struct t0;
  b.struct_list(root, 2, s.nthreads, 6, 0, &t0);
  for (uint32_t i = 0; i < s.nthreads && b.ok(); ++i) {
    Builder::Struct e{t0.data + i * 6, t0.data + i * 6 + 6, 6, 0};
    const ThreadPlacement& t = s.threads[i];
    Builder::set_u64(e, 0, t.thread_id);
    Builder::set_u64(e, 1, t.process_id);
    Builder::set_u32(e, 4, t.cpu);
    Builder::set_u32(e, 5, t.weight);
    Builder::set_u64(e, 3, t.slice_ns);
    Builder::set_u64(e, 4, t.vruntime_ns);
    Builder::set_bit(e, 320, t.runnable);
  }
  if (s.opaque_len != 0) b.set_data(root, 3, s.opaque, s.opaque_len);
}

bool read_snapshot(const Reader& r, const StructView& root, PolicyState& s) {
  s = PolicyState{};
  s.last_seq = Reader::u64(root, 1);
  s.version = Reader::u32(root, 4);
  s.default_slice_ns = Reader::u64(root, 3);
  auto name = r.text(root, 0);
  if (!name.ok()) return false;
  for (uint32_t i = 0; i < name.value().size && i + 1 < sizeof s.policy; ++i)
    s.policy[i] = static_cast<char>(name.value().data[i]);
  auto cpus = r.struct_list(root, 1);
  auto threads = r.struct_list(root, 2);
  if (!cpus.ok() || !threads.ok()) return false;
  if (cpus.value().count > kMaxCpus || threads.value().count > kMaxThreads) return false;
  s.ncpus = cpus.value().count;
  s.nthreads = threads.value().count;
  for (uint32_t i = 0; i < s.nthreads; ++i) {
    StructView e = Reader::list_struct(threads.value(), i);
    ThreadPlacement& t = s.threads[i];
    t.thread_id = Reader::u64(e, 0);
    t.process_id = Reader::u64(e, 1);
    t.cpu = Reader::u32(e, 4);
    t.weight = Reader::u32(e, 5);
    t.slice_ns = Reader::u64(e, 3);
    t.vruntime_ns = Reader::u64(e, 4);
    t.runnable = Reader::bit(e, 320);
  }
  auto op = r.data(root, 3);
  if (!op.ok() || op.value().size > sizeof s.opaque) return false;
  s.opaque_len = op.value().size;
  for (uint32_t i = 0; i < s.opaque_len; ++i) s.opaque[i] = op.value().data[i];
  return true;
}

}  // namespace

uint32_t encode_snapshot(void* buf, size_t cap, const PolicyState& s, uint64_t epoch) {
  Builder b(buf, cap);
  Builder::Struct root = b.root(4, 4);
  fill_snapshot(b, root, s, epoch);
  return b.finish();
}

bool decode_snapshot(const void* msg, uint32_t len, PolicyState& s) {
  Reader r;
  if (!r.init(msg, len).ok()) return false;
  return read_snapshot(r, r.root(), s);
}

uint32_t encode_export_results(void* buf, size_t cap, const PolicyState& s, uint64_t epoch) {
  // Placement.exportState results: dw 0 pw 1, the snapshot in pointer 0.
  Builder b(buf, cap);
  Builder::Struct root = b.root(0, 1);
  Builder::Struct snap = b.child(root, 0, 4, 4);
  fill_snapshot(b, snap, s, epoch);
  return b.finish();
}

bool decode_export_results(const void* msg, uint32_t len, PolicyState& s) {
  Reader r;
  if (!r.init(msg, len).ok()) return false;
  auto snap = r.child(r.root(), 0);
  return snap.ok() && read_snapshot(r, snap.value(), s);
}

}  // namespace placement::codec
