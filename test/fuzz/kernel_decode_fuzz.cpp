// libFuzzer target: the kernel objects' decode steps (microkernel/cap/call_decode.cpp, the kernel's
// own source) over arbitrary submissions and parameter messages, and the result encoders.
//
// Checked beyond "no crash, no out-of-bounds read, no undefined behaviour" (ASan/UBSan):
//   - decode is a function of its input: run twice, the same verdict; the message is not written;
//   - a refusal is one of the statuses the kernel objects complete calls with;
//   - an accepted call keeps what its invoke step relies on: views inside the message and
//     NUL-terminated where they are Text, capability indices below caps_in_count, ranges
//     inside the object, sizes within their limits, a reply status the ABI defines;
//   - every result encoder's output reads back through the generated readers with the values
//     put in (or the encoder says it did not fit).
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel_decode_input.h"

namespace {

using namespace kdfuzz;
using kern::decode::Status;

[[noreturn]] void fail() { __builtin_trap(); }
void check(bool ok) {
    if (!ok) fail();
}

bool inside(const void* p, uint32_t n, const uint8_t* msg, uint32_t len) {
    const auto* b = static_cast<const uint8_t*>(p);
    if (n == 0) return true;
    return b >= msg && b + n <= msg + len;
}
bool text_inside(const char* p, uint32_t n, const uint8_t* msg, uint32_t len) {
    if (n == 0 && p != nullptr && p[0] == '\0') return true;  // an absent Text reads as ""
    return inside(p, n + 1, msg, len) && p[n] == '\0';
}

bool expected_refusal(Status s) {
    switch (s) {
        case Status::bad_method:
        case Status::rights:
        case Status::malformed_message:
        case Status::invalid_argument:
        case Status::bad_pointer:
        case Status::not_supported:
        case Status::result_too_large:
            return true;
        default:
            return false;
    }
}

bool same(const Outcome& a, const Outcome& b) {
    return a.verdict.status == b.verdict.status && a.verdict.detail == b.verdict.detail;
}

void check_accepted(const Outcome& o, const kern::decode::CallIn& in, const uint8_t* header, const uint8_t* msg,
                    uint32_t len) {
    uint64_t size;
    memcpy(&size, header + 8, 8);
    size %= 65536;
    switch (o.object) {
        case console:
            check(o.console_call.bytes.size <= kern::decode::kConsoleMaxWrite);
            check(inside(o.console_call.bytes.data, o.console_call.bytes.size, msg, len) ||
                  o.console_call.bytes.size == 0);
            check((in.rights & capos::abi::kRightWrite) != 0);
            break;
        case park:
            check((o.park_call.address & 3) == 0 && capos::abi::user_range_ok(o.park_call.address, 4));
            break;
        case memory: {
            const auto& m = o.memory_call;
            if (m.op != kern::decode::MemoryCall::Op::size) {
                check(m.length <= kern::decode::kMemoryMaxCopy && m.offset <= size && m.length <= size - m.offset);
            }
            if (m.op == kern::decode::MemoryCall::Op::write) {
                check(m.length == m.bytes.size && (m.length == 0 || inside(m.bytes.data, m.length, msg, len)));
                check((in.rights & capos::abi::kRightWrite) != 0);
            }
            if (m.op == kern::decode::MemoryCall::Op::read) check((in.rights & capos::abi::kRightRead) != 0);
            break;
        }
        case endpoint: {
            const auto& e = o.endpoint_call;
            if (e.op == kern::decode::EndpointCall::Op::reply) {
                check(kern::decode::status_defined(e.status));
                check(e.results.size == 0 || inside(e.results.data, e.results.size, msg, len));
            }
            if (e.op == kern::decode::EndpointCall::Op::mint) check(in.caps_out_max >= 1);
            break;
        }
        case process: {
            const auto& p = o.process_call;
            if (p.op == kern::decode::ProcessCall::Op::map) check(p.memory_cap < in.caps_in_count);
            if (p.op == kern::decode::ProcessCall::Op::create_thread ||
                p.op == kern::decode::ProcessCall::Op::allocate ||
                p.op == kern::decode::ProcessCall::Op::create_endpoint)
                check(in.caps_out_max >= 1);
            if (p.op == kern::decode::ProcessCall::Op::handle_wait) check((header[2] & 4) == 0);
            break;
        }
        case thread:
            if (in.method == sc::Thread::Methods::set_weight) check(o.weight >= 1 && o.weight <= kMaxWeight);
            else if (o.thread_call.op == kern::decode::ThreadCall::Op::set_cpu_hint)
                check(o.thread_call.cpu < header[7] % 8u + 1u);
            break;
        case spawner: {
            const auto& s = o.spawner_call;
            if (s.op != kern::decode::SpawnerCall::Op::spawn) break;
            check(text_inside(s.name, s.name_len, msg, len) && text_inside(s.module, s.module_len, msg, len));
            check(s.args_len < kern::decode::kSpawnArgBytes && s.args[s.args_len] == '\0');
            check(s.grant_count <= kern::decode::kSpawnMaxGrants && s.weight <= kMaxWeight);
            for (uint32_t i = 0; i < s.grant_count; ++i) {
                check(s.grants[i].cap < in.caps_in_count);
                check(text_inside(s.grants[i].name, s.grants[i].name_len, msg, len));
            }
            check(in.caps_out_max >= 1);
            break;
        }
        case sched: {
            const auto& c = o.sched_call;
            check((in.rights & capos::abi::kRightWrite) != 0);
            if (c.op == kern::decode::SchedControlCall::Op::attach) {
                check(c.deadline_ns >= kern::decode::kSchedMinDeadlineNs &&
                      c.deadline_ns <= kern::decode::kSchedMaxDeadlineNs);
                check(!c.has_rings || c.rings_cap < in.caps_in_count);
            }
            if (c.op == kern::decode::SchedControlCall::Op::next_events)
                check(c.max >= 1 && c.max <= kern::decode::kSchedMaxEventsPerCall);
            break;
        }
        default:
            break;
    }
}

// The encoders, with values taken from the input, read back through the generated readers.
void check_encoders(const uint8_t* data, size_t size) {
    namespace cp = cap::capnp;
    uint64_t v[4] = {};
    memcpy(v, data, size < sizeof v ? size : sizeof v);
    alignas(8) static uint8_t out[8192];
    const uint32_t room = static_cast<uint32_t>(v[3] % 8192);
    auto read = [&](uint32_t n, auto&& body) {
        if (n == 0) return;  // did not fit: fine, but it must say so and not write past room
        check(n <= room);
        cp::FlatMessageReader<1> r;
        check(r.init_flat(out, n) == cp::Error::Ok && r.validate() == cp::Error::Ok);
        body(r);
    };
    read(kern::decode::timer_ns_result(out, room, v[0]),
         [&](cp::MessageReader& r) { check(r.root<sc::Timer::NowResults>().ns() == v[0]); });
    read(kern::decode::exit_result(out, room, static_cast<int64_t>(v[1]), static_cast<uint16_t>(v[2] % 4)),
         [&](cp::MessageReader& r) {
             auto w = r.root<sc::Thread::JoinResults>();
             check(w.exit_code() == static_cast<int64_t>(v[1]) && static_cast<uint16_t>(w.reason()) == v[2] % 4);
         });
    const uint32_t plen = static_cast<uint32_t>(v[2] % 4096);
    static uint8_t params[4096];
    kern::decode::Incoming ic;
    ic.call_id = v[0];
    ic.badge = v[1];
    ic.interface_id = v[2];
    ic.method = static_cast<uint16_t>(v[3]);
    ic.params = params;
    ic.params_len = plen;
    ic.cap_count = static_cast<uint32_t>(v[0] % 17);
    ic.first_cap_slot = static_cast<uint32_t>(v[1]);
    const uint32_t n = kern::decode::receive_result(out, room, &ic, false);
    check(n == 0 || n == kern::decode::receive_result_size(plen));
    check(n != 0 || room < kern::decode::receive_result_size(plen));
    read(n, [&](cp::MessageReader& r) {
        auto c = r.root<sc::Endpoint::ReceiveResults>().call();
        check(c.call_id() == v[0] && c.badge() == v[1] && c.interface_id() == v[2] && c.params().size() == plen);
    });
    using SC = sc::SchedulerControl;
    read(kern::decode::attach_result(out, room, v[0], static_cast<uint32_t>(v[1]), v[2]), [&](cp::MessageReader& r) {
        auto a = r.root<SC::AttachResults>();
        check(a.epoch() == v[0] && a.cpu_count() == static_cast<uint32_t>(v[1]) && a.next_seq() == v[2]);
    });
    {
        // nextEvents: up to 8 events of kinds and fields from the input.
        kern::SchedEvent ev[8];
        const uint32_t n = static_cast<uint32_t>(v[1] % 9);
        for (uint32_t i = 0; i < n; ++i) {
            ev[i].kind = static_cast<kern::SchedEventKind>((v[0] >> (i * 3)) % 8);
            ev[i].reason = static_cast<kern::SchedReason>((v[2] >> i) % 7);
            ev[i].seq = v[2] + i;
            ev[i].thread_id = v[3];
            ev[i].aux = v[0];
            ev[i].cpu = i;
        }
        read(kern::decode::next_events_result(out, room, v[1], ev, n), [&](cp::MessageReader& r) {
            auto res = r.root<SC::NextEventsResults>();
            check(res.dropped() == v[1] && res.events().size() == n);
            for (uint32_t i = 0; i < n; ++i) check(res.events()[i].seq() == v[2] + i && res.events()[i].cpu() == i);
            check(r.error() == cp::Error::Ok);
        });
        const kern::decode::Rejection rej[2] = {{1, v[0], "late"}, {2, v[1], ""}};
        const uint32_t nr = static_cast<uint32_t>(v[2] % 3);
        read(kern::decode::place_result(out, room, static_cast<uint32_t>(v[3]), rej, nr), [&](cp::MessageReader& r) {
            auto res = r.root<SC::PlaceResults>();
            check(res.applied() == static_cast<uint32_t>(v[3]) && res.rejected().size() == nr);
            if (nr != 0) check(res.rejected()[0].answers_seq() == v[0] && res.rejected()[0].reason().size() == 4);
        });
        kern::decode::SnapshotCpu cpus[8];
        kern::decode::SnapshotThread th[8];
        const uint32_t nc = static_cast<uint32_t>(v[0] % 9), nt = static_cast<uint32_t>(v[1] % 9);
        for (uint32_t i = 0; i < 8; ++i) {
            cpus[i].runnable = i;
            th[i].thread_id = v[2] + i;
        }
        read(kern::decode::snapshot_result(out, room, v[0], v[1], v[2], cpus, nc, th, nt), [&](cp::MessageReader& r) {
            auto s = r.root<SC::SnapshotResults>().snapshot();
            check(s.epoch() == v[0] && s.cpus().size() == nc && s.threads().size() == nt);
            for (uint32_t i = 0; i < nt; ++i) check(s.threads()[i].thread_id() == v[2] + i);
        });
    }
    read(kern::decode::sched_status_result(out, room, static_cast<uint16_t>(v[0] % 3), v[1], v[2]),
         [&](cp::MessageReader& r) {
             auto st = r.root<SC::StatusResults>();
             check(static_cast<uint16_t>(st.mode()) == v[0] % 3 && st.epoch() == v[1] && st.fallbacks() == v[2]);
         });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < kHeader) return 0;
    const uint8_t* header = data;
    const uint32_t len = static_cast<uint32_t>(size - kHeader > 8192 ? 8192 : size - kHeader);
    // The kernel hands decode an 8-byte aligned copy (the thread's params buffer).
    alignas(8) static uint8_t msg[8192];
    alignas(8) static uint8_t copy[8192];
    memcpy(msg, data + kHeader, len);
    memcpy(copy, msg, len);
    Outcome a, b;
    kern::decode::CallIn in;
    run(header, msg, len, &a, &in);
    run(header, msg, len, &b);
    check(same(a, b));
    check(memcmp(msg, copy, len) == 0);  // decode changes nothing, the message included
    if (a.verdict.ok()) {
        check(a.verdict.detail == 0);
        check_accepted(a, in, header, msg, len);
    } else {
        check(expected_refusal(a.verdict.status));
    }
    if ((header[2] & 0x80) != 0) check_encoders(data + kHeader, size - kHeader);
    return 0;
}
