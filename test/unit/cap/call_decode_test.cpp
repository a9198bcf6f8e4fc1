// Host tests of the kernel objects' decode steps and result encoders (microkernel/cap/call_decode.cpp,
// the source the kernel builds): every method's valid call decodes to its fields, and every refusal the
// kernel objects make comes out with the status the QEMU tests see.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "capos/abi/cap.h"
#include "capos/schema/fault.capnp.h"
#include "kernel_decode_input.h"

namespace {

using namespace kdfuzz;
namespace cp = cap::capnp;
using kern::decode::Status;

// A message built by the generated builders, framed (optionally over several segments).
struct Msg {
    alignas(8) uint8_t buf[16384];
    uint32_t len = 0;
};

template <typename T, typename F>
Msg build(F&& fill, uint32_t caps = 32) {
    alignas(8) static uint8_t seg[16384];
    cp::MessageBuilder b(seg, sizeof seg);
    uint32_t slots[32];
    b.set_cap_table(slots, caps);
    fill(b.template init_root<T>());
    Msg m;
    size_t n = 0;
    REQUIRE(b.write_flat(m.buf, sizeof m.buf, &n) == cp::Error::Ok);
    m.len = static_cast<uint32_t>(n);
    return m;
}

kern::decode::CallIn call(uint64_t iface, uint16_t method, const Msg* m, uint32_t rights = 0x1fff, uint16_t caps_in = 0,
                          uint16_t caps_out = 1) {
    kern::decode::CallIn in;
    in.interface_id = iface;
    in.method = method;
    in.rights = rights;
    in.params = m != nullptr ? m->buf : nullptr;
    in.params_len = m != nullptr ? m->len : 0;
    in.caps_in_count = caps_in;
    in.caps_out_max = caps_out;
    return in;
}

constexpr uint32_t kAll = 0x1fff;
constexpr uint32_t kNoCap = ~0u;

}  // namespace

TEST_CASE("every seed decodes, and a bit-flipped seed never crashes the decode step", "[decode]") {
    uint32_t seeds = 0;
    for_each_seed([&](const Seed& s) {
        ++seeds;
        uint8_t header[kHeader];
        put_header(header, s.h);
        Outcome o;
        run(header, s.msg, s.len, &o);
        INFO("object " << int(s.h.object) << " method " << int(s.h.method));
        CHECK(o.verdict.status == Status::ok);
        alignas(8) uint8_t m[1024];
        for (uint32_t bit = 0; bit < s.len * 8; bit += 7) {
            std::memcpy(m, s.msg, s.len);
            m[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            run(header, m, s.len, &o);  // ASan/UBSan watch; the verdict may be anything
        }
    });
    // The multi-segment seeds too: a failed build would silently drop one.
    CHECK(seeds == 39);
}

TEST_CASE("Console: text and data, the Write right, the 4 KiB limit", "[decode]") {
    using C = sc::Console;
    Msg m = build<C::WriteParams>([](auto b) { b.set_text("hi\n"); });
    kern::decode::ConsoleCall d;
    REQUIRE(kern::decode::console(call(C::kInterfaceId, C::Methods::write, &m), &d).ok());
    CHECK(d.bytes.size == 3);
    CHECK(std::memcmp(d.bytes.data, "hi\n", 3) == 0);
    CHECK(kern::decode::console(call(C::kInterfaceId, C::Methods::write, &m, kAll & ~capos::abi::kRightWrite), &d)
              .status == Status::rights);
    CHECK(kern::decode::console(call(C::kInterfaceId, 7, &m), &d).status == Status::bad_method);
    CHECK(kern::decode::console(call(sc::Timer::kInterfaceId, 0, &m), &d).status == Status::bad_method);
    static char big[4097];
    std::memset(big, 'x', sizeof big);
    Msg l = build<C::WriteBytesParams>([](auto b) { b.set_bytes(reinterpret_cast<const uint8_t*>(big), 4097); });
    CHECK(kern::decode::console(call(C::kInterfaceId, C::Methods::write_bytes, &l), &d).status ==
          Status::invalid_argument);
    // Text where the schema has Data is a byte list and reads; a struct where it has Text does not.
    Msg s = build<C::WriteParams>([](auto b) { (void)b.raw().pointer(0).init_struct(1, 0); });
    CHECK(kern::decode::console(call(C::kInterfaceId, C::Methods::write, &s), &d).status == Status::malformed_message);
    // Truncated framing and an empty message.
    Msg t = m;
    t.len = 12;
    CHECK(kern::decode::console(call(C::kInterfaceId, C::Methods::write, &t), &d).status == Status::malformed_message);
    CHECK(kern::decode::console(call(C::kInterfaceId, C::Methods::write, nullptr), &d).status ==
          Status::malformed_message);
}

TEST_CASE("Park: address alignment and range, fields", "[decode]") {
    using P = sc::Park;
    kern::decode::ParkCall d;
    Msg ok = build<P::WaitParams>([](auto b) {
        b.set_address(0x1000);
        b.set_expected(5);
        b.set_timeout_ns(77);
    });
    REQUIRE(kern::decode::park(call(P::kInterfaceId, P::Methods::wait, &ok), &d).ok());
    CHECK(d.wait);
    CHECK(d.address == 0x1000);
    CHECK(d.expected == 5);
    CHECK(d.timeout_ns == 77);
    Msg odd = build<P::WakeParams>([](auto b) { b.set_address(0x1002); });
    CHECK(kern::decode::park(call(P::kInterfaceId, P::Methods::wake, &odd), &d).status == Status::bad_pointer);
    Msg kernel = build<P::WakeParams>([](auto b) { b.set_address(0xffff800000000000ull); });
    CHECK(kern::decode::park(call(P::kInterfaceId, P::Methods::wake, &kernel), &d).status == Status::bad_pointer);
}

TEST_CASE("MemoryObject: rights per method, ranges against the object's size, slice unsupported", "[decode]") {
    using M = sc::MemoryObject;
    kern::decode::MemoryCall d;
    Msg r = build<M::ReadParams>([](auto b) {
        b.set_offset(4096);
        b.set_length(4096);
    });
    CHECK(kern::decode::memory_object(call(M::kInterfaceId, M::Methods::read, &r), 8192, &d).ok());
    CHECK(kern::decode::memory_object(call(M::kInterfaceId, M::Methods::read, &r), 8191, &d).status ==
          Status::invalid_argument);
    CHECK(kern::decode::memory_object(call(M::kInterfaceId, M::Methods::read, &r, capos::abi::kRightWrite), 8192, &d)
              .status == Status::rights);
    Msg w = build<M::WriteParams>([](auto b) {
        b.set_offset(~uint64_t{0});
        const uint8_t x[1] = {1};
        b.set_bytes(x, 1);
    });
    CHECK(kern::decode::memory_object(call(M::kInterfaceId, M::Methods::write, &w), 8192, &d).status ==
          Status::invalid_argument);
    CHECK(kern::decode::memory_object(call(M::kInterfaceId, M::Methods::write, &w, capos::abi::kRightRead), 8192, &d)
              .status == Status::rights);
    CHECK(kern::decode::memory_object(call(M::kInterfaceId, M::Methods::slice, &w), 8192, &d).status ==
          Status::not_supported);
    CHECK(kern::decode::memory_object(call(M::kInterfaceId, M::Methods::size, nullptr), 8192, &d).ok());
}

TEST_CASE("Endpoint: receive/reply/mint rights, the reply status the ABI defines, mint's result room", "[decode]") {
    using E = sc::Endpoint;
    kern::decode::EndpointCall d;
    Msg rep = build<E::ReplyParams>([](auto b) {
        b.set_call_id(9);
        b.set_status(-1);
        const uint8_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        b.set_results(x, 8);
    });
    REQUIRE(kern::decode::endpoint(call(E::kInterfaceId, E::Methods::reply, &rep), &d).ok());
    CHECK(d.call_id == 9);
    CHECK(d.status == -1);
    CHECK(d.results.size == 8);
    CHECK(kern::decode::endpoint(call(E::kInterfaceId, E::Methods::reply, &rep, capos::abi::kRightRead), &d).status ==
          Status::rights);
    Msg bad = build<E::ReplyParams>([](auto b) { b.set_status(5); });
    CHECK(kern::decode::endpoint(call(E::kInterfaceId, E::Methods::reply, &bad), &d).status ==
          Status::invalid_argument);
    Msg low = build<E::ReplyParams>([](auto b) { b.set_status(-100000); });
    CHECK(kern::decode::endpoint(call(E::kInterfaceId, E::Methods::reply, &low), &d).status ==
          Status::invalid_argument);
    Msg mint = build<E::MintParams>([](auto b) { b.set_badge(0xabc); });
    REQUIRE(kern::decode::endpoint(call(E::kInterfaceId, E::Methods::mint, &mint), &d).ok());
    CHECK(d.badge == 0xabc);
    CHECK(kern::decode::endpoint(call(E::kInterfaceId, E::Methods::mint, &mint, kAll, 0, 0), &d).status ==
          Status::result_too_large);
    CHECK(kern::decode::endpoint(call(E::kInterfaceId, E::Methods::mint, &mint, kAll & ~capos::abi::kRightCopy), &d)
              .status == Status::rights);
    CHECK(
        kern::decode::endpoint(call(E::kInterfaceId, E::Methods::receive, &mint, capos::abi::kRightWrite), &d).status ==
        Status::rights);
}

TEST_CASE("Process: map's memory capability is an in-cap index; caller-only methods; ProcessHandle rights",
          "[decode]") {
    using P = sc::Process;
    using H = sc::ProcessHandle;
    kern::decode::ProcessCall d;
    Msg map = build<P::MapParams>([](auto b) {
        REQUIRE(b.set_memory(40));  // the builder's first capability: index 0 in the message
        b.set_address(0x5000);
        b.set_length(4096);
        b.set_writable(true);
    });
    REQUIRE(kern::decode::process(call(P::kInterfaceId, P::Methods::map, &map, kAll, 1), true, &d).ok());
    CHECK(d.memory_cap == 0);
    CHECK(d.writable);
    CHECK_FALSE(d.executable);
    // Index 0 with no in-cap, and no capability at all: malformed.
    CHECK(kern::decode::process(call(P::kInterfaceId, P::Methods::map, &map, kAll, 0), true, &d).status ==
          Status::malformed_message);
    Msg nocap = build<P::MapParams>([](auto b) { b.set_address(0x5000); });
    CHECK(kern::decode::process(call(P::kInterfaceId, P::Methods::map, &nocap, kAll, 2), true, &d).status ==
          Status::malformed_message);
    // No message: all defaults.
    CHECK(kern::decode::process(call(P::kInterfaceId, P::Methods::id, nullptr), false, &d).ok());
    CHECK(kern::decode::process(call(P::kInterfaceId, P::Methods::exit_thread, nullptr), false, &d).status ==
          Status::invalid_argument);
    CHECK(kern::decode::process(call(P::kInterfaceId, P::Methods::drop_caps, nullptr), false, &d).status ==
          Status::invalid_argument);
    CHECK(
        kern::decode::process(call(P::kInterfaceId, P::Methods::create_thread, nullptr, kAll, 0, 0), true, &d).status ==
        Status::result_too_large);
    CHECK(kern::decode::process(call(P::kInterfaceId, P::Methods::id, nullptr, capos::abi::kRightRead), true, &d)
              .status == Status::rights);
    CHECK(kern::decode::process(call(H::kInterfaceId, H::Methods::wait, nullptr), true, &d).status ==
          Status::invalid_argument);
    CHECK(kern::decode::process(call(H::kInterfaceId, H::Methods::kill, nullptr, capos::abi::kRightRead), false, &d)
              .status == Status::rights);
    REQUIRE(
        kern::decode::process(call(H::kInterfaceId, H::Methods::kill, nullptr, capos::abi::kRightControl), false, &d)
            .ok());
    CHECK(d.op == kern::decode::ProcessCall::Op::handle_kill);
}

TEST_CASE("Thread: join refuses the caller, setCpuHint's CPU below the count", "[decode]") {
    using T = sc::Thread;
    kern::decode::ThreadCall d;
    CHECK(kern::decode::thread(call(T::kInterfaceId, T::Methods::join, nullptr), true, 2, &d).status ==
          Status::invalid_argument);
    Msg hint = build<T::SetCpuHintParams>([](auto b) { b.set_cpu(2); });
    CHECK(kern::decode::thread(call(T::kInterfaceId, T::Methods::set_cpu_hint, &hint), false, 2, &d).status ==
          Status::invalid_argument);
    REQUIRE(kern::decode::thread(call(T::kInterfaceId, T::Methods::set_cpu_hint, &hint), false, 3, &d).ok());
    CHECK(d.cpu == 2);
}

TEST_CASE("ProcessSpawner.spawn: fields, grants, arguments, weight and their limits", "[decode]") {
    using S = sc::ProcessSpawner;
    kern::decode::SpawnerCall d;
    auto spawn = [](uint32_t nargs, uint32_t ngrants, uint32_t weight, uint32_t cap_index) {
        return build<S::SpawnParams>([&](auto b) {
            b.set_name("child");
            b.set_module("mod");
            auto a = b.init_args(nargs);
            for (uint32_t i = 0; i < nargs; ++i) a.set(i, "a0123456789");
            auto c = b.init_caps(ngrants);
            for (uint32_t i = 0; i < ngrants; ++i) {
                c[i].set_name("g");
                if (cap_index != kNoCap) REQUIRE(c[i].init_cap().set_capability(cap_index));
            }
            b.set_placement_weight(weight);
            b.init_quotas().set_threads(3);
        });
    };
    Msg ok = spawn(2, 2, 0, 1);
    REQUIRE(kern::decode::spawner(call(S::kInterfaceId, S::Methods::spawn, &ok, kAll, 2), 10000, &d).ok());
    CHECK(std::string(d.name, d.name_len) == "child");
    CHECK(std::string(d.module, d.module_len) == "mod");
    CHECK(std::string(d.args) == "a0123456789 a0123456789");
    CHECK(d.grant_count == 2);
    CHECK(d.grants[1].cap == 1);
    CHECK(d.grants[1].rights == 0xffffffffu);  // the schema default
    CHECK(d.threads == 3);
    CHECK(d.frames == 0);
    // The grant's capability beyond the call's in-caps.
    CHECK(kern::decode::spawner(call(S::kInterfaceId, S::Methods::spawn, &ok, kAll, 1), 10000, &d).status ==
          Status::malformed_message);
    Msg many = spawn(0, 17, 0, kNoCap);  // the count is refused before any grant is read
    CHECK(kern::decode::spawner(call(S::kInterfaceId, S::Methods::spawn, &many, kAll, 1), 10000, &d).status ==
          Status::invalid_argument);
    Msg longargs = spawn(50, 0, 0, 0);
    CHECK(kern::decode::spawner(call(S::kInterfaceId, S::Methods::spawn, &longargs), 10000, &d).status ==
          Status::invalid_argument);
    Msg heavy = spawn(0, 0, 10001, 0);
    CHECK(kern::decode::spawner(call(S::kInterfaceId, S::Methods::spawn, &heavy), 10000, &d).status ==
          Status::invalid_argument);
    CHECK(kern::decode::spawner(call(S::kInterfaceId, S::Methods::spawn, &ok, capos::abi::kRightRead, 2), 10000, &d)
              .status == Status::rights);
    CHECK(kern::decode::spawner(call(S::kInterfaceId, S::Methods::spawn, &ok, kAll, 2, 0), 10000, &d).status ==
          Status::result_too_large);
}

TEST_CASE("parameter messages: up to four segments (far pointers) accepted, more refused", "[decode]") {
    using C = sc::Console;
    for (uint32_t nseg : {2u, 4u, 5u}) {
        alignas(8) uint8_t store[8][64];
        cp::SegmentBuffer segs[8];
        // Segment 0 holds only the root pointer; each later one a piece.
        for (uint32_t i = 0; i < nseg; ++i) segs[i] = cp::SegmentBuffer{store[i], i == 0 ? 1u : 3u, 0};
        cp::MessageBuilder b(segs, nseg);
        auto root = b.init_root<C::WriteParams>();            // 1 word: segment 1 (far pointer from segment 0)
        root.set_text(nseg == 2 ? "x" : "0123456789abcdef");  // 3 words: the next segment
        // Fill the remaining segments so the message has nseg of them.
        for (uint32_t i = 0; i < nseg; ++i) {
            if (segs[i].used_words == 0) {
                std::memset(store[i], 0, 8);  // an unreferenced null word
                segs[i].used_words = 1;
            }
        }
        Msg m;
        size_t n = 0;
        REQUIRE(b.write_flat(m.buf, sizeof m.buf, &n) == cp::Error::Ok);
        m.len = static_cast<uint32_t>(n);
        REQUIRE(b.segment_count() == nseg);
        kern::decode::ConsoleCall d;
        const auto v = kern::decode::console(call(C::kInterfaceId, C::Methods::write, &m), &d);
        INFO("segments " << nseg << " status " << int(v.status));
        if (nseg <= kern::decode::kMaxSegments) {
            REQUIRE(v.ok());
            CHECK(std::string(reinterpret_cast<const char*>(d.bytes.data), d.bytes.size) ==
                  (nseg == 2 ? "x" : "0123456789abcdef"));
        } else {
            CHECK(v.status == Status::malformed_message);
        }
    }
}

TEST_CASE("result encoders: read back by the generated readers, sizes as the kernel reserves them", "[decode]") {
    alignas(8) uint8_t out[8192];
    auto reader = [&](uint32_t n, cp::FlatMessageReader<1>& r) {
        REQUIRE(n != 0);
        REQUIRE(r.init_flat(out, n) == cp::Error::Ok);
        REQUIRE(r.validate() == cp::Error::Ok);
    };
    {
        cp::FlatMessageReader<1> r;
        reader(kern::decode::exit_result(out, sizeof out, -7, 1), r);
        auto w = r.root<sc::ProcessHandle::WaitResults>();
        CHECK(w.exit_code() == -7);
        CHECK(w.reason() == sc::ExitReason::Killed);
    }
    {
        // Endpoint.receive: the size the endpoint allocates is exactly what it writes.
        std::vector<uint8_t> params(37, 0x5a);
        kern::decode::Incoming ic;
        ic.call_id = 1;
        ic.badge = 2;
        ic.interface_id = 3;
        ic.method = 4;
        ic.params = params.data();
        ic.params_len = 37;
        ic.cap_count = 2;
        ic.first_cap_slot = 9;
        // One byte short: refused (what it wrote inside the room is not a message).
        CHECK(kern::decode::receive_result(out, kern::decode::receive_result_size(37) - 1, &ic, false) == 0);
        const uint32_t n = kern::decode::receive_result(out, sizeof out, &ic, false);
        CHECK(n == kern::decode::receive_result_size(37));
        cp::FlatMessageReader<1> r;
        reader(n, r);
        auto c = r.root<sc::Endpoint::ReceiveResults>().call();
        CHECK(c.call_id() == 1);
        CHECK(c.badge() == 2);
        CHECK(c.interface_id() == 3);
        CHECK(c.method() == 4);
        CHECK(c.params().size() == 37);
        CHECK(c.params()[36] == 0x5a);
        CHECK(c.cap_count() == 2);
        CHECK(c.first_cap_slot() == 9);
    }
    {
        cp::FlatMessageReader<1> r;
        reader(kern::decode::receive_result(out, sizeof out, nullptr, true), r);
        auto rr = r.root<sc::Endpoint::ReceiveResults>();
        CHECK(rr.timed_out());
        CHECK_FALSE(rr.has_call());
    }
    {
        const uint32_t n = kern::decode::spawn_result(out, sizeof out, 77);
        cp::FlatMessageReader<1> r;
        REQUIRE(r.init_flat(out, n) == cp::Error::Ok);
        uint32_t slots[1] = {123};
        r.set_cap_table(cp::CapTable{slots, 1});
        REQUIRE(r.validate() == cp::Error::Ok);
        auto s = r.root<sc::ProcessSpawner::SpawnResults>();
        CHECK(s.process_id() == 77);
        CHECK(s.handle().valid);
        CHECK(s.handle().slot == 123);
    }
    {
        static const char* names[3] = {"init", "", "bench-worker"};
        auto name = [](uint32_t i, uint32_t* len) {
            *len = static_cast<uint32_t>(std::strlen(names[i]));
            return names[i];
        };
        cp::FlatMessageReader<1> r;
        reader(kern::decode::modules_result(out, sizeof out, 3, name), r);
        auto l = r.root<sc::ProcessSpawner::ModulesResults>().names();
        REQUIRE(l.size() == 3);
        CHECK(std::string(l[2].c_str()) == "bench-worker");
        CHECK(l[1].size() == 0);
    }
    {
        uint8_t* bytes = nullptr;
        const uint32_t n = kern::decode::memory_read_result(out, sizeof out, 4096, &bytes);
        REQUIRE(bytes != nullptr);
        std::memset(bytes, 0xee, 4096);
        cp::FlatMessageReader<1> r;
        reader(n, r);
        auto d = r.root<sc::MemoryObject::ReadResults>().bytes();
        CHECK(d.size() == 4096);
        CHECK(d[4095] == 0xee);
        CHECK(kern::decode::memory_read_result(out, 100, 4096, &bytes) == 0);
        CHECK(bytes == nullptr);
    }
    CHECK(kern::decode::park_wake_result(out, 15, 3) == 0);  // no room for the framing: nothing written
}

TEST_CASE("SchedulerControl: Write first, every method's fields, the refusals", "[decode][sched]") {
    using S = sc::SchedulerControl;
    using Op = kern::decode::SchedControlCall::Op;
    namespace d = kern::decode;
    const uint32_t read_only = kAll & ~capos::abi::kRightWrite;
    d::SchedControlCall c;
    // Write before the method (a read-only capability gets `rights` even for a removed method).
    CHECK(d::scheduler_control(call(S::kInterfaceId, S::Methods::status, nullptr, read_only), 50'000, &c).status ==
          Status::rights);
    CHECK(d::scheduler_control(call(S::kInterfaceId, S::Methods::set_cpu_weights, nullptr, read_only), 50'000, &c)
              .status == Status::rights);
    CHECK(d::scheduler_control(call(S::kInterfaceId, S::Methods::set_cpu_weights, nullptr), 50'000, &c).status ==
          Status::bad_method);
    CHECK(d::scheduler_control(call(S::kInterfaceId, 10, nullptr), 50'000, &c).status == Status::bad_method);
    CHECK(d::scheduler_control(call(sc::Timer::kInterfaceId, S::Methods::status, nullptr), 50'000, &c).status ==
          Status::bad_method);
    // No parameters needed.
    const std::pair<uint16_t, Op> bare[4] = {{S::Methods::snapshot, Op::snapshot},
                                             {S::Methods::detach, Op::detach},
                                             {S::Methods::status, Op::status},
                                             {S::Methods::stats, Op::stats}};
    for (const auto& [m, op] : bare) {
        REQUIRE(d::scheduler_control(call(S::kInterfaceId, m, nullptr), 50'000, &c).ok());
        CHECK(c.op == op);
    }

    // attach: deadline (0 = the default given), its range, resume, the rings in-cap.
    Msg att = build<S::AttachParams>([](auto b) {
        b.set_deadline_ns(0);
        b.set_resume_after_seq(17);
    });
    REQUIRE(d::scheduler_control(call(S::kInterfaceId, S::Methods::attach, &att), 50'000, &c).ok());
    CHECK((c.op == Op::attach && c.deadline_ns == 50'000 && c.resume_after_seq == 17 && !c.has_rings));
    for (uint64_t bad : {uint64_t{999}, uint64_t{1'000'000'001}}) {
        Msg m = build<S::AttachParams>([&](auto b) { b.set_deadline_ns(bad); });
        CHECK(d::scheduler_control(call(S::kInterfaceId, S::Methods::attach, &m), 50'000, &c).status ==
              Status::invalid_argument);
    }
    Msg ok_edge = build<S::AttachParams>([](auto b) { b.set_deadline_ns(1'000'000'000); });
    REQUIRE(d::scheduler_control(call(S::kInterfaceId, S::Methods::attach, &ok_edge), 50'000, &c).ok());
    CHECK(c.deadline_ns == 1'000'000'000);
    Msg rings = build<S::AttachParams>([](auto b) {
        b.set_deadline_ns(2000);
        (void)b.set_rings(5);  // the message's first capability: in-cap index 0
    });
    REQUIRE(d::scheduler_control(call(S::kInterfaceId, S::Methods::attach, &rings, kAll, 1), 50'000, &c).ok());
    CHECK((c.has_rings && c.rings_cap == 0 && c.deadline_ns == 2000));
    // The rings capability is not among the call's in-caps: malformed (op already set).
    c = d::SchedControlCall{};
    CHECK(d::scheduler_control(call(S::kInterfaceId, S::Methods::attach, &rings, kAll, 0), 50'000, &c).status ==
          Status::malformed_message);
    CHECK(c.op == Op::attach);

    // nextEvents: max 0 or above the limit asks for the limit.
    // Named copies, not structured bindings: the lambdas capture them (clang 14 cannot capture a binding).
    for (const auto& pair : {std::pair<uint32_t, uint32_t>{0, 64}, {65, 64}, {64, 64}, {3, 3}}) {
        const uint32_t asked = pair.first, got = pair.second;
        Msg m = build<S::NextEventsParams>([&](auto b) {
            b.set_max(asked);
            b.set_timeout_ns(123);
        });
        REQUIRE(d::scheduler_control(call(S::kInterfaceId, S::Methods::next_events, &m), 50'000, &c).ok());
        CHECK((c.op == Op::next_events && c.max == got && c.timeout_ns == 123));
    }

    // setDefaultSlice: the value as sent (the object checks its range after is_server).
    Msg sl = build<S::SetDefaultSliceParams>([](auto b) { b.set_slice_ns(~0ull); });
    REQUIRE(d::scheduler_control(call(S::kInterfaceId, S::Methods::set_default_slice, &sl), 50'000, &c).ok());
    CHECK((c.op == Op::set_default_slice && c.slice_ns == ~0ull));

    // traceDump: (enable :Bool).
    Msg on = build<S::TraceDumpParams>([](auto b) { b.set_enable(true); });
    REQUIRE(d::scheduler_control(call(S::kInterfaceId, S::Methods::trace_dump, &on), 50'000, &c).ok());
    CHECK((c.op == Op::trace_dump && c.trace_enable));
    Msg off = build<S::TraceDumpParams>([](auto b) { b.set_enable(false); });
    REQUIRE(d::scheduler_control(call(S::kInterfaceId, S::Methods::trace_dump, &off), 50'000, &c).ok());
    CHECK((c.op == Op::trace_dump && !c.trace_enable));

    // A message that does not parse: malformed, with op set (the object demotes a serving place caller).
    Msg junk;
    const uint32_t w[4] = {5, 1, 0, 0};
    std::memcpy(junk.buf, w, sizeof w);
    junk.len = sizeof w;
    for (auto [m, op] : {std::pair<uint16_t, Op>{S::Methods::place, Op::place},
                         {S::Methods::attach, Op::attach},
                         {S::Methods::next_events, Op::next_events},
                         {S::Methods::trace_dump, Op::trace_dump}}) {
        c = d::SchedControlCall{};
        CHECK(d::scheduler_control(call(S::kInterfaceId, m, &junk), 50'000, &c).status == Status::malformed_message);
        CHECK(c.op == op);
    }
    // place itself: only framed here.
    Msg pl = build<S::PlaceParams>([](auto b) { b.set_epoch(3); });
    REQUIRE(d::scheduler_control(call(S::kInterfaceId, S::Methods::place, &pl), 50'000, &c).ok());
    CHECK(c.op == Op::place);
}

TEST_CASE("Thread.setWeight: the weight and its range", "[decode][sched]") {
    using T = sc::Thread;
    uint32_t w = 0;
    for (const auto& pair : {std::pair<uint32_t, bool>{0, false}, {1, true}, {10000, true}, {10001, false}}) {
        const uint32_t asked = pair.first;
        const bool ok = pair.second;
        Msg m = build<T::SetWeightParams>([&](auto b) { b.set_weight(asked); });
        const auto v = kern::decode::thread_set_weight(call(T::kInterfaceId, T::Methods::set_weight, &m), &w);
        CHECK(v.ok() == ok);
        if (ok) CHECK(w == asked);
        else CHECK(v.status == Status::invalid_argument);
    }
    CHECK(kern::decode::thread_set_weight(call(T::kInterfaceId, T::Methods::join, nullptr), &w).status ==
          Status::bad_method);
}

TEST_CASE("SchedulerControl result encoders: read back by the generated readers", "[decode][sched]") {
    using S = sc::SchedulerControl;
    namespace d = kern::decode;
    alignas(8) static uint8_t out[16384];
    auto reader = [&](uint32_t n, cp::FlatMessageReader<1>& r) {
        REQUIRE(n != 0);
        REQUIRE(r.init_flat(out, n) == cp::Error::Ok);
        REQUIRE(r.validate() == cp::Error::Ok);
    };
    {
        cp::FlatMessageReader<1> r;
        reader(d::attach_result(out, sizeof out, 4, 2, 99), r);
        auto a = r.root<S::AttachResults>();
        CHECK((a.epoch() == 4 && a.cpu_count() == 2 && a.next_seq() == 99));
    }
    {
        cp::FlatMessageReader<1> r;
        const d::SchedStats st{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        reader(d::sched_stats_result(out, sizeof out, st), r);
        auto s = r.root<S::StatsResults>();
        CHECK((s.applied() == 1 && s.misses() == 2 && s.stale() == 3 && s.invalid() == 4 &&
               s.latency_median_ns() == 5 && s.latency_p99_ns() == 6 && s.fallback_latency_ns() == 7 &&
               s.swap_gap_ns() == 8 && s.swap_default_placements() == 9 && s.samples() == 10));
        CHECK(d::sched_stats_result(out, 40, st) == 0);  // no room: 0, the object answers an error
    }
    {
        cp::FlatMessageReader<1> r;
        reader(d::sched_status_result(out, sizeof out, 2, 5, 6), r);
        auto st = r.root<S::StatusResults>();
        CHECK((st.mode() == sc::PlacementMode::Fallback && st.epoch() == 5 && st.fallbacks() == 6));
    }
    {
        kern::SchedEvent ev[4];
        ev[0].kind = kern::SchedEventKind::thread_runnable;
        ev[0].seq = 10;
        ev[0].time_ns = 11;
        ev[0].thread_id = 12;
        ev[0].process_id = 13;
        ev[0].cpu = 1;
        ev[0].weight = 1024;
        ev[0].run_ns = 14;
        ev[1].kind = kern::SchedEventKind::cpu_load;
        ev[1].cpu = 3;
        ev[1].runnable = 2;
        ev[1].run_ns = 100;
        ev[1].aux = 200;
        ev[2].kind = kern::SchedEventKind::deadline_missed;
        ev[2].aux = 77;
        ev[3].kind = kern::SchedEventKind::demoted;
        ev[3].reason = kern::SchedReason::detached;
        cp::FlatMessageReader<1> r;
        reader(d::next_events_result(out, sizeof out, 9, ev, 4), r);
        auto res = r.root<S::NextEventsResults>();
        REQUIRE(res.events().size() == 4);
        CHECK(res.dropped() == 9);
        auto e0 = res.events()[0];
        REQUIRE(e0.which() == sc::PlacementEvent_Which::ThreadRunnable);
        auto t = e0.thread_runnable();
        CHECK((e0.seq() == 10 && e0.time_ns() == 11 && e0.cpu() == 1 && t.thread_id() == 12 && t.process_id() == 13 &&
               t.cpu() == 1 && t.weight() == 1024 && t.run_ns() == 14));
        auto e1 = res.events()[1];
        REQUIRE(e1.which() == sc::PlacementEvent_Which::CpuLoad);
        CHECK((e1.cpu_load().cpu() == 3 && e1.cpu_load().runnable() == 2 && e1.cpu_load().busy_ns() == 100 &&
               e1.cpu_load().idle_ns() == 200));
        REQUIRE(res.events()[2].which() == sc::PlacementEvent_Which::DeadlineMissed);
        CHECK(res.events()[2].deadline_missed() == 77);
        REQUIRE(res.events()[3].which() == sc::PlacementEvent_Which::Fallback);
        CHECK(std::string(res.events()[3].fallback().reason().c_str()) ==
              kern::sched_reason_name(kern::SchedReason::detached));
        // Too small a buffer: 0, not a truncated message.
        CHECK(d::next_events_result(out, 64, 9, ev, 4) == 0);
    }
    {
        const d::Rejection rej[2] = {{0, 5, "stale: no such thread (exited?)"}, {3, 0, ""}};
        cp::FlatMessageReader<1> r;
        reader(d::place_result(out, sizeof out, 7, rej, 2), r);
        auto res = r.root<S::PlaceResults>();
        CHECK(res.applied() == 7);
        REQUIRE(res.rejected().size() == 2);
        CHECK((res.rejected()[0].index() == 0 && res.rejected()[0].answers_seq() == 5 &&
               std::string(res.rejected()[0].reason().c_str()) == "stale: no such thread (exited?)"));
        CHECK((res.rejected()[1].index() == 3 && res.rejected()[1].reason().size() == 0));
    }
    {
        const d::SnapshotCpu cpus[2] = {{1}, {4}};
        const d::SnapshotThread th[1] = {{21, 3, 8'000'000, 1, 2048}};
        cp::FlatMessageReader<1> r;
        reader(d::snapshot_result(out, sizeof out, 6, 400, 4'000'000, cpus, 2, th, 1), r);
        auto s = r.root<S::SnapshotResults>().snapshot();
        CHECK((s.epoch() == 6 && s.last_seq() == 400 && s.version() == 1 && s.default_slice_ns() == 4'000'000 &&
               std::string(s.policy().c_str()) == "kernel"));
        REQUIRE(s.cpus().size() == 2);
        CHECK((s.cpus()[1].cpu() == 1 && s.cpus()[1].online() && s.cpus()[1].weight() == 0 &&
               s.cpus()[1].runnable() == 4));
        REQUIRE(s.threads().size() == 1);
        auto t = s.threads()[0];
        CHECK((t.thread_id() == 21 && t.process_id() == 3 && t.slice_ns() == 8'000'000 && t.cpu() == 1 &&
               t.weight() == 2048 && !t.runnable()));
    }
}

TEST_CASE("FaultInjection result encoders: read back by the generated readers", "[decode][fault]") {
    using F = cap::schema::FaultInjection;
    namespace d = kern::decode;
    alignas(8) uint8_t out[256];
    {
        const uint32_t n = d::fault_disarm_result(out, sizeof out, 3, 0x1'0000'0001ull, 7);
        REQUIRE(n != 0);
        cp::FlatMessageReader<1> r;
        REQUIRE(r.init_flat(out, n) == cp::Error::Ok);
        REQUIRE(r.validate() == cp::Error::Ok);
        auto res = r.root<F::DisarmResults>();
        CHECK((res.injected() == 3 && res.frames() == 0x1'0000'0001ull && res.heap_blocks() == 7));
    }
    {
        const uint32_t n = d::fault_counts_result(out, sizeof out, 5, 0x2'0000'0000ull, 9);
        REQUIRE(n != 0);
        cp::FlatMessageReader<1> r;
        REQUIRE(r.init_flat(out, n) == cp::Error::Ok);
        REQUIRE(r.validate() == cp::Error::Ok);
        auto res = r.root<F::CountsResults>();
        CHECK((res.process_threads() == 5 && res.kernel_threads() == 0x2'0000'0000ull && res.page_tables() == 9));
    }
    // No room: 0, which the object turns into an error completion.
    CHECK(d::fault_counts_result(out, 8, 5, 6, 9) == 0);
}
