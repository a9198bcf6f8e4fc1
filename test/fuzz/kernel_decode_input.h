// kernel_decode_input.h: the input of the kernel decode fuzz target, its valid seeds, and the one-input driver.
//
// Shared by the fuzz target (kernel_decode_fuzz.cpp, clang + libFuzzer),
// its seed generator (kernel_decode_seed_gen.cpp) and the host unit tests
// (test/unit/cap/call_decode_test.cpp), so each exercises the same
// decode steps (microkernel/cap/call_decode.cpp, the kernel's source)
// the same way.
//
// An input is a 16-byte submission header followed by the parameter
// message (any bytes):
//
//   [0] object: which decode step (kObjects of them, taken modulo)
//   [1] method ordinal
//   [2] flags: bit 0 ProcessHandle instead of Process, bit 1 a wrong
//       interface id, bit 2 the target is the caller
//   [3] caps_in_count (mod 17), [4] caps_out_max (mod 3)
//   [5..6] rights (little-endian u16; bits 0-12 are the ABI's rights)
//   [7] CPU count (mod 8, + 1)
//   [8..15] the MemoryObject's size (u64, mod 64 KiB)
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capos/abi/cap.h"
#include "capos/abi/layout.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/console.capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "capos/schema/memory.capnp.h"
#include "capos/schema/park.capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "capos/schema/thread.capnp.h"
#include "capos/schema/timer.capnp.h"
#include "cap/call_decode.h"

namespace kdfuzz {

namespace d = kern::decode;
namespace sc = cap::schema;

enum Object : uint8_t { console, timer, park, memory, endpoint, process, thread, spawner, sched, kObjects };

inline constexpr size_t kHeader = 16;
inline constexpr uint32_t kMaxWeight = 10000;           // sched/sched_events.h's kMaxWeight, as the kernel passes it
inline constexpr uint64_t kDefaultDeadlineNs = 50'000;  // SchedulerControl::kDefaultDeadlineNs

struct Header {
    uint8_t object = 0, method = 0, flags = 0, caps_in = 0, caps_out = 1;
    uint16_t rights = 0x1fff;
    uint8_t cpus = 3;  // stored as count - 1
    uint64_t object_size = 8192;
};

inline void put_header(uint8_t* out, const Header& h) {
    out[0] = h.object;
    out[1] = h.method;
    out[2] = h.flags;
    out[3] = h.caps_in;
    out[4] = h.caps_out;
    memcpy(out + 5, &h.rights, 2);
    out[7] = h.cpus;
    memcpy(out + 8, &h.object_size, 8);
}

inline uint64_t interface_of(uint8_t object, uint8_t flags) {
    if ((flags & 2) != 0) return 0x0123456789abcdefull;
    switch (object % kObjects) {
        case console:
            return sc::Console::kInterfaceId;
        case timer:
            return sc::Timer::kInterfaceId;
        case park:
            return sc::Park::kInterfaceId;
        case memory:
            return sc::MemoryObject::kInterfaceId;
        case endpoint:
            return sc::Endpoint::kInterfaceId;
        case process:
            return (flags & 1) != 0 ? sc::ProcessHandle::kInterfaceId : sc::Process::kInterfaceId;
        case thread:
            return sc::Thread::kInterfaceId;
        case sched:
            return sc::SchedulerControl::kInterfaceId;
        default:
            return sc::ProcessSpawner::kInterfaceId;
    }
}

// What one decode returned, for the checks of the fuzz target and the tests.
struct Outcome {
    d::Verdict verdict;
    Object object = console;
    d::ConsoleCall console_call;
    d::TimerCall timer_call;
    d::ParkCall park_call;
    d::MemoryCall memory_call;
    d::EndpointCall endpoint_call;
    d::ProcessCall process_call;
    d::ThreadCall thread_call;
    d::SpawnerCall spawner_call;
    d::SchedControlCall sched_call;
    uint32_t weight = 0;  // Thread.setWeight (SchedulerControl's decode of it)
};

// Runs the decode step the header names over msg[0..len) (8-byte aligned).
inline void run(const uint8_t* header, const uint8_t* msg, uint32_t len, Outcome* o, d::CallIn* in_out = nullptr) {
    d::CallIn in;
    in.interface_id = interface_of(header[0], header[2]);
    in.method = header[1];
    uint16_t rights;
    memcpy(&rights, header + 5, 2);
    in.rights = rights;
    in.params = msg;
    in.params_len = len;
    in.caps_in_count = static_cast<uint16_t>(header[3] % 17);
    in.caps_out_max = static_cast<uint16_t>(header[4] % 3);
    const bool caller = (header[2] & 4) != 0;
    const uint32_t cpus = header[7] % 8u + 1u;
    uint64_t size;
    memcpy(&size, header + 8, 8);
    size %= 65536;
    o->object = static_cast<Object>(header[0] % kObjects);
    switch (o->object) {
        case console:
            o->verdict = d::console(in, &o->console_call);
            break;
        case timer:
            o->verdict = d::timer(in, &o->timer_call);
            break;
        case park:
            o->verdict = d::park(in, &o->park_call);
            break;
        case memory:
            o->verdict = d::memory_object(in, size, &o->memory_call);
            break;
        case endpoint:
            o->verdict = d::endpoint(in, &o->endpoint_call);
            break;
        case process:
            o->verdict = d::process(in, caller, &o->process_call);
            break;
        case thread:
            // setWeight is decoded by its own step (the object hands it to SchedulerControl).
            o->verdict = in.method == sc::Thread::Methods::set_weight ? d::thread_set_weight(in, &o->weight)
                                                                      : d::thread(in, caller, cpus, &o->thread_call);
            break;
        case sched:
            o->verdict = d::scheduler_control(in, kDefaultDeadlineNs, &o->sched_call);
            break;
        default:
            o->verdict = d::spawner(in, kMaxWeight, &o->spawner_call);
            break;
    }
    if (in_out != nullptr) *in_out = in;
}

// --- Valid seeds: one well-formed call per method, built by the generated builders ----------

struct Seed {
    Header h;
    alignas(8) uint8_t msg[1024];
    uint32_t len = 0;
};

// Frames a built message into s.msg.
inline bool frame(cap::capnp::MessageBuilder& b, Seed& s) {
    size_t n = 0;
    if (b.write_flat(s.msg, sizeof s.msg, &n) != cap::capnp::Error::Ok) return false;
    s.len = static_cast<uint32_t>(n);
    return true;
}

// Calls f(seed) for each valid seed. A few are split over several
// segments (far pointers), which the decode steps accept.
template <typename F>
void for_each_seed(F&& f) {
    namespace cp = cap::capnp;
    auto single = [&](uint8_t object, uint8_t method, auto&& fill, Header h = Header{}) {
        alignas(8) uint8_t seg[1024];
        cp::MessageBuilder b(seg, sizeof seg);
        uint32_t slots[16];
        b.set_cap_table(slots, 16);
        fill(b);
        Seed s;
        s.h = h;
        s.h.object = object;
        s.h.method = method;
        if (frame(b, s)) f(s);
    };
    // Messages spread over small segments: every pointer target lands in a
    // later segment through a far pointer.
    auto split = [&](uint8_t object, uint8_t method, auto&& fill, Header h = Header{}) {
        alignas(8) uint8_t segs[4][256];
        cp::SegmentBuffer bufs[4];
        for (int i = 0; i < 4; ++i) bufs[i] = cp::SegmentBuffer{segs[i], i == 0 ? 3u : 32u, 0};
        cp::MessageBuilder b(bufs, 4);
        uint32_t slots[16];
        b.set_cap_table(slots, 16);
        fill(b);
        Seed s;
        s.h = h;
        s.h.object = object;
        s.h.method = method;
        if (frame(b, s)) f(s);
    };
    using namespace sc;
    single(console, Console::Methods::write,
           [](cp::MessageBuilder& b) { b.init_root<Console::WriteParams>().set_text("hello\n"); });
    split(console, Console::Methods::write,
          [](cp::MessageBuilder& b) { b.init_root<Console::WriteParams>().set_text("far text"); });
    single(console, Console::Methods::write_bytes, [](cp::MessageBuilder& b) {
        const uint8_t bytes[5] = {0, 1, 2, 0xff, 10};
        b.init_root<Console::WriteBytesParams>().set_bytes(bytes, 5);
    });
    single(timer, Timer::Methods::sleep,
           [](cp::MessageBuilder& b) { b.init_root<Timer::SleepParams>().set_ns(1000000); });
    single(timer, Timer::Methods::sleep_until,
           [](cp::MessageBuilder& b) { b.init_root<Timer::SleepUntilParams>().set_deadline_ns(5); });
    single(timer, Timer::Methods::now, [](cp::MessageBuilder&) {});
    single(park, Park::Methods::wait, [](cp::MessageBuilder& b) {
        auto w = b.init_root<Park::WaitParams>();
        w.set_address(0x400000);
        w.set_expected(7);
        w.set_timeout_ns(100);
    });
    single(park, Park::Methods::wake, [](cp::MessageBuilder& b) {
        auto w = b.init_root<Park::WakeParams>();
        w.set_address(0x400004);
        w.set_count(0xffffffffu);
    });
    single(memory, MemoryObject::Methods::read, [](cp::MessageBuilder& b) {
        auto r = b.init_root<MemoryObject::ReadParams>();
        r.set_offset(4000);
        r.set_length(200);
    });
    single(memory, MemoryObject::Methods::write, [](cp::MessageBuilder& b) {
        auto w = b.init_root<MemoryObject::WriteParams>();
        w.set_offset(8);
        const uint8_t bytes[3] = {1, 2, 3};
        w.set_bytes(bytes, 3);
    });
    single(memory, MemoryObject::Methods::size, [](cp::MessageBuilder&) {});
    single(endpoint, Endpoint::Methods::receive,
           [](cp::MessageBuilder& b) { b.init_root<Endpoint::ReceiveParams>().set_timeout_ns(0); });
    single(
        endpoint, Endpoint::Methods::reply,
        [](cp::MessageBuilder& b) {
            auto r = b.init_root<Endpoint::ReplyParams>();
            r.set_call_id(42);
            r.set_status(0);
            const uint8_t res[16] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
            r.set_results(res, 16);
        },
        Header{0, 0, 0, 2, 0});
    split(endpoint, Endpoint::Methods::reply, [](cp::MessageBuilder& b) {
        auto r = b.init_root<Endpoint::ReplyParams>();
        r.set_call_id(43);
        r.set_status(-3);
        const uint8_t res[24] = {};
        r.set_results(res, 24);
    });
    single(endpoint, Endpoint::Methods::mint,
           [](cp::MessageBuilder& b) { b.init_root<Endpoint::MintParams>().set_badge(0xbadbadull); });
    single(process, Process::Methods::create_thread, [](cp::MessageBuilder& b) {
        auto c = b.init_root<Process::CreateThreadParams>();
        c.set_entry(0x401000);
        c.set_stack_top(0x7fff0000);
        c.set_arg(9);
    });
    single(
        process, Process::Methods::map,
        [](cp::MessageBuilder& b) {
            auto m = b.init_root<Process::MapParams>();
            (void)m.set_memory(0);
            m.set_address(0x10000000);
            m.set_offset(0);
            m.set_length(8192);
            m.set_writable(true);
        },
        Header{0, 0, 0, 1, 0});
    split(
        process, Process::Methods::map,
        [](cp::MessageBuilder& b) {
            auto m = b.init_root<Process::MapParams>();
            (void)m.set_memory(1);
            m.set_address(0x20000000);
            m.set_length(4096);
            m.set_executable(true);
        },
        Header{0, 0, 0, 2, 0});
    single(process, Process::Methods::unmap, [](cp::MessageBuilder& b) {
        auto u = b.init_root<Process::UnmapParams>();
        u.set_address(0x10000000);
        u.set_length(4096);
    });
    single(process, Process::Methods::allocate,
           [](cp::MessageBuilder& b) { b.init_root<Process::AllocateParams>().set_bytes(12288); });
    single(process, Process::Methods::exit,
           [](cp::MessageBuilder& b) { b.init_root<Process::ExitParams>().set_code(-5); });
    single(
        process, Process::Methods::exit_thread,
        [](cp::MessageBuilder& b) { b.init_root<Process::ExitThreadParams>().set_code(3); }, Header{0, 0, 4});
    single(
        process, ProcessHandle::Methods::wait, [](cp::MessageBuilder&) {}, Header{0, 0, 1});
    single(thread, Thread::Methods::set_cpu_hint,
           [](cp::MessageBuilder& b) { b.init_root<Thread::SetCpuHintParams>().set_cpu(2); });
    single(thread, Thread::Methods::join, [](cp::MessageBuilder&) {});
    auto spawn_fill = [](cp::MessageBuilder& b) {
        auto s = b.init_root<ProcessSpawner::SpawnParams>();
        s.set_name("worker");
        s.set_module("bench-worker");
        auto a = s.init_args(3);
        a.set(0, "--n");
        a.set(1, "4");
        a.set(2, "");
        auto c = s.init_caps(2);
        c[0].set_name("console");
        (void)c[0].init_cap().set_capability(0);
        c[1].set_name("log");
        (void)c[1].init_cap().set_capability(1);
        c[1].set_rights(0x300);
        auto q = s.init_quotas();
        q.set_frames(512);
        q.set_cap_slots(32);
        q.set_threads(4);
        q.set_outstanding_calls(16);
        s.set_placement_weight(2048);
    };
    single(spawner, ProcessSpawner::Methods::spawn, spawn_fill, Header{0, 0, 0, 2, 1});
    split(spawner, ProcessSpawner::Methods::spawn, spawn_fill, Header{0, 0, 0, 2, 1});
    single(spawner, ProcessSpawner::Methods::modules, [](cp::MessageBuilder&) {});
    single(thread, Thread::Methods::set_weight,
           [](cp::MessageBuilder& b) { b.init_root<Thread::SetWeightParams>().set_weight(300); });
    using SC = SchedulerControl;
    single(sched, SC::Methods::attach, [](cp::MessageBuilder& b) {
        auto a = b.init_root<SC::AttachParams>();
        a.set_deadline_ns(650'000);
        a.set_resume_after_seq(12);
    });
    single(
        sched, SC::Methods::attach,
        [](cp::MessageBuilder& b) {
            auto a = b.init_root<SC::AttachParams>();
            a.set_deadline_ns(0);
            (void)a.set_rings(0);
        },
        Header{0, 0, 0, 1, 0});
    single(sched, SC::Methods::next_events, [](cp::MessageBuilder& b) {
        auto n = b.init_root<SC::NextEventsParams>();
        n.set_max(16);
        n.set_timeout_ns(1'000'000);
    });
    auto place_fill = [](cp::MessageBuilder& b) {
        auto p = b.init_root<SC::PlaceParams>();
        p.set_epoch(2);
        auto l = p.init_decisions(3);
        l[0].set_answers_seq(5);
        l[0].assign().set_thread_id(40);
        l[1].thread_slice().set_slice_ns(4'000'000);
        l[2].set_none();
    };
    single(sched, SC::Methods::place, place_fill);
    split(sched, SC::Methods::place, place_fill);
    single(sched, SC::Methods::set_default_slice,
           [](cp::MessageBuilder& b) { b.init_root<SC::SetDefaultSliceParams>().set_slice_ns(8'000'000); });
    single(sched, SC::Methods::status, [](cp::MessageBuilder&) {});
    single(sched, SC::Methods::snapshot, [](cp::MessageBuilder&) {});
    single(sched, SC::Methods::trace_dump,
           [](cp::MessageBuilder& b) { b.init_root<SC::TraceDumpParams>().set_enable(true); });
    single(sched, SC::Methods::stats, [](cp::MessageBuilder&) {});
}

}  // namespace kdfuzz
