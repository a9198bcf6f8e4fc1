// calls.cpp - typed calls on the kernel objects libcap needs, encoded with the schema runtime.
#include "libcap/calls.h"

#include "capos/capnp/capnp.h"

namespace cap {

namespace cp = cap::capnp;

namespace {

// Builds a single-segment message in place: the segment starts 8 bytes into
// `buf`, leaving room for the one-segment stream header written by finish().
class InPlace {
 public:
  InPlace(void* buf, size_t cap)
      : buf_(static_cast<unsigned char*>(buf)), builder_(buf_ + 8, cap >= 8 ? cap - 8 : 0) {
    if (cap >= 8) __builtin_memset(buf_ + 8, 0, cap - 8);
  }
  cp::MessageBuilder& builder() { return builder_; }
  // Returns the framed length, or 0 if building failed.
  uint32_t finish() {
    if (builder_.error() != cp::Error::Ok) return 0;
    cp::SegmentView seg[1];
    if (builder_.segments(seg, 1) != 1) return 0;
    const uint32_t zero = 0;
    __builtin_memcpy(buf_, &zero, 4);  // segment count - 1
    __builtin_memcpy(buf_ + 4, &seg[0].words, 4);
    return 8 + seg[0].words * 8;
  }

 private:
  unsigned char* buf_;
  cp::MessageBuilder builder_;
};

bool root_struct(const void* msg, uint32_t len, cp::FlatMessageReader<4>& reader, cp::StructReader& out) {
  if (reader.init_flat(msg, len) != cp::Error::Ok) return false;
  if (reader.validate() != cp::Error::Ok) return false;
  out = reader.root_pointer().get_struct();
  return reader.error() == cp::Error::Ok;
}

// Result buffer for calls whose results are a few scalars.
struct SmallResult {
  alignas(8) unsigned char bytes[128];
};

CallArgs args_for(CapHandle target, iface::Method m, const ParamMsg& p, SmallResult& res) {
  CallArgs a;
  a.cap = target;
  a.method = m;
  a.params = p.bytes;
  a.params_len = p.len;
  a.result = res.bytes;
  a.result_max = sizeof res.bytes;
  return a;
}

// The single UInt64 result: from the message when there is one, else inline.
bool result_u64(const Cqe& c, const SmallResult& res, uint32_t index, uint64_t& out) {
  if (c.result_len == 0) {
    out = c.value;
    return true;
  }
  return decode_result_u64(res.bytes, c.result_len, index, out);
}

}  // namespace

bool encode_u64s(ParamMsg& m, const uint64_t* words, uint16_t count) {
  InPlace b(m.bytes, sizeof m.bytes);
  cp::StructBuilder s = b.builder().root_pointer().init_struct(count, 0);
  for (uint16_t i = 0; i < count; ++i) s.set<uint64_t>(i, words[i]);
  m.len = b.finish();
  return m.len != 0;
}

bool encode_park_wait(ParamMsg& m, uint64_t address, uint32_t expected, uint64_t timeout_ns) {
  // address @0: word 0; expected @1: UInt32 slot 2 (word 1); timeoutNs @2: word 2.
  InPlace b(m.bytes, sizeof m.bytes);
  cp::StructBuilder s = b.builder().root_pointer().init_struct(3, 0);
  s.set<uint64_t>(0, address);
  s.set<uint32_t>(2, expected);
  s.set<uint64_t>(2, timeout_ns);
  m.len = b.finish();
  return m.len != 0;
}

bool encode_park_wake(ParamMsg& m, uint64_t address, uint32_t count) {
  // address @0: word 0; count @1: UInt32 slot 2 (word 1).
  InPlace b(m.bytes, sizeof m.bytes);
  cp::StructBuilder s = b.builder().root_pointer().init_struct(2, 0);
  s.set<uint64_t>(0, address);
  s.set<uint32_t>(2, count);
  m.len = b.finish();
  return m.len != 0;
}

bool encode_process_map(ParamMsg& m, uint64_t address, uint64_t offset, uint64_t length, bool writable,
                        bool executable) {
  // memory @0: pointer 0 (capability); address/offset/length @1-3: words
  // 0-2; writable @4, executable @5: bits 192 and 193 (word 3).
  InPlace b(m.bytes, sizeof m.bytes);
  uint32_t cap_table[1];
  b.builder().set_cap_table(cap_table, 1);
  cp::StructBuilder s = b.builder().root_pointer().init_struct(4, 1);
  s.set<uint64_t>(0, address);
  s.set<uint64_t>(1, offset);
  s.set<uint64_t>(2, length);
  s.set_bool(192, writable);
  s.set_bool(193, executable);
  // Capability index 0 of the message = the first handle in the call's caps array.
  if (!s.pointer(0).set_capability(0)) return false;
  m.len = b.finish();
  return m.len != 0;
}

uint32_t encode_console_write(void* buf, size_t cap, const char* text, uint32_t len) {
  InPlace b(buf, cap);
  cp::StructBuilder s = b.builder().root_pointer().init_struct(0, 1);
  s.pointer(0).set_text(text, len);
  return b.finish();
}

bool decode_result_u64(const void* msg, uint32_t len, uint32_t index, uint64_t& out) {
  cp::FlatMessageReader<4> r;
  cp::StructReader s;
  if (!root_struct(msg, len, r, s)) return false;
  out = s.get<uint64_t>(index);
  return true;
}

bool decode_result_u32(const void* msg, uint32_t len, uint32_t index, uint32_t& out) {
  cp::FlatMessageReader<4> r;
  cp::StructReader s;
  if (!root_struct(msg, len, r, s)) return false;
  out = s.get<uint32_t>(index);
  return true;
}

bool decode_result_u16(const void* msg, uint32_t len, uint32_t index, uint16_t& out) {
  cp::FlatMessageReader<4> r;
  cp::StructReader s;
  if (!root_struct(msg, len, r, s)) return false;
  out = s.get<uint16_t>(index);
  return true;
}

bool decode_result_bool(const void* msg, uint32_t len, uint32_t bit, bool& out) {
  cp::FlatMessageReader<4> r;
  cp::StructReader s;
  if (!root_struct(msg, len, r, s)) return false;
  out = s.get_bool(bit);
  return true;
}

Result<void> console_write(Ring& r, CapHandle console, const char* text, uint32_t len) {
  if (len > iface::kConsoleMaxWrite) return Status::invalid_argument;
  // Header, root pointer, text pointer, the text and its NUL, padding.
  alignas(8) unsigned char buf[iface::kConsoleMaxWrite + 40];
  // Exactly the framed size: header, root pointer, the struct's one
  // pointer, the text and its NUL rounded up to words. Passing the exact
  // size keeps the builder from zeroing a 4 KiB buffer for a short line.
  const size_t need = 8 + 8 + 8 + ((size_t{len} + 1 + 7) & ~size_t{7});
  const uint32_t n = encode_console_write(buf, need, text, len);
  if (n == 0) return Status::internal;
  CallArgs a;
  a.cap = console;
  a.method = iface::kConsoleWrite;
  a.params = buf;
  a.params_len = n;
  Result<Cqe> c = r.call(a);
  if (!c.ok()) return c.status();
  return ok();
}

namespace {
Result<Cqe> call_u64s(Ring& r, CapHandle target, iface::Method m, const uint64_t* words, uint16_t count,
                      SmallResult& res, CapHandle* caps = nullptr, uint16_t caps_out = 0) {
  ParamMsg p;
  if (!encode_u64s(p, words, count)) return Status::internal;
  CallArgs a = args_for(target, m, p, res);
  a.caps = caps;
  a.caps_out_max = caps_out;
  return r.call(a);
}
}  // namespace

Result<void> process_exit(Ring& r, CapHandle process, int64_t code) {
  const uint64_t w[1] = {static_cast<uint64_t>(code)};
  SmallResult res;
  Result<Cqe> c = call_u64s(r, process, iface::kProcessExit, w, 1, res);
  return c.ok() ? Status::internal : c.status();  // returning at all is a failure
}

Result<void> process_exit_thread(Ring& r, CapHandle process, int64_t code) {
  const uint64_t w[1] = {static_cast<uint64_t>(code)};
  SmallResult res;
  Result<Cqe> c = call_u64s(r, process, iface::kProcessExitThread, w, 1, res);
  return c.ok() ? Status::internal : c.status();
}

Result<CapHandle> process_create_thread(Ring& r, CapHandle process, uint64_t entry, uint64_t stack_top,
                                        uint64_t arg) {
  const uint64_t w[3] = {entry, stack_top, arg};
  SmallResult res;
  CapHandle caps[1] = {kNullCap};
  Result<Cqe> c = call_u64s(r, process, iface::kProcessCreateThread, w, 3, res, caps, 1);
  if (!c.ok()) return c.status();
  if (c.value().caps_out_count < 1) return Status::internal;
  return caps[0];
}

Result<CapHandle> process_allocate(Ring& r, CapHandle process, uint64_t bytes) {
  const uint64_t w[1] = {bytes};
  SmallResult res;
  CapHandle caps[1] = {kNullCap};
  Result<Cqe> c = call_u64s(r, process, iface::kProcessAllocate, w, 1, res, caps, 1);
  if (!c.ok()) return c.status();
  if (c.value().caps_out_count < 1) return Status::internal;
  return caps[0];
}

Result<void> process_map(Ring& r, CapHandle process, CapHandle memory, uint64_t address, uint64_t offset,
                         uint64_t length, bool writable, bool executable) {
  ParamMsg p;
  if (!encode_process_map(p, address, offset, length, writable, executable)) return Status::internal;
  SmallResult res;
  CallArgs a = args_for(process, iface::kProcessMap, p, res);
  CapHandle caps[1] = {memory};
  a.caps = caps;
  a.caps_in = 1;
  Result<Cqe> c = r.call(a);
  return c.ok() ? ok() : Result<void>(c.status());
}

Result<void> process_unmap(Ring& r, CapHandle process, uint64_t address, uint64_t length) {
  const uint64_t w[2] = {address, length};
  SmallResult res;
  Result<Cqe> c = call_u64s(r, process, iface::kProcessUnmap, w, 2, res);
  return c.ok() ? ok() : Result<void>(c.status());
}

Result<JoinResult> thread_join(Ring& r, CapHandle thread) {
  SmallResult res;
  Result<Cqe> c = call_u64s(r, thread, iface::kThreadJoin, nullptr, 0, res);
  if (!c.ok()) return c.status();
  JoinResult j;
  uint64_t code = 0;
  // exitCode @0: word 0; reason @1: UInt16 slot 4 (word 1).
  if (!result_u64(c.value(), res, 0, code)) return Status::malformed_message;
  j.exit_code = static_cast<int64_t>(code);
  if (c.value().result_len != 0 && !decode_result_u16(res.bytes, c.value().result_len, 4, j.reason))
    return Status::malformed_message;
  return j;
}

Result<bool> park_wait(Ring& r, CapHandle park, const uint32_t* address, uint32_t expected,
                       uint64_t timeout_ns) {
  ParamMsg p;
  if (!encode_park_wait(p, reinterpret_cast<uint64_t>(address), expected, timeout_ns))
    return Status::internal;
  SmallResult res;
  Result<Cqe> c = r.call(args_for(park, iface::kParkWait, p, res));
  if (!c.ok()) return c.status();
  if (c.value().result_len == 0) return c.value().value != 0;
  bool woken = false;
  if (!decode_result_bool(res.bytes, c.value().result_len, 0, woken)) return Status::malformed_message;
  return woken;
}

Result<uint32_t> park_wake(Ring& r, CapHandle park, const uint32_t* address, uint32_t count) {
  ParamMsg p;
  if (!encode_park_wake(p, reinterpret_cast<uint64_t>(address), count)) return Status::internal;
  SmallResult res;
  Result<Cqe> c = r.call(args_for(park, iface::kParkWake, p, res));
  if (!c.ok()) return c.status();
  if (c.value().result_len == 0) return static_cast<uint32_t>(c.value().value);
  uint32_t woken = 0;
  if (!decode_result_u32(res.bytes, c.value().result_len, 0, woken)) return Status::malformed_message;
  return woken;
}

Result<uint64_t> timer_now(Ring& r, CapHandle timer) {
  SmallResult res;
  Result<Cqe> c = call_u64s(r, timer, iface::kTimerNow, nullptr, 0, res);
  if (!c.ok()) return c.status();
  uint64_t ns = 0;
  if (!result_u64(c.value(), res, 0, ns)) return Status::malformed_message;
  return ns;
}

Result<void> timer_sleep(Ring& r, CapHandle timer, uint64_t ns) {
  const uint64_t w[1] = {ns};
  SmallResult res;
  Result<Cqe> c = call_u64s(r, timer, iface::kTimerSleep, w, 1, res);
  return c.ok() ? ok() : Result<void>(c.status());
}

Result<void> ring_nop(Ring& r) { return r.nop(); }

}  // namespace cap
