// call_decode.cpp: kernel objects' decode steps and result encoders on the generated bindings.
//
// Longer than 600 lines on purpose: one decode step and result encoder per
// kernel interface, all on the same generated readers, Verdict and limits;
// host-built and fuzzed as one unit (test/fuzz/kernel_decode_fuzz.cpp).
#include "cap/call_decode.h"

#include "capos/abi/cap.h"
#include "capos/abi/layout.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/console.capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "capos/schema/fault.capnp.h"
#include "capos/schema/memory.capnp.h"
#include "capos/schema/park.capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "capos/schema/thread.capnp.h"
#include "capos/schema/timer.capnp.h"
#include "sched/sched_events.h"

namespace kern::decode {

namespace capnp = cap::capnp;
namespace schema = cap::schema;
namespace abi = capos::abi;

namespace {

constexpr Verdict kOk{};
constexpr Verdict refuse(Status s, uint32_t detail = 0) { return Verdict{s, detail}; }

capnp::Limits limits() {
    capnp::Limits l;
    l.traversal_words = kTraversalWords;
    l.nesting = kMaxNesting;
    l.max_segments = kMaxSegments;
    return l;
}

// The parameter message, framed and validated as a whole before any field
// is read. Capability pointers index the call's in-caps: validate() checks
// them against a table of caps_in_count entries whose slot i is i, so a
// decoded capability field is an index into Call::caps_in.
class Params {
public:
    explicit Params(const CallIn& in) : r_(limits()) {
        for (uint32_t i = 0; i < abi_caps; ++i) slots_[i] = i;
        const uint32_t n = in.caps_in_count < abi_caps ? in.caps_in_count : abi_caps;
        ok_ = r_.init_flat(in.params, in.params_len) == capnp::Error::Ok;
        if (!ok_) return;
        r_.set_cap_table(capnp::CapTable{slots_, n});
        ok_ = r_.validate() == capnp::Error::Ok;
    }
    [[nodiscard]] bool ok() const { return ok_; }
    template <typename T>
    [[nodiscard]] typename T::Reader root() {
        return r_.root<T>();
    }
    // After the fields were read: a field of the wrong pointer type (a list
    // where the schema has Text, ...) is malformed too. validate() cannot
    // know the schema; the typed readers record it.
    [[nodiscard]] bool read_cleanly() const { return r_.error() == capnp::Error::Ok; }

private:
    static constexpr uint32_t abi_caps = 16;  // kMaxCallCaps (object/process.h), the SQE's limit
    capnp::FlatMessageReader<kMaxSegments> r_;
    uint32_t slots_[abi_caps];
    bool ok_ = false;
};

constexpr Verdict malformed() { return refuse(Status::malformed_message); }

Bytes bytes_of(capnp::Data::Reader d) { return Bytes{d.data(), d.size()}; }
Bytes bytes_of(capnp::Text::Reader t) { return Bytes{reinterpret_cast<const uint8_t*>(t.c_str()), t.size()}; }

// A capability field: its index in the call's in-caps. Null or not a
// capability is malformed (validate() checked the index's range).
bool cap_index(capnp::CapSlot c, uint32_t* out) {
    if (!c.valid) return false;
    *out = c.slot;
    return true;
}

}  // namespace

// --- Console -------------------------------------------------------------------------------

Verdict console(const CallIn& in, ConsoleCall* out) {
    using C = schema::Console;
    if (in.interface_id != C::kInterfaceId) return refuse(Status::bad_method);
    if (in.method != C::Methods::write && in.method != C::Methods::write_bytes) return refuse(Status::bad_method);
    if ((in.rights & abi::kRightWrite) == 0) return refuse(Status::rights);
    Params p(in);
    if (!p.ok()) return malformed();
    out->bytes = in.method == C::Methods::write ? bytes_of(p.root<C::WriteParams>().text())
                                                : bytes_of(p.root<C::WriteBytesParams>().bytes());
    if (!p.read_cleanly()) return malformed();
    if (out->bytes.size > kConsoleMaxWrite) return refuse(Status::invalid_argument);
    return kOk;
}

// --- Timer ---------------------------------------------------------------------------------

Verdict timer(const CallIn& in, TimerCall* out) {
    using T = schema::Timer;
    if (in.interface_id != T::kInterfaceId) return refuse(Status::bad_method);
    switch (in.method) {
        case T::Methods::now:
            out->op = TimerCall::Op::now;
            return kOk;
        case T::Methods::resolution:
            out->op = TimerCall::Op::resolution;
            return kOk;
        case T::Methods::sleep:
        case T::Methods::sleep_until:
            break;
        default:
            return refuse(Status::bad_method);
    }
    Params p(in);
    if (!p.ok()) return malformed();
    if (in.method == T::Methods::sleep) {
        out->op = TimerCall::Op::sleep;
        out->ns = p.root<T::SleepParams>().ns();
    } else {
        out->op = TimerCall::Op::sleep_until;
        out->ns = p.root<T::SleepUntilParams>().deadline_ns();
    }
    return kOk;
}

// --- Park ----------------------------------------------------------------------------------

Verdict park(const CallIn& in, ParkCall* out) {
    using P = schema::Park;
    if (in.interface_id != P::kInterfaceId) return refuse(Status::bad_method);
    if (in.method != P::Methods::wait && in.method != P::Methods::wake) return refuse(Status::bad_method);
    Params p(in);
    if (!p.ok()) return malformed();
    out->wait = in.method == P::Methods::wait;
    if (out->wait) {
        const auto w = p.root<P::WaitParams>();
        out->address = w.address();
        out->expected = w.expected();
        out->timeout_ns = w.timeout_ns();
    } else {
        const auto w = p.root<P::WakeParams>();
        out->address = w.address();
        out->count = w.count();
    }
    if ((out->address & 3) != 0 || !abi::user_range_ok(out->address, 4)) return refuse(Status::bad_pointer);
    return kOk;
}

// --- MemoryObject ------------------------------------------------------------------------------

Verdict memory_object(const CallIn& in, uint64_t object_size, MemoryCall* out) {
    using M = schema::MemoryObject;
    if (in.interface_id != M::kInterfaceId) return refuse(Status::bad_method);
    if (in.method == M::Methods::size) {
        out->op = MemoryCall::Op::size;
        return kOk;
    }
    if (in.method == M::Methods::slice) return refuse(Status::not_supported);
    if (in.method != M::Methods::read && in.method != M::Methods::write) return refuse(Status::bad_method);
    Params p(in);
    if (!p.ok()) return malformed();
    if (in.method == M::Methods::read) {
        if ((in.rights & abi::kRightRead) == 0) return refuse(Status::rights);
        const auto r = p.root<M::ReadParams>();
        out->op = MemoryCall::Op::read;
        out->offset = r.offset();
        out->length = r.length();
    } else {
        if ((in.rights & abi::kRightWrite) == 0) return refuse(Status::rights);
        const auto w = p.root<M::WriteParams>();
        out->op = MemoryCall::Op::write;
        out->offset = w.offset();
        out->bytes = bytes_of(w.bytes());
        if (!p.read_cleanly()) return malformed();
        out->length = out->bytes.size;
    }
    if (out->length > kMemoryMaxCopy || out->offset > object_size || out->length > object_size - out->offset)
        return refuse(Status::invalid_argument);
    return kOk;
}

// --- Endpoint ----------------------------------------------------------------------------------

namespace {
// The lowest Status the ABI defines (status.h appends new codes below it).
constexpr int32_t kLowestStatus = static_cast<int32_t>(Status::internal);
constexpr bool same_name(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) ++a, ++b;
    return *a == *b;
}
static_assert(!same_name(abi::status_name(static_cast<Status>(kLowestStatus)), "unknown_status") &&
                  same_name(abi::status_name(static_cast<Status>(kLowestStatus - 1)), "unknown_status"),
              "status.h gained a code: update kLowestStatus");
}  // namespace

bool status_defined(int32_t s) { return s <= 0 && s >= kLowestStatus; }

Verdict endpoint(const CallIn& in, EndpointCall* out) {
    using E = schema::Endpoint;
    if (in.interface_id != E::kInterfaceId) return refuse(Status::bad_method);
    switch (in.method) {
        case E::Methods::receive: {
            if ((in.rights & abi::kRightRead) == 0) return refuse(Status::rights);
            Params p(in);
            if (!p.ok()) return malformed();
            out->op = EndpointCall::Op::receive;
            out->timeout_ns = p.root<E::ReceiveParams>().timeout_ns();
            return kOk;
        }
        case E::Methods::reply: {
            if ((in.rights & abi::kRightWrite) == 0) return refuse(Status::rights);
            Params p(in);
            if (!p.ok()) return malformed();
            const auto r = p.root<E::ReplyParams>();
            out->op = EndpointCall::Op::reply;
            out->call_id = r.call_id();
            out->status = r.status();
            out->results = bytes_of(r.results());
            // The kernel moves the reply's capabilities from the submission's
            // in-caps; `caps` is the servers' own bookkeeping and not read.
            if (!p.read_cleanly()) return malformed();
            if (!status_defined(out->status)) return refuse(Status::invalid_argument);  // the call stays pending
            return kOk;
        }
        case E::Methods::mint: {
            if ((in.rights & abi::kRightCopy) == 0) return refuse(Status::rights);
            if (in.caps_out_max < 1) return refuse(Status::result_too_large);
            Params p(in);
            if (!p.ok()) return malformed();
            out->op = EndpointCall::Op::mint;
            out->badge = p.root<E::MintParams>().badge();
            return kOk;
        }
        default:
            return refuse(Status::bad_method);
    }
}

// --- Process / ProcessHandle / Thread ------------------------------------------------------------

namespace {

Verdict process_handle(const CallIn& in, bool target_is_caller, ProcessCall* out) {
    using H = schema::ProcessHandle;
    switch (in.method) {
        case H::Methods::id:
            out->op = ProcessCall::Op::handle_id;
            return kOk;
        case H::Methods::kill:
            if ((in.rights & abi::kRightControl) == 0) return refuse(Status::rights);
            out->op = ProcessCall::Op::handle_kill;
            return kOk;
        case H::Methods::wait:
            if ((in.rights & abi::kRightRead) == 0) return refuse(Status::rights);
            if (target_is_caller) return refuse(Status::invalid_argument);  // would wait for itself
            out->op = ProcessCall::Op::handle_wait;
            return kOk;
        default:
            return refuse(Status::bad_method);
    }
}

}  // namespace

Verdict process(const CallIn& in, bool target_is_caller, ProcessCall* out) {
    using P = schema::Process;
    if (in.interface_id == schema::ProcessHandle::kInterfaceId) return process_handle(in, target_is_caller, out);
    if (in.interface_id != P::kInterfaceId) return refuse(Status::bad_method);
    if ((in.rights & abi::kRightWrite) == 0) return refuse(Status::rights);
    // An empty message stands for all-default parameters (libcap sends none
    // for the methods without any); anything else must be a valid message.
    Params p(in);
    if (in.params_len != 0 && !p.ok()) return malformed();
    switch (in.method) {
        case P::Methods::id:
            out->op = ProcessCall::Op::id;
            return kOk;
        case P::Methods::exit:
            out->op = ProcessCall::Op::exit;
            out->code = p.root<P::ExitParams>().code();
            return kOk;
        case P::Methods::exit_thread:
            if (!target_is_caller) return refuse(Status::invalid_argument);
            out->op = ProcessCall::Op::exit_thread;
            out->code = p.root<P::ExitThreadParams>().code();
            return kOk;
        case P::Methods::create_thread: {
            if (in.caps_out_max < 1) return refuse(Status::result_too_large);
            const auto c = p.root<P::CreateThreadParams>();
            out->op = ProcessCall::Op::create_thread;
            out->entry = c.entry();
            out->stack_top = c.stack_top();
            out->arg = c.arg();
            return kOk;
        }
        case P::Methods::allocate:
            if (in.caps_out_max < 1) return refuse(Status::result_too_large);
            out->op = ProcessCall::Op::allocate;
            out->bytes = p.root<P::AllocateParams>().bytes();
            return kOk;
        case P::Methods::map: {
            const auto m = p.root<P::MapParams>();
            out->op = ProcessCall::Op::map;
            if (!cap_index(m.memory(), &out->memory_cap) || !p.read_cleanly()) return malformed();
            out->address = m.address();
            out->offset = m.offset();
            out->length = m.length();
            out->writable = m.writable();
            out->executable = m.executable();
            return kOk;
        }
        case P::Methods::unmap: {
            const auto u = p.root<P::UnmapParams>();
            out->op = ProcessCall::Op::unmap;
            out->address = u.address();
            out->length = u.length();
            return kOk;
        }
        case P::Methods::drop_caps:
            // The slots to empty are the call's in-caps (kernel-specific method).
            if (!target_is_caller) return refuse(Status::invalid_argument);
            out->op = ProcessCall::Op::drop_caps;
            return kOk;
        case P::Methods::create_endpoint:
            if (in.caps_out_max < 1) return refuse(Status::result_too_large);
            out->op = ProcessCall::Op::create_endpoint;
            return kOk;
        default:
            return refuse(Status::bad_method);
    }
}

Verdict thread(const CallIn& in, bool target_is_caller, uint32_t cpu_count, ThreadCall* out) {
    using T = schema::Thread;
    if (in.interface_id != T::kInterfaceId) return refuse(Status::bad_method);
    switch (in.method) {
        case T::Methods::id:
            out->op = ThreadCall::Op::id;
            return kOk;
        case T::Methods::join:
            if (target_is_caller) return refuse(Status::invalid_argument);
            out->op = ThreadCall::Op::join;
            return kOk;
        case T::Methods::set_weight:
            out->op = ThreadCall::Op::set_weight;
            return kOk;
        case T::Methods::cpu_time:
            out->op = ThreadCall::Op::cpu_time;
            return kOk;
        case T::Methods::set_cpu_hint: {
            Params p(in);
            if (!p.ok()) return malformed();
            out->op = ThreadCall::Op::set_cpu_hint;
            out->cpu = p.root<T::SetCpuHintParams>().cpu();
            if (out->cpu >= cpu_count) return refuse(Status::invalid_argument);
            return kOk;
        }
        default:
            return refuse(Status::bad_method);
    }
}

// --- ProcessSpawner --------------------------------------------------------------------------------

Verdict spawner(const CallIn& in, uint32_t max_weight, SpawnerCall* out) {
    using S = schema::ProcessSpawner;
    if (in.interface_id != S::kInterfaceId) return refuse(Status::bad_method);
    if (in.method == S::Methods::free_frames) {
        out->op = SpawnerCall::Op::free_frames;
        return kOk;
    }
    if (in.method == S::Methods::modules) {
        out->op = SpawnerCall::Op::modules;
        return kOk;
    }
    if (in.method != S::Methods::spawn) return refuse(Status::bad_method);
    if ((in.rights & abi::kRightWrite) == 0) return refuse(Status::rights);
    if (in.caps_out_max < 1) return refuse(Status::result_too_large);
    Params p(in);
    if (!p.ok()) return malformed();
    out->op = SpawnerCall::Op::spawn;
    const auto s = p.root<S::SpawnParams>();
    const auto name = s.name();
    const auto module = s.module();
    out->name = name.c_str();
    out->name_len = name.size();
    out->module = module.c_str();
    out->module_len = module.size();
    // Arguments joined by single spaces.
    const auto args = s.args();
    uint32_t alen = 0;
    for (uint32_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        if (alen + a.size() + 1 >= kSpawnArgBytes) return refuse(Status::invalid_argument);
        if (alen != 0) out->args[alen++] = ' ';
        __builtin_memcpy(out->args + alen, a.c_str(), a.size());
        alen += a.size();
    }
    out->args[alen] = '\0';
    out->args_len = alen;
    const auto caps = s.caps();
    if (caps.size() > kSpawnMaxGrants) return refuse(Status::invalid_argument);
    for (uint32_t i = 0; i < caps.size(); ++i) {
        const auto g = caps[i];
        SpawnGrant& o = out->grants[i];
        const auto gname = g.name();
        o.name = gname.c_str();
        o.name_len = gname.size();
        uint32_t slot = 0;
        if (!g.cap().get_capability(slot)) return malformed();
        o.cap = slot;
        o.rights = g.rights();
    }
    out->grant_count = caps.size();
    const auto q = s.quotas();
    out->frames = q.frames();
    out->cap_slots = q.cap_slots();
    out->threads = q.threads();
    out->outstanding_calls = q.outstanding_calls();
    out->weight = s.placement_weight();
    if (!p.read_cleanly()) return malformed();
    // placementWeight: 0 = the default; else 1..max_weight, the bounds
    // Thread.setWeight and placement decisions use.
    if (out->weight > max_weight) return refuse(Status::invalid_argument);
    return kOk;
}

// --- SchedulerControl --------------------------------------------------------------------------

Verdict scheduler_control(const CallIn& in, uint64_t default_deadline_ns, SchedControlCall* out) {
    using S = schema::SchedulerControl;
    using Op = SchedControlCall::Op;
    if (in.interface_id != S::kInterfaceId) return refuse(Status::bad_method);
    // Every placement method needs Write (a read-only capability is for
    // KernelStats); checked before the method, as the object always did.
    if ((in.rights & abi::kRightWrite) == 0) return refuse(Status::rights);
    switch (in.method) {
        case S::Methods::attach:
            out->op = Op::attach;
            break;
        case S::Methods::next_events:
            out->op = Op::next_events;
            break;
        case S::Methods::place:
            out->op = Op::place;
            break;
        case S::Methods::set_default_slice:
            out->op = Op::set_default_slice;
            break;
        case S::Methods::snapshot:
            out->op = Op::snapshot;
            break;
        case S::Methods::detach:
            out->op = Op::detach;
            break;
        case S::Methods::status:
            out->op = Op::status;
            break;
        case S::Methods::trace_dump:
            out->op = Op::trace_dump;
            break;
        case S::Methods::stats:
            out->op = Op::stats;
            break;
        // setCpuWeights was removed: the weights were stored and never changed
        // a placement (docs/placement.md, "CPU weights"). Refused, not dropped.
        default:
            return refuse(Status::bad_method);
    }
    switch (out->op) {
        case Op::snapshot:
        case Op::detach:
        case Op::status:
        case Op::stats:
            return kOk;
        default:
            break;
    }
    Params p(in);
    if (!p.ok()) return malformed();
    switch (out->op) {
        case Op::attach: {
            const auto a = p.root<S::AttachParams>();
            out->deadline_ns = a.deadline_ns();
            out->resume_after_seq = a.resume_after_seq();
            out->has_rings = a.has_rings();
            if (out->has_rings && !cap_index(a.rings(), &out->rings_cap)) return malformed();
            if (!p.read_cleanly()) return malformed();
            if (out->deadline_ns == 0) out->deadline_ns = default_deadline_ns;
            if (out->deadline_ns < kSchedMinDeadlineNs || out->deadline_ns > kSchedMaxDeadlineNs)
                return refuse(Status::invalid_argument);
            return kOk;
        }
        case Op::next_events: {
            const auto n = p.root<S::NextEventsParams>();
            out->max = n.max();
            out->timeout_ns = n.timeout_ns();
            if (out->max == 0 || out->max > kSchedMaxEventsPerCall) out->max = kSchedMaxEventsPerCall;
            return kOk;
        }
        case Op::set_default_slice:
            out->slice_ns = p.root<S::SetDefaultSliceParams>().slice_ns();
            return kOk;
        case Op::trace_dump:
            out->trace_enable = p.root<S::TraceDumpParams>().enable();
            return kOk;
        default:
            return kOk;  // place: the object reads it
    }
}

Verdict thread_set_weight(const CallIn& in, uint32_t* weight) {
    using T = schema::Thread;
    if (in.interface_id != T::kInterfaceId || in.method != T::Methods::set_weight) return refuse(Status::bad_method);
    Params p(in);
    if (!p.ok()) return malformed();
    *weight = p.root<T::SetWeightParams>().weight();
    if (*weight < kMinWeight || *weight > kMaxWeight) return refuse(Status::invalid_argument);
    return kOk;
}

// --- Result encoders ----------------------------------------------------------------------------------

namespace {

// A result built in place: the builder's one segment starts after the
// 8-byte stream framing word (segment count - 1 = 0, then the segment's
// size in words), which finish() writes once the size is known. No copy,
// no scratch buffer on the kernel stack.
class ResultMessage {
public:
    ResultMessage(void* out, size_t cap)
        : out_(static_cast<uint8_t*>(out)), b_(cap >= 16 ? out_ + 8 : out_, cap >= 16 ? cap - 8 : 0) {}
    capnp::MessageBuilder& builder() { return b_; }
    template <typename T>
    typename T::Builder root() {
        return b_.init_root<T>();
    }
    uint32_t finish() {
        capnp::SegmentView seg[1];
        if (b_.error() != capnp::Error::Ok || b_.segments(seg, 1) != 1) return 0;
        const uint32_t header[2] = {0, seg[0].words};
        __builtin_memcpy(out_, header, sizeof header);
        return 8u + seg[0].words * 8u;
    }

private:
    uint8_t* out_;
    capnp::MessageBuilder b_;
};

}  // namespace

uint32_t timer_ns_result(void* out, size_t cap, uint64_t ns) {
    ResultMessage r(out, cap);
    r.root<schema::Timer::NowResults>().set_ns(ns);  // ResolutionResults has the same layout
    static_assert(schema::Timer::NowResults::kDataWords == schema::Timer::ResolutionResults::kDataWords);
    return r.finish();
}

uint32_t park_wait_result(void* out, size_t cap, bool woken) {
    ResultMessage r(out, cap);
    r.root<schema::Park::WaitResults>().set_woken(woken);
    return r.finish();
}

uint32_t park_wake_result(void* out, size_t cap, uint32_t woken) {
    ResultMessage r(out, cap);
    r.root<schema::Park::WakeResults>().set_woken(woken);
    return r.finish();
}

uint32_t memory_size_result(void* out, size_t cap, uint64_t bytes) {
    ResultMessage r(out, cap);
    r.root<schema::MemoryObject::SizeResults>().set_bytes(bytes);
    return r.finish();
}

uint32_t memory_read_result(void* out, size_t cap, uint32_t len, uint8_t** bytes) {
    *bytes = nullptr;
    ResultMessage r(out, cap);
    auto d = r.root<schema::MemoryObject::ReadResults>().init_bytes(len);
    const uint32_t n = r.finish();
    if (n != 0) *bytes = len != 0 ? d.data() : static_cast<uint8_t*>(out);
    return n;
}

uint32_t exit_result(void* out, size_t cap, int64_t code, uint16_t reason) {
    // ProcessHandle.wait and Thread.join return the same struct.
    ResultMessage r(out, cap);
    auto w = r.root<schema::ProcessHandle::WaitResults>();
    w.set_exit_code(code);
    w.set_reason(static_cast<schema::ExitReason>(reason));
    static_assert(schema::ProcessHandle::WaitResults::kDataWords == schema::Thread::JoinResults::kDataWords);
    return r.finish();
}

uint32_t process_id_result(void* out, size_t cap, uint64_t id) {
    ResultMessage r(out, cap);
    r.root<schema::Process::IdResults>().set_process_id(id);  // ProcessHandle.IdResults: the same layout
    static_assert(schema::Process::IdResults::kDataWords == schema::ProcessHandle::IdResults::kDataWords);
    return r.finish();
}

uint32_t thread_id_result(void* out, size_t cap, uint64_t id) {
    ResultMessage r(out, cap);
    r.root<schema::Thread::IdResults>().set_thread_id(id);
    return r.finish();
}

uint32_t receive_result_size(uint32_t params_len) {
    using R = schema::Endpoint::ReceiveResults;
    using I = schema::IncomingCall;
    // framing word, root pointer, the results struct, IncomingCall, params padded to words
    return 8u * (2u + R::kDataWords + R::kPointerCount + I::kDataWords + I::kPointerCount) + ((params_len + 7u) & ~7u);
}

uint32_t receive_result(void* out, size_t cap, const Incoming* call, bool timed_out) {
    ResultMessage r(out, cap);
    auto root = r.root<schema::Endpoint::ReceiveResults>();
    root.set_timed_out(timed_out);
    if (call != nullptr) {
        auto ic = root.init_call();
        ic.set_call_id(call->call_id);
        ic.set_badge(call->badge);
        ic.set_interface_id(call->interface_id);
        ic.set_method(call->method);
        ic.set_params(call->params, call->params_len);
        ic.set_cap_count(call->cap_count);
        ic.set_first_cap_slot(call->first_cap_slot);
    }
    return r.finish();
}

uint32_t spawn_result(void* out, size_t cap, uint64_t process_id) {
    ResultMessage r(out, cap);
    uint32_t caps[1];
    r.builder().set_cap_table(caps, 1);
    auto s = r.root<schema::ProcessSpawner::SpawnResults>();
    s.set_process_id(process_id);
    if (!s.set_handle(0)) return 0;  // capability 0 of the completion
    return r.finish();
}

uint32_t free_frames_result(void* out, size_t cap, const FreeFrames& f) {
    ResultMessage r(out, cap);
    auto s = r.root<schema::ProcessSpawner::FreeFramesResults>();
    s.set_frames(f.frames);
    s.set_heap_bytes_in_use(f.heap_bytes_in_use);
    s.set_heap_bytes_mapped(f.heap_bytes_mapped);
    s.set_heap_allocations(f.heap_allocations);
    s.set_live_processes(f.live_processes);
    s.set_cap_slots_used(f.cap_slots_used);
    // liveChildren: the spawner server's count; the kernel's spawner has no limit to report.
    return r.finish();
}

uint32_t modules_result(void* out, size_t cap, uint32_t count, const char* (*name)(uint32_t i, uint32_t* len)) {
    ResultMessage r(out, cap);
    auto l = r.root<schema::ProcessSpawner::ModulesResults>().init_names(count);
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t len = 0;
        const char* n = name(i, &len);
        auto t = l.init(i, len);
        if (t.data() == nullptr) return 0;
        __builtin_memcpy(t.data(), n, len);
    }
    return r.finish();
}

uint32_t attach_result(void* out, size_t cap, uint64_t epoch, uint32_t cpu_count, uint64_t next_seq) {
    ResultMessage r(out, cap);
    auto a = r.root<schema::SchedulerControl::AttachResults>();
    a.set_epoch(epoch);
    a.set_cpu_count(cpu_count);
    a.set_next_seq(next_seq);
    return r.finish();
}

uint32_t fault_disarm_result(void* out, size_t cap, uint64_t injected, uint64_t frames, uint64_t heap_blocks) {
    ResultMessage r(out, cap);
    auto res = r.root<schema::FaultInjection::DisarmResults>();
    res.set_injected(injected);
    res.set_frames(frames);
    res.set_heap_blocks(heap_blocks);
    return r.finish();
}

uint32_t fault_counts_result(void* out, size_t cap, uint32_t process_threads, uint64_t kernel_threads,
                             uint64_t page_tables) {
    ResultMessage r(out, cap);
    auto res = r.root<schema::FaultInjection::CountsResults>();
    res.set_process_threads(process_threads);
    res.set_kernel_threads(kernel_threads);
    res.set_page_tables(page_tables);
    return r.finish();
}

uint32_t sched_status_result(void* out, size_t cap, uint16_t mode, uint64_t epoch, uint64_t fallbacks) {
    ResultMessage r(out, cap);
    auto st = r.root<schema::SchedulerControl::StatusResults>();
    st.set_mode(static_cast<schema::PlacementMode>(mode));
    st.set_epoch(epoch);
    st.set_fallbacks(fallbacks);
    return r.finish();
}

uint32_t sched_stats_result(void* out, size_t cap, const SchedStats& s) {
    ResultMessage r(out, cap);
    auto res = r.root<schema::SchedulerControl::StatsResults>();
    res.set_applied(s.applied);
    res.set_misses(s.misses);
    res.set_stale(s.stale);
    res.set_invalid(s.invalid);
    res.set_latency_median_ns(s.latency_median_ns);
    res.set_latency_p99_ns(s.latency_p99_ns);
    res.set_fallback_latency_ns(s.fallback_latency_ns);
    res.set_swap_gap_ns(s.swap_gap_ns);
    res.set_swap_default_placements(s.swap_default_placements);
    res.set_samples(s.samples);
    return r.finish();
}

uint32_t next_events_result(void* out, size_t cap, uint64_t dropped, const SchedEvent* evs, uint32_t n) {
    ResultMessage r(out, cap);
    auto res = r.root<schema::SchedulerControl::NextEventsResults>();
    res.set_dropped(dropped);
    auto l = res.init_events(n);
    for (uint32_t i = 0; i < n && r.builder().error() == capnp::Error::Ok; ++i) {
        const SchedEvent& ev = evs[i];
        auto e = l[i];
        e.set_seq(ev.seq);
        e.set_time_ns(ev.time_ns);
        e.set_cpu(ev.cpu);
        auto thread = [&](auto t) {
            t.set_thread_id(ev.thread_id);
            t.set_process_id(ev.process_id);
            t.set_cpu(ev.cpu);
            t.set_weight(ev.weight);
            t.set_run_ns(ev.run_ns);
        };
        switch (ev.kind) {
            case SchedEventKind::thread_created:
                thread(e.init_thread_created());
                break;
            case SchedEventKind::thread_runnable:
                thread(e.init_thread_runnable());
                break;
            case SchedEventKind::thread_blocked:
                thread(e.init_thread_blocked());
                break;
            case SchedEventKind::thread_exited:
                thread(e.init_thread_exited());
                break;
            case SchedEventKind::cpu_load: {
                auto c = e.init_cpu_load();
                c.set_cpu(ev.cpu);
                c.set_runnable(ev.runnable);
                c.set_busy_ns(ev.run_ns);
                c.set_idle_ns(ev.aux);
                c.set_weight(ev.weight);
                break;
            }
            case SchedEventKind::deadline_missed:
                e.set_deadline_missed(ev.aux);
                break;
            case SchedEventKind::demoted:
            default: {
                const char* why = sched_reason_name(ev.reason);
                uint32_t len = 0;
                while (why[len] != '\0') ++len;
                e.fallback().set_reason(why, len);
                break;
            }
        }
    }
    return r.finish();
}

uint32_t place_result(void* out, size_t cap, uint32_t applied, const Rejection* rej, uint32_t n) {
    ResultMessage r(out, cap);
    auto res = r.root<schema::SchedulerControl::PlaceResults>();
    res.set_applied(applied);
    auto l = res.init_rejected(n);
    for (uint32_t i = 0; i < n && r.builder().error() == capnp::Error::Ok; ++i) {
        auto e = l[i];
        e.set_index(rej[i].index);
        e.set_answers_seq(rej[i].seq);
        uint32_t len = 0;
        while (rej[i].why[len] != '\0') ++len;
        e.set_reason(rej[i].why, len);
    }
    return r.finish();
}

uint32_t snapshot_result(void* out, size_t cap, uint64_t epoch, uint64_t last_seq, uint64_t default_slice_ns,
                         const SnapshotCpu* cpus, uint32_t ncpus, const SnapshotThread* threads, uint32_t nthreads) {
    ResultMessage r(out, cap);
    auto s = r.root<schema::SchedulerControl::SnapshotResults>().init_snapshot();
    s.set_epoch(epoch);
    s.set_last_seq(last_seq);
    s.set_version(1);
    s.set_default_slice_ns(default_slice_ns);
    s.set_policy("kernel", 6);
    auto cl = s.init_cpus(ncpus);
    for (uint32_t c = 0; c < ncpus && r.builder().error() == capnp::Error::Ok; ++c) {
        cl[c].set_cpu(c);
        cl[c].set_online(true);
        cl[c].set_weight(0);  // CPUs have no weight
        cl[c].set_runnable(cpus[c].runnable);
    }
    auto tl = s.init_threads(nthreads);
    for (uint32_t i = 0; i < nthreads && r.builder().error() == capnp::Error::Ok; ++i) {
        tl[i].set_thread_id(threads[i].thread_id);
        tl[i].set_process_id(threads[i].process_id);
        tl[i].set_cpu(threads[i].cpu);
        tl[i].set_weight(threads[i].weight);
        tl[i].set_slice_ns(threads[i].slice_ns);
    }
    return r.finish();
}

}  // namespace kern::decode
