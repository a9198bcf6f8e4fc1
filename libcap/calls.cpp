// calls.cpp - typed calls on the kernel objects libcap needs, encoded and decoded with the generated bindings.
#include "libcap/calls.h"

#include "capos/capnp/capnp.h"
#include "capos/schema/console.capnp.h"
#include "capos/schema/park.capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/thread.capnp.h"
#include "capos/schema/timer.capnp.h"

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

// Reads the root of a framed result message as schema struct T; false if it
// is malformed (the reader's error also covers a field of the wrong kind).
template <class T, class F>
bool read_root(const void* msg, uint32_t len, F&& use) {
    cp::FlatMessageReader<4> r;
    if (r.init_flat(msg, len) != cp::Error::Ok || r.validate() != cp::Error::Ok) return false;
    const auto root = r.root<T>();
    use(root);
    return r.error() == cp::Error::Ok;
}

// Builds the params struct T in m; fill sets its fields.
template <class T, class F>
bool build(ParamMsg& m, F&& fill) {
    InPlace b(m.bytes, sizeof m.bytes);
    fill(b.builder().init_root<T>());
    m.len = b.finish();
    return m.len != 0;
}

using Process = schema::Process;

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

// A single scalar result: from the message when there is one, else inline
// (Cqe::value).
template <class V, class D>
bool scalar_result(const Cqe& c, const SmallResult& res, D decode, V& out) {
    if (c.result_len == 0) {
        out = static_cast<V>(c.value);
        return true;
    }
    return decode(res.bytes, c.result_len, out);
}

}  // namespace

bool encode_exit(ParamMsg& m, int64_t code) {
    return build<Process::ExitParams>(m, [&](auto p) { p.set_code(code); });
}

bool encode_exit_thread(ParamMsg& m, int64_t code) {
    return build<Process::ExitThreadParams>(m, [&](auto p) { p.set_code(code); });
}

bool encode_create_thread(ParamMsg& m, uint64_t entry, uint64_t stack_top, uint64_t arg) {
    return build<Process::CreateThreadParams>(m, [&](auto p) {
        p.set_entry(entry);
        p.set_stack_top(stack_top);
        p.set_arg(arg);
    });
}

bool encode_allocate(ParamMsg& m, uint64_t bytes) {
    return build<Process::AllocateParams>(m, [&](auto p) { p.set_bytes(bytes); });
}

bool encode_unmap(ParamMsg& m, uint64_t address, uint64_t length) {
    return build<Process::UnmapParams>(m, [&](auto p) {
        p.set_address(address);
        p.set_length(length);
    });
}

bool encode_timer_sleep(ParamMsg& m, uint64_t ns) {
    return build<schema::Timer::SleepParams>(m, [&](auto p) { p.set_ns(ns); });
}

bool encode_park_wait(ParamMsg& m, uint64_t address, uint32_t expected, uint64_t timeout_ns) {
    return build<schema::Park::WaitParams>(m, [&](auto p) {
        p.set_address(address);
        p.set_expected(expected);
        p.set_timeout_ns(timeout_ns);
    });
}

bool encode_park_wake(ParamMsg& m, uint64_t address, uint32_t count) {
    return build<schema::Park::WakeParams>(m, [&](auto p) {
        p.set_address(address);
        p.set_count(count);
    });
}

bool encode_process_map(ParamMsg& m, uint64_t address, uint64_t offset, uint64_t length, bool writable,
                        bool executable) {
    InPlace b(m.bytes, sizeof m.bytes);
    uint32_t cap_table[1];
    b.builder().set_cap_table(cap_table, 1);
    auto p = b.builder().init_root<Process::MapParams>();
    p.set_address(address);
    p.set_offset(offset);
    p.set_length(length);
    p.set_writable(writable);
    p.set_executable(executable);
    // Capability index 0 of the message = the first handle in the call's caps array.
    if (!p.set_memory(0)) return false;
    m.len = b.finish();
    return m.len != 0;
}

uint32_t encode_console_write(void* buf, size_t cap, const char* text, uint32_t len) {
    InPlace b(buf, cap);
    b.builder().init_root<schema::Console::WriteParams>().set_text(text, len);
    return b.finish();
}

bool decode_join_results(const void* msg, uint32_t len, JoinResult& out) {
    return read_root<schema::Thread::JoinResults>(msg, len, [&](auto r) {
        out.exit_code = r.exit_code();
        out.reason = static_cast<uint16_t>(r.reason());
    });
}

bool decode_park_wait_results(const void* msg, uint32_t len, bool& woken) {
    return read_root<schema::Park::WaitResults>(msg, len, [&](auto r) { woken = r.woken(); });
}

bool decode_park_wake_results(const void* msg, uint32_t len, uint32_t& woken) {
    return read_root<schema::Park::WakeResults>(msg, len, [&](auto r) { woken = r.woken(); });
}

bool decode_timer_now_results(const void* msg, uint32_t len, uint64_t& ns) {
    return read_root<schema::Timer::NowResults>(msg, len, [&](auto r) { ns = r.ns(); });
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
// Submits params p (built by one of the encoders) and waits for the result.
Result<Cqe> call_with(Ring& r, CapHandle target, iface::Method m, const ParamMsg& p, SmallResult& res,
                      CapHandle* caps = nullptr, uint16_t caps_out = 0) {
    CallArgs a = args_for(target, m, p, res);
    a.caps = caps;
    a.caps_out_max = caps_out;
    return r.call(a);
}

// A call whose answer is one capability (createThread, allocate): the handle
// the kernel put in the one out-cap slot; internal if it put none.
Result<CapHandle> call_for_cap(Ring& r, CapHandle target, iface::Method m, const ParamMsg& p) {
    SmallResult res;
    CapHandle caps[1] = {kNullCap};
    Result<Cqe> c = call_with(r, target, m, p, res, caps, 1);
    if (!c.ok()) return c.status();
    if (c.value().caps_out_count < 1) return Status::internal;
    return caps[0];
}
}  // namespace

Result<void> process_exit(Ring& r, CapHandle process, int64_t code) {
    ParamMsg p;
    if (!encode_exit(p, code)) return Status::internal;
    SmallResult res;
    Result<Cqe> c = call_with(r, process, iface::kProcessExit, p, res);
    return c.ok() ? Status::internal : c.status();  // returning at all is a failure
}

Result<void> process_exit_thread(Ring& r, CapHandle process, int64_t code) {
    ParamMsg p;
    if (!encode_exit_thread(p, code)) return Status::internal;
    SmallResult res;
    Result<Cqe> c = call_with(r, process, iface::kProcessExitThread, p, res);
    return c.ok() ? Status::internal : c.status();
}

Result<CapHandle> process_create_thread(Ring& r, CapHandle process, uint64_t entry, uint64_t stack_top, uint64_t arg) {
    ParamMsg p;
    if (!encode_create_thread(p, entry, stack_top, arg)) return Status::internal;
    return call_for_cap(r, process, iface::kProcessCreateThread, p);
}

Result<CapHandle> process_allocate(Ring& r, CapHandle process, uint64_t bytes) {
    ParamMsg p;
    if (!encode_allocate(p, bytes)) return Status::internal;
    return call_for_cap(r, process, iface::kProcessAllocate, p);
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
    ParamMsg p;
    if (!encode_unmap(p, address, length)) return Status::internal;
    SmallResult res;
    Result<Cqe> c = call_with(r, process, iface::kProcessUnmap, p, res);
    return c.ok() ? ok() : Result<void>(c.status());
}

Result<JoinResult> thread_join(Ring& r, CapHandle thread) {
    ParamMsg none;
    if (!build<schema::Thread::JoinParams>(none, [](auto) {})) return Status::internal;  // an empty struct
    SmallResult res;
    Result<Cqe> c = call_with(r, thread, iface::kThreadJoin, none, res);
    if (!c.ok()) return c.status();
    JoinResult j;
    if (c.value().result_len == 0) {
        j.exit_code = static_cast<int64_t>(c.value().value);  // inline: the exit code alone
    } else if (!decode_join_results(res.bytes, c.value().result_len, j)) {
        return Status::malformed_message;
    }
    return j;
}

Result<bool> park_wait(Ring& r, CapHandle park, const uint32_t* address, uint32_t expected, uint64_t timeout_ns) {
    ParamMsg p;
    if (!encode_park_wait(p, reinterpret_cast<uint64_t>(address), expected, timeout_ns)) return Status::internal;
    SmallResult res;
    Result<Cqe> c = r.call(args_for(park, iface::kParkWait, p, res));
    if (!c.ok()) return c.status();
    bool woken = false;
    if (!scalar_result(c.value(), res, decode_park_wait_results, woken)) return Status::malformed_message;
    return woken;
}

Result<uint32_t> park_wake(Ring& r, CapHandle park, const uint32_t* address, uint32_t count) {
    ParamMsg p;
    if (!encode_park_wake(p, reinterpret_cast<uint64_t>(address), count)) return Status::internal;
    SmallResult res;
    Result<Cqe> c = r.call(args_for(park, iface::kParkWake, p, res));
    if (!c.ok()) return c.status();
    uint32_t woken = 0;
    if (!scalar_result(c.value(), res, decode_park_wake_results, woken)) return Status::malformed_message;
    return woken;
}

Result<uint64_t> timer_now(Ring& r, CapHandle timer) {
    ParamMsg none;
    if (!build<schema::Timer::NowParams>(none, [](auto) {})) return Status::internal;  // an empty struct
    SmallResult res;
    Result<Cqe> c = call_with(r, timer, iface::kTimerNow, none, res);
    if (!c.ok()) return c.status();
    uint64_t ns = 0;
    if (!scalar_result(c.value(), res, decode_timer_now_results, ns)) return Status::malformed_message;
    return ns;
}

Result<void> timer_sleep(Ring& r, CapHandle timer, uint64_t ns) {
    ParamMsg p;
    if (!encode_timer_sleep(p, ns)) return Status::internal;
    SmallResult res;
    Result<Cqe> c = call_with(r, timer, iface::kTimerSleep, p, res);
    return c.ok() ? ok() : Result<void>(c.status());
}

Result<void> ring_nop(Ring& r) { return r.nop(); }

}  // namespace cap
