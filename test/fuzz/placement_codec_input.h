// placement_codec_input.h: the input of the placement codec fuzz target, its valid seeds, and the one-input check.
//
// Shared by the fuzz target (placement_codec_fuzz.cpp, clang + libFuzzer,
// servers/placement/common/wire_codec.cpp built with it) and its seed
// generator (placement_codec_seed_gen.cpp), so both drive the codec the
// placement servers use on messages they did not write: nextEvents results
// (from the kernel), snapshots and exportState results (from a peer server
// in a hot swap). Decisions go the other way (server -> kernel); their
// encoder is driven with arbitrary decisions, read back, and decoded by
// the kernel's own decision decode (microkernel/object/
// sched_decision_decode.cpp), which must see what the server meant.
//
// An input is one mode byte, then the bytes of that mode:
//
//   [0] mode (kModes of them, taken modulo)
//   events, snapshot, export: [1..] a message (any bytes); what decodes
//       must re-encode and decode unchanged
//   place: [1..8] epoch, then decisions of kDecisionBytes each
//   encode_events: [1..8] dropped, then events of kEventBytes each;
//       encoded and decoded, they must come back as they were (the
//       fields their kind carries)
//   encode_snapshot: a PolicyState from the bytes (state_of); encoded
//       as a snapshot and as exportState results, it must come back
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capos/capnp/capnp.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "cap/sched_decision_decode.h"
#include "policy.h"
#include "wire_codec.h"

namespace pcfuzz {

namespace pl = placement;
namespace codec = placement::codec;

enum Mode : uint8_t { events, snapshot, export_results, place, encode_events, encode_snapshot, kModes };

// A decision as fuzz bytes: kind, cpu (u32), then answers_seq, thread_id,
// process_id, cpu_mask, value (u64 each).
inline constexpr size_t kDecisionBytes = 1 + 4 + 5 * 8;
inline constexpr size_t kMaxDecisions = 128;  // Decisions::kCap: what a server sends at most

inline pl::Decision decision_of(const uint8_t* p) {
    pl::Decision d;
    d.kind = static_cast<pl::DecisionKind>(p[0] % 6);
    memcpy(&d.cpu, p + 1, 4);
    uint64_t w[5];
    memcpy(w, p + 5, sizeof w);
    d.answers_seq = w[0];
    d.thread_id = w[1];
    d.process_id = w[2];
    d.cpu_mask = w[3];
    d.value = w[4];
    return d;
}

inline void put_decision(uint8_t* p, const pl::Decision& d) {
    p[0] = static_cast<uint8_t>(d.kind);
    memcpy(p + 1, &d.cpu, 4);
    const uint64_t w[5] = {d.answers_seq, d.thread_id, d.process_id, d.cpu_mask, d.value};
    memcpy(p + 5, w, sizeof w);
}

// An event as fuzz bytes: kind, seq, time_ns, thread_id, process_id,
// run_ns, aux (u64 each), cpu, weight, runnable (u32 each).
inline constexpr size_t kEventBytes = 1 + 6 * 8 + 3 * 4;

inline pl::Event event_of(const uint8_t* p) {
    pl::Event e;
    e.kind = static_cast<pl::EventKind>(p[0] % 8);
    uint64_t w[6];
    memcpy(w, p + 1, sizeof w);
    e.seq = w[0];
    e.time_ns = w[1];
    e.thread_id = w[2];
    e.process_id = w[3];
    e.run_ns = w[4];
    e.aux = w[5];
    memcpy(&e.cpu, p + 49, 4);
    memcpy(&e.weight, p + 53, 4);
    memcpy(&e.runnable, p + 57, 4);
    return e;
}

// The event as it reads back: the fields its kind carries on the wire
// (none is sent as the fallback member, and reads back as demoted).
inline pl::Event as_sent(pl::Event e) {
    pl::Event r;
    r.seq = e.seq;
    r.time_ns = e.time_ns;
    r.cpu = e.cpu;
    r.kind = e.kind;
    switch (e.kind) {
        case pl::EventKind::thread_created:
        case pl::EventKind::thread_runnable:
        case pl::EventKind::thread_blocked:
        case pl::EventKind::thread_exited:
            r.thread_id = e.thread_id;
            r.process_id = e.process_id;
            r.weight = e.weight;
            r.run_ns = e.run_ns;
            break;
        case pl::EventKind::cpu_load:
            r.runnable = e.runnable;
            r.run_ns = e.run_ns;
            r.aux = e.aux;
            r.weight = e.weight;
            break;
        case pl::EventKind::deadline_missed:
            r.aux = e.aux;
            break;
        default:
            r.kind = pl::EventKind::demoted;
            break;
    }
    return r;
}

// A PolicyState from bytes (missing bytes read as zero): a policy name of
// 1..31 non-NUL bytes, version, last_seq, default_slice_ns, CPU and
// thread counts within the codec's limits, the threads, the opaque bytes.
inline void state_of(const uint8_t* data, size_t size, pl::PolicyState& s) {
    size_t at = 0;
    auto take = [&](void* out, size_t n) {
        memset(out, 0, n);
        const size_t k = at < size ? (size - at < n ? size - at : n) : 0;
        if (k != 0) memcpy(out, data + at, k);
        at += n;
    };
    s = pl::PolicyState{};
    uint8_t nl = 0;
    take(&nl, 1);
    nl = static_cast<uint8_t>(nl % 31 + 1);
    take(s.policy, nl);
    for (uint8_t i = 0; i < nl; ++i)
        if (s.policy[i] == '\0') s.policy[i] = 'p';
    take(&s.version, 4);
    take(&s.last_seq, 8);
    take(&s.default_slice_ns, 8);
    uint8_t nc = 0;
    uint16_t nt = 0, no = 0;
    take(&nc, 1);
    take(&nt, 2);
    take(&no, 2);
    s.ncpus = nc % (pl::kMaxCpus + 1);
    s.nthreads = nt % (pl::kMaxThreads + 1);
    s.opaque_len = no % (sizeof s.opaque + 1);
    for (uint32_t i = 0; i < s.nthreads; ++i) {
        pl::ThreadPlacement& t = s.threads[i];
        take(&t.thread_id, 8);
        take(&t.process_id, 8);
        take(&t.slice_ns, 8);
        take(&t.vruntime_ns, 8);
        take(&t.cpu, 4);
        take(&t.weight, 4);
        uint8_t r = 0;
        take(&r, 1);
        t.runnable = (r & 1) != 0;
    }
    take(s.opaque, s.opaque_len);
}

// A check that failed: which one (for the fuzz target's report), or nullptr.
using Finding = const char*;

inline bool same_event(const pl::Event& a, const pl::Event& b) {
    return a.seq == b.seq && a.time_ns == b.time_ns && a.thread_id == b.thread_id && a.process_id == b.process_id &&
           a.run_ns == b.run_ns && a.aux == b.aux && a.cpu == b.cpu && a.weight == b.weight &&
           a.runnable == b.runnable && a.kind == b.kind;
}

inline bool same_state(const pl::PolicyState& a, const pl::PolicyState& b) {
    if (strncmp(a.policy, b.policy, sizeof a.policy) != 0 || a.version != b.version || a.last_seq != b.last_seq ||
        a.default_slice_ns != b.default_slice_ns || a.ncpus != b.ncpus || a.nthreads != b.nthreads ||
        a.opaque_len != b.opaque_len || memcmp(a.opaque, b.opaque, a.opaque_len) != 0)
        return false;
    for (uint32_t i = 0; i < a.nthreads; ++i) {
        const pl::ThreadPlacement &x = a.threads[i], &y = b.threads[i];
        if (x.thread_id != y.thread_id || x.process_id != y.process_id || x.cpu != y.cpu || x.weight != y.weight ||
            x.slice_ns != y.slice_ns || x.vruntime_ns != y.vruntime_ns || x.runnable != y.runnable)
            return false;
    }
    return true;
}

// Scratch, static: a PolicyState is about 16 KiB, and the encoders want
// room for a full thread table.
struct Scratch {
    alignas(8) uint8_t msg[64 * 1024];
    alignas(8) uint8_t out[64 * 1024];
    pl::Event ev[64], ev2[64];
    pl::PolicyState s, s2;
    pl::Decision dec[kMaxDecisions];
};

// Checks one decoded snapshot: re-encoded, it must decode to the same
// state (a server re-exports what it imported). A policy name that
// starts with NUL reads as no name when re-encoded: the decoder accepts
// it (the name is non-empty on the wire), the encoder writes it as empty.
inline Finding snapshot_round_trip(Scratch& k, bool as_export) {
    if (k.s.policy[0] == '\0') return nullptr;
    const uint32_t n = as_export ? codec::encode_export_results(k.out, sizeof k.out, k.s, 7)
                                 : codec::encode_snapshot(k.out, sizeof k.out, k.s, 7);
    if (n == 0) return "a decoded snapshot does not re-encode";
    const bool ok = as_export ? codec::decode_export_results(k.out, n, k.s2) : codec::decode_snapshot(k.out, n, k.s2);
    if (!ok) return "a re-encoded snapshot does not decode";
    if (!same_state(k.s, k.s2)) return "a snapshot changed in a round trip";
    return nullptr;
}

// Runs one input. Returns nullptr or the check that failed.
inline Finding run(const uint8_t* data, size_t size, Scratch& k) {
    if (size == 0) return nullptr;
    const Mode mode = static_cast<Mode>(data[0] % kModes);
    ++data;
    --size;
    if (mode == encode_events) {
        uint64_t dropped = 0, dropped2 = 0;
        if (size < 8) return nullptr;
        memcpy(&dropped, data, 8);
        size_t n = (size - 8) / kEventBytes;
        if (n > 64) n = 64;
        for (size_t i = 0; i < n; ++i) k.ev[i] = event_of(data + 8 + i * kEventBytes);
        const uint32_t len = codec::encode_events(k.out, sizeof k.out, k.ev, n, dropped);
        if (len == 0) return "encode_events did not fit";
        if (codec::decode_events(k.out, len, k.ev2, 64, &dropped2) != static_cast<int>(n) || dropped2 != dropped)
            return "encoded events do not decode";
        for (size_t i = 0; i < n; ++i)
            if (!same_event(as_sent(k.ev[i]), k.ev2[i])) return "an event read back differs from what was sent";
        return nullptr;
    }
    if (mode == encode_snapshot) {
        state_of(data, size, k.s);
        for (int as_export = 0; as_export < 2; ++as_export) {
            const uint32_t len = as_export != 0 ? codec::encode_export_results(k.out, sizeof k.out, k.s, 7)
                                                : codec::encode_snapshot(k.out, sizeof k.out, k.s, 7);
            if (len == 0) return "encode_snapshot did not fit";
            const bool ok = as_export != 0 ? codec::decode_export_results(k.out, len, k.s2)
                                           : codec::decode_snapshot(k.out, len, k.s2);
            if (!ok) return "an encoded snapshot does not decode";
            if (!same_state(k.s, k.s2)) return "a snapshot read back differs from what was sent";
        }
        return nullptr;
    }
    if (mode == place) {
        uint64_t epoch = 0;
        if (size < 8) return nullptr;
        memcpy(&epoch, data, 8);
        data += 8;
        size -= 8;
        size_t n = size / kDecisionBytes;
        if (n > kMaxDecisions) n = kMaxDecisions;
        for (size_t i = 0; i < n; ++i) k.dec[i] = decision_of(data + i * kDecisionBytes);
        const uint32_t len = codec::encode_place(k.out, sizeof k.out, epoch, k.dec, n);
        if (len == 0) return "encode_place did not fit";
        cap::capnp::FlatMessageReader<1> r;
        if (r.init_flat(k.out, len) != cap::capnp::Error::Ok || r.validate() != cap::capnp::Error::Ok)
            return "encode_place wrote an invalid message";
        const auto p = r.root<cap::schema::SchedulerControl::PlaceParams>();
        if (p.epoch() != epoch || p.decisions().size() != n) return "encode_place: epoch or count";
        using W = cap::schema::PlacementDecision_Which;
        for (size_t i = 0; i < n; ++i) {
            const pl::Decision& d = k.dec[i];
            const auto x = p.decisions()[static_cast<uint32_t>(i)];
            if (x.answers_seq() != d.answers_seq) return "encode_place: answersSeq";
            bool ok = false;
            switch (d.kind) {
                case pl::DecisionKind::assign:
                    if (d.cpu_mask != 0)
                        ok = x.which() == W::AssignSet && x.assign_set().thread_id() == d.thread_id &&
                             x.assign_set().cpu_mask() == d.cpu_mask && x.assign_set().slice_ns() == d.value;
                    else
                        ok = x.which() == W::Assign && x.assign().thread_id() == d.thread_id &&
                             x.assign().cpu() == d.cpu && x.assign().slice_ns() == d.value;
                    break;
                case pl::DecisionKind::thread_weight:
                    ok = x.which() == W::ThreadWeight && x.thread_weight().thread_id() == d.thread_id &&
                         x.thread_weight().weight() == static_cast<uint32_t>(d.value);
                    break;
                case pl::DecisionKind::process_weight:
                    ok = x.which() == W::ProcessWeight && x.process_weight().process_id() == d.process_id &&
                         x.process_weight().weight() == static_cast<uint32_t>(d.value);
                    break;
                case pl::DecisionKind::slice:
                    ok = x.which() == W::ThreadSlice && x.thread_slice().thread_id() == d.thread_id &&
                         x.thread_slice().slice_ns() == d.value;
                    break;
                case pl::DecisionKind::default_slice:
                    ok = x.which() == W::DefaultSlice && x.default_slice() == d.value;
                    break;
                default:
                    ok = x.which() == W::None;
                    break;
            }
            if (!ok) return "encode_place: a decision read back differs";
            // The kernel's decode of it: every kind a server sends is
            // accepted and means what the server meant.
            kern::SchedDecision kd;
            const char* why = nullptr;
            if (!kern::decode::placement_decision(x, &kd, &why)) return "the kernel refused a decision a server sent";
            pl::Decision want = d;
            if (want.kind != pl::DecisionKind::assign) want.cpu = 0, want.cpu_mask = 0;
            if (want.kind == pl::DecisionKind::assign && want.cpu_mask != 0) want.cpu = 0;
            if (want.kind != pl::DecisionKind::assign && want.kind != pl::DecisionKind::thread_weight &&
                want.kind != pl::DecisionKind::slice)
                want.thread_id = 0;
            if (want.kind != pl::DecisionKind::process_weight) want.process_id = 0;
            if (want.kind == pl::DecisionKind::thread_weight || want.kind == pl::DecisionKind::process_weight)
                want.value = static_cast<uint32_t>(want.value);
            if (want.kind == pl::DecisionKind::none) want.value = 0;
            if (kd.answers_seq != want.answers_seq ||
                static_cast<uint8_t>(kd.kind) != static_cast<uint8_t>(want.kind) || kd.thread_id != want.thread_id ||
                kd.process_id != want.process_id || kd.cpu_mask != want.cpu_mask || kd.value != want.value ||
                kd.cpu != want.cpu)
                return "the kernel decoded a decision other than the one a server sent";
        }
        if (r.error() != cap::capnp::Error::Ok) return "encode_place: reading it back failed";
        return nullptr;
    }
    // The codec reads 8-byte aligned messages, as the kernel and the
    // Endpoint hand them over.
    if (size > sizeof k.msg) size = sizeof k.msg;
    memcpy(k.msg, data, size);
    const uint32_t len = static_cast<uint32_t>(size);
    if (mode == events) {
        uint64_t dropped = 0;
        const uint32_t max = 64;
        const int n = codec::decode_events(k.msg, len, k.ev, max, &dropped);
        if (n < -1 || n > static_cast<int>(max)) return "decode_events: count out of range";
        if (n <= 0) return nullptr;
        // Round trip: what was decoded re-encodes and decodes to the same
        // events (a kind this kernel does not know decodes as none, which
        // encodes as the fallback member: skipped).
        for (int i = 0; i < n; ++i)
            if (k.ev[i].kind == pl::EventKind::none) return nullptr;
        const uint32_t m = codec::encode_events(k.out, sizeof k.out, k.ev, static_cast<size_t>(n), dropped);
        if (m == 0) return "decoded events do not re-encode";
        uint64_t dropped2 = 0;
        if (codec::decode_events(k.out, m, k.ev2, max, &dropped2) != n || dropped2 != dropped)
            return "re-encoded events do not decode";
        for (int i = 0; i < n; ++i) {
            pl::Event a = k.ev[i];
            // Fields an event kind does not carry are not on the wire.
            if (a.kind == pl::EventKind::demoted || a.kind == pl::EventKind::deadline_missed) {
                a.thread_id = a.process_id = a.run_ns = 0;
                a.weight = a.runnable = 0;
                if (a.kind == pl::EventKind::demoted) a.aux = 0;
            }
            if (!same_event(a, k.ev2[i])) return "an event changed in a round trip";
        }
        return nullptr;
    }
    const bool as_export = mode == export_results;
    const bool ok = as_export ? codec::decode_export_results(k.msg, len, k.s) : codec::decode_snapshot(k.msg, len, k.s);
    if (!ok) return nullptr;
    if (k.s.ncpus > pl::kMaxCpus || k.s.nthreads > pl::kMaxThreads || k.s.opaque_len > sizeof k.s.opaque ||
        k.s.policy[sizeof k.s.policy - 1] != '\0')
        return "a decoded snapshot is out of bounds";
    return snapshot_round_trip(k, as_export);
}

// --- Valid seeds, written by the codec's own encoders -------------------------------------------

// Calls f(bytes, size) for each seed.
template <typename F>
void for_each_seed(Scratch& k, F&& f) {
    static uint8_t buf[sizeof Scratch::out + 1];
    auto emit = [&](Mode m, uint32_t n) {
        if (n == 0) return;
        buf[0] = m;
        memcpy(buf + 1, k.out, n);
        f(buf, n + 1);
    };
    pl::Event ev[7];
    for (int i = 0; i < 7; ++i) {
        ev[i].seq = 100 + static_cast<uint64_t>(i);
        ev[i].time_ns = 5000 + static_cast<uint64_t>(i);
        ev[i].cpu = static_cast<uint32_t>(i % 4);
    }
    const pl::EventKind kinds[4] = {pl::EventKind::thread_created, pl::EventKind::thread_runnable,
                                    pl::EventKind::thread_blocked, pl::EventKind::thread_exited};
    for (int i = 0; i < 4; ++i) {
        ev[i].kind = kinds[i];
        ev[i].thread_id = 40 + static_cast<uint64_t>(i);
        ev[i].process_id = 9;
        ev[i].weight = 1024;
        ev[i].run_ns = 77;
    }
    ev[4].kind = pl::EventKind::cpu_load;
    ev[4].runnable = 3;
    ev[4].run_ns = 1000;
    ev[4].aux = 2000;
    ev[5].kind = pl::EventKind::deadline_missed;
    ev[5].aux = 99;
    ev[6].kind = pl::EventKind::demoted;
    emit(events, codec::encode_events(k.out, sizeof k.out, ev, 7, 3));
    emit(events, codec::encode_events(k.out, sizeof k.out, ev + 1, 1, 0));
    emit(events, codec::encode_events(k.out, sizeof k.out, ev, 0, 0));

    pl::PolicyState& s = k.s;
    s = pl::PolicyState{};
    memcpy(s.policy, "fair-share", 11);
    s.version = 2;
    s.last_seq = 500;
    s.default_slice_ns = 4'000'000;
    s.ncpus = 4;
    s.nthreads = 3;
    for (uint32_t i = 0; i < s.nthreads; ++i) {
        s.threads[i].thread_id = 10 + i;
        s.threads[i].process_id = 3;
        s.threads[i].cpu = i;
        s.threads[i].weight = 100 * (i + 1);
        s.threads[i].slice_ns = 1000;
        s.threads[i].vruntime_ns = 12345 * i;
        s.threads[i].runnable = i % 2 == 0;
    }
    s.opaque_len = 5;
    memcpy(s.opaque, "\x01\x02\x03\x04\x05", 5);
    emit(snapshot, codec::encode_snapshot(k.out, sizeof k.out, s, 3));
    emit(export_results, codec::encode_export_results(k.out, sizeof k.out, s, 3));
    s.nthreads = 0;
    s.opaque_len = 0;
    emit(snapshot, codec::encode_snapshot(k.out, sizeof k.out, s, 1));

    // The same events and state as encoder inputs.
    {
        static uint8_t eb[1 + 8 + 7 * kEventBytes];
        eb[0] = encode_events;
        const uint64_t dropped = 3;
        memcpy(eb + 1, &dropped, 8);
        for (int i = 0; i < 7; ++i) {
            uint8_t* p = eb + 9 + static_cast<size_t>(i) * kEventBytes;
            p[0] = static_cast<uint8_t>(ev[i].kind);
            const uint64_t w[6] = {ev[i].seq,        ev[i].time_ns, ev[i].thread_id,
                                   ev[i].process_id, ev[i].run_ns,  ev[i].aux};
            memcpy(p + 1, w, sizeof w);
            memcpy(p + 49, &ev[i].cpu, 4);
            memcpy(p + 53, &ev[i].weight, 4);
            memcpy(p + 57, &ev[i].runnable, 4);
        }
        f(eb, sizeof eb);
        static uint8_t sb[1 + 64 + 3 * 41];
        memset(sb, 0, sizeof sb);
        sb[0] = encode_snapshot;
        sb[1] = 10;  // name length - 1
        memcpy(sb + 2, "round-robin", 11);
        sb[2 + 11 + 4 + 8 + 8] = 4;      // CPUs
        sb[2 + 11 + 4 + 8 + 8 + 1] = 3;  // threads
        for (size_t i = 0; i < 3 * 41; ++i) sb[2 + 11 + 4 + 8 + 8 + 5 + i] = static_cast<uint8_t>(i * 7 + 1);
        f(sb, sizeof sb);
    }

    // Place: one decision of each kind, the assign both with a CPU and a set.
    pl::Decision d[7];
    for (int i = 0; i < 7; ++i) {
        d[i].answers_seq = 200 + static_cast<uint64_t>(i);
        d[i].thread_id = 41;
        d[i].process_id = 9;
        d[i].value = 3'000'000;
        d[i].cpu = 2;
    }
    d[0].kind = pl::DecisionKind::assign;
    d[1].kind = pl::DecisionKind::assign;
    d[1].cpu_mask = 0x6;
    d[2].kind = pl::DecisionKind::thread_weight;
    d[2].value = 300;
    d[3].kind = pl::DecisionKind::process_weight;
    d[3].value = 50;
    d[4].kind = pl::DecisionKind::slice;
    d[5].kind = pl::DecisionKind::default_slice;
    d[6].kind = pl::DecisionKind::none;
    buf[0] = place;
    const uint64_t epoch = 4;
    memcpy(buf + 1, &epoch, 8);
    for (int i = 0; i < 7; ++i) put_decision(buf + 9 + static_cast<size_t>(i) * kDecisionBytes, d[i]);
    f(buf, 9 + 7 * kDecisionBytes);
}

}  // namespace pcfuzz
