// guest_fuzz.cpp - one fuzzing process of utest-fuzz (two run at once). From its seed it submits random and
// structured-random entries against every kernel object it holds, from several threads whose lives begin and
// end under it, while a mapper thread maps and unmaps memory the submissions point into and a server thread
// answers endpoint calls (its own and the other fuzzing process's) with random replies and capabilities.
//
// Arguments: seed=<n> index=<0|1> count=<submissions> threads=<fuzzing threads> cpus=<n>.
// Named capabilities: shared (fuzz_shared.h), spawner, kstats, serve (an endpoint both processes receive on),
// peer (a client of it), nbr (the neighbour's ProcessHandle with Read only), console, park, timer.
//
// What it checks itself, per completion: a tag it issued and has not seen completed, a status inside the ABI's
// range, result bytes and capabilities within what the entry allowed; after every batch: a NOP still completes
// (the thread's ring and the kernel are alive). It never does what would end itself (Process.exit or
// ProcessHandle.kill on its own process, unmap of its own stacks), so any death is a finding.
#include "capos/abi/layout.h"
#include "capos/schema/scheduler.capnp.h"
#include "fuzz_shared.h"
#include "guest.h"
#include "libcap/args.h"
#include "libcap/calls.h"
#include "libcap/endpoint.h"
#include "libcap/print.h"
#include "libcap/raw_call.h"
#include "libcap/runtime.h"
#include "libcap/spawn.h"
#include "libcap/thread.h"

namespace abi = capos::abi;
using abi::CapHandle;
using abi::Cqe;
using abi::Sqe;
using fuzz::Rng;

namespace {

// ---- configuration and targets --------------------------------------------------------------

uint64_t g_seed = 1;
uint32_t g_index = 0;
uint64_t g_count = 50000;
uint32_t g_threads = 3;
uint32_t g_cpus = 1;
uint32_t g_classes = (1u << fuzz::kClassCount) - 1;  // which classes to generate (a reproduction aid)
bool g_debug = false;  // per-25-lives slot figures (diagnosing the fuzzer's own table use)

fuzz::Shared* g_sh = nullptr;
fuzz::Worker* g_me = nullptr;

CapHandle g_process, g_main_thread, g_console, g_park, g_timer, g_kstats, g_spawner, g_serve, g_peer, g_nbr;
CapHandle g_ep = abi::kNullCap, g_ep_client = abi::kNullCap;
CapHandle g_mo_small = abi::kNullCap, g_mo_big = abi::kNullCap;
CapHandle g_life_handle[fuzz::kMaxLifeSlots];
CapHandle g_server_handle = abi::kNullCap, g_mapper_handle = abi::kNullCap;

// Address ranges far from what libcap reserves (it hands out addresses upwards from kUserHeapBase).
constexpr uint64_t kChurnVa = abi::kUserHeapBase + 0x4000'0000'0000ull;  // mapped and unmapped by the mapper
constexpr uint64_t kChurnBytes = 0x40'0000;                              // 4 MiB window
constexpr uint64_t kGuardVa = kChurnVa - 0x10'0000;                      // one mapped page, unmapped after it
constexpr uint64_t kNeverVa = abi::kUserHeapBase + 0x5000'0000'0000ull;  // never mapped
constexpr uint64_t kBigMoBytes = 16 * 4096;

// Pointed at by anything; its contents never matter. Pointers into it start in its first half, so that a
// result of up to 8 KiB the kernel writes there stays inside it.
alignas(4096) uint8_t g_junk[4 * 4096];
uint32_t g_park_word = 0;  // Park.wait's honest address (its value never changes)

uint32_t g_stop = 0;  // the manager is done: server and mapper may stop counting (they keep running)

// ---- failure ----------------------------------------------------------------------------------

[[noreturn]] void park_forever() {
    for (;;) (void)cap::timer_sleep(cap::this_ring(), g_timer, 1'000'000'000);
}

void fail(uint32_t life, uint64_t at, const char* what, uint64_t a = 0, uint64_t b = 0) {
    // The first failure of the process wins: later ones are usually its consequences.
    uint32_t expect = fuzz::kRunning;
    if (!__atomic_compare_exchange_n(&g_me->phase, &expect, fuzz::kFailed, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        park_forever();
    }
    cap::snprint(g_me->fail, sizeof g_me->fail, "seed=%llu process=%u life=%u submission=%llu: %s (%llx %llx)",
                 static_cast<unsigned long long>(g_seed), g_index, life, static_cast<unsigned long long>(at), what,
                 static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
    cap::print("[fuzz] seed=%llu FAIL at submission %llu (process %u life %u): %s (%llx %llx)\n",
               static_cast<unsigned long long>(g_seed), static_cast<unsigned long long>(at), g_index, life, what,
               static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
    park_forever();
}

void add(uint64_t& to, uint64_t v) { __atomic_add_fetch(&to, v, __ATOMIC_RELAXED); }

// ---- one thread life ----------------------------------------------------------------------------

constexpr uint32_t kFlight = 512;      // tracked submissions in flight per life
constexpr uint32_t kFlightCaps = 128;  // the first ones have their own caps array
constexpr uint32_t kMaxBatch = 128;
constexpr uint32_t kMsgBytes = 512;
constexpr uint32_t kPool = 16;  // per life: three lives' pools must stay well inside the 256-slot quota
constexpr uint64_t kAliveTag = 0x7fff'ffff'ffff'fffeull;

struct Flight {
    uint64_t seq;  // 0: free
    uint16_t caps_out_max;
    uint16_t harvest;  // out-caps land in this entry's own array: take them into the pool
    uint32_t result_len_max;
    uint64_t iface;  // for the report of a suspicious completion
    uint16_t method;
    uint16_t cls;
    uint32_t params_len;
};

struct Life {
    // rng generates one submission and is reseeded for each (fuzz::submission_seed); brng makes the choices of a
    // batch (its size, the cap_enter arguments, whether to leave the CQ full, when to shed received caps).
    Rng rng{1};
    Rng brng{1};
    uint64_t seed = 0;
    uint32_t slot = 0, number = 0;
    uint64_t todo = 0, done = 0;
    uint64_t seq = 0;
    bool abrupt = false;
    uint32_t finished = 0;
    uint32_t in_flight = 0;
    uint32_t flight_hint = 0;
    uint64_t last_value = 0;  // last Timer.now seen by the alive check
    uint64_t call_id = 0;     // last call this life received on an endpoint (for a real reply)
    Flight flight[kFlight];
    CapHandle caps[kFlightCaps][16];
    CapHandle pool[kPool];
    uint32_t npool = 0;
    uint64_t harvested = 0, dropped_ok = 0;  // debug
    CapHandle dropped[8];                    // freed slots: stale handles to offer again
    uint32_t ndropped = 0;
    CapHandle to_drop[128];  // received while the pool was full; dropped after the batch
    uint32_t nto_drop = 0;
    alignas(8) uint8_t msg[kMaxBatch][kMsgBytes];
    alignas(8) uint8_t big[9000];
    alignas(8) uint8_t result[4096];
    fuzz::WorkerStats st;
};

Life g_lives[fuzz::kMaxLifeSlots];

uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

// -- handles --

CapHandle forged(Rng& g) {
    switch (g.below(5)) {
        case 0:
            return abi::make_handle(1000 + g.below(100000), static_cast<uint32_t>(g.next()));
        case 1:
            return abi::make_handle(1 + g.below(300), 0);  // generation 0 is never issued
        // A real slot with a generation no slot reaches in a run: a guess that happened to be right would be this
        // process's own capability (its Process, the shared page, a thread's stack) used against itself, which
        // tests nothing of the kernel and ended the first long runs (seed 11: the shared figures overwritten,
        // seed 12: a fuzzer killed itself).
        case 2:
            return abi::make_handle(g.below(64), 0x4000'0000u + (static_cast<uint32_t>(g.next()) & 0x3fff'ffffu));
        case 3:
            return static_cast<CapHandle>(g.next());  // anything
        default:
            return abi::make_handle(0xffffffffu, 0xffffffffu);
    }
}

bool well_known(CapHandle h) {
    const CapHandle k[] = {
        g_console, g_timer,     g_park,     g_kstats, g_spawner,     g_serve,   g_peer,          g_nbr,
        g_ep,      g_ep_client, g_mo_small, g_mo_big, g_main_thread, g_process, g_server_handle, g_mapper_handle};
    for (CapHandle x : k)
        if (x == h) return true;
    return false;
}

// What may be sent to another process: not this process's own Process capability (a receiver could end us
// with it, which would be its fault, not the kernel's).
CapHandle transferable(Life& l);

CapHandle some_known(Life& l) {
    const CapHandle k[] = {g_console,
                           g_timer,
                           g_park,
                           g_kstats,
                           g_spawner,
                           g_serve,
                           g_peer,
                           g_nbr,
                           g_ep,
                           g_ep_client,
                           g_mo_small,
                           g_mo_big,
                           g_main_thread,
                           g_process,
                           g_server_handle,
                           g_mapper_handle,
                           g_life_handle[l.rng.below(fuzz::kMaxLifeSlots)]};
    return k[l.rng.below(sizeof k / sizeof k[0])];
}

// The intended target most of the time, else a near miss: another object, a stale or forged handle, a
// capability this life received, the null handle.
CapHandle pick_cap(Life& l, CapHandle want) {
    const uint32_t r = l.rng.below(20);
    if (r < 13) return want;
    if (r < 15) return some_known(l);
    if (r == 15 && l.npool > 0) return l.pool[l.rng.below(l.npool)];
    if (r == 16 && l.ndropped > 0) return l.dropped[l.rng.below(l.ndropped)];
    // A later generation of the same slot is stale only while the slot is never freed: well-known handles only
    // (a joined thread's slot is reused, and its next generation names whatever took it).
    if (r == 17 && well_known(want))
        return abi::make_handle(abi::handle_slot(want), abi::handle_generation(want) + 1 + l.rng.below(3));
    if (r == 18) return abi::kNullCap;
    return forged(l.rng);
}

CapHandle transferable(Life& l) {
    CapHandle h = some_known(l);
    return h == g_process ? g_timer : h;
}

void remember_dropped(Life& l, CapHandle h) { l.dropped[l.ndropped < 8 ? l.ndropped++ : l.rng.below(8)] = h; }

void pool_drop_one(Life& l) {
    if (l.npool == 0) return;
    const uint32_t i = l.rng.below(l.npool);
    CapHandle h = l.pool[i];
    l.pool[i] = l.pool[--l.npool];
    if (cap::drop_caps(&h, 1).ok()) ++l.dropped_ok;  // stale if it was moved away meanwhile: fine
    remember_dropped(l, h);
}

// Called while completions are reaped (possibly from inside a libcap call), so it never calls the kernel.
void pool_add(Life& l, CapHandle h) {
    if (h == abi::kNullCap || well_known(h)) return;
    if (l.npool < kPool) {
        l.pool[l.npool++] = h;
    } else if (l.nto_drop < 128) {
        l.to_drop[l.nto_drop++] = h;
    } else {
        const uint32_t i = l.rng.below(kPool);  // the pool's handle is leaked until the process ends
        l.pool[i] = h;
    }
}

void flush_drops(Life& l) {
    while (l.nto_drop > 0) {
        CapHandle h = l.to_drop[--l.nto_drop];
        if (cap::drop_caps(&h, 1).ok()) ++l.dropped_ok;
        remember_dropped(l, h);
    }
}

// -- pointers --

// An address for `len` bytes the kernel reads (params) or writes (results): valid memory, or not.
uint64_t pick_ptr(Life& l, uint32_t len) {
    Rng& g = l.rng;
    switch (g.below(12)) {
        case 0:
            return 0;
        case 1:
            return 0xffff'8000'0000'0000ull + (g.next() & 0xff'ffff);  // kernel half
        case 2:
            return 0x0000'8000'0000'0000ull + (g.next() & 0xfff);  // non-canonical
        case 3:
            return kNeverVa + (g.next() & 0xfff'f000);  // unmapped user
        case 4:
            return abi::kUserEnd - g.below(32);  // runs past the end of user space
        case 5:
            return kGuardVa + 4096 - 1 - g.below(len + 1 < 64 ? len + 1 : 64);  // straddles into unmapped
        case 6:
            return kChurnVa + (g.next() % kChurnBytes);  // mapped or not, changing under us
        case 7:
            return 0x400000 + g.below(0x1000);  // read-only text
        case 8:
            return ~uint64_t{0} - g.below(16);  // wraps
        case 9:
            return abi::user_ring_addr(60 + g.below(4));  // another thread's (absent) ring
        default:
            return reinterpret_cast<uint64_t>(g_junk) + g.below(sizeof g_junk / 2);  // valid
    }
}

uint32_t pick_len(Rng& g, uint32_t natural) {
    switch (g.below(10)) {
        case 0:
            return 0;
        case 1:
            return g.below(16);
        case 2:
            return 8192 + g.below(3);  // around the kernel's params limit
        case 3:
            return static_cast<uint32_t>(g.next());
        case 4:
            return natural == 0 ? 0 : natural - 1 - g.below(natural);  // truncated
        default:
            return natural;
    }
}

// -- messages --

// A struct of n words in stream framing.
uint32_t words(uint8_t* buf, const uint64_t* w, uint16_t n) { return guest::words_msg(buf, kMsgBytes, w, n); }

// Root struct (data words, one pointer) whose pointer is a byte list of `len` bytes (Text if `nul`): the
// shape of Console.write, MemoryObject.write and the like. Bytes are '.' so that nothing it prints can look
// like a test verdict.
uint32_t bytes_msg(uint8_t* buf, const uint64_t* data, uint16_t ndata, uint32_t len, bool nul) {
    const uint32_t n = len + (nul ? 1 : 0);
    const uint32_t list_words = (n + 7) / 8;
    const uint32_t seg = 1 + ndata + 1 + list_words;
    if (8 + seg * 8 > kMsgBytes) return 0;
    auto* w = reinterpret_cast<uint64_t*>(buf);
    __builtin_memset(buf, 0, 8 + seg * 8);
    w[0] = uint64_t{seg} << 32;                            // one segment
    w[1] = (uint64_t{1} << 48) | (uint64_t{ndata} << 32);  // root: struct at offset 0
    for (uint16_t i = 0; i < ndata; ++i) w[2 + i] = data[i];
    // The list pointer sits at word 1+ndata of the segment; its target follows it.
    w[2 + ndata] = (uint64_t{n} << 35) | (uint64_t{2} << 32) | 1;  // list, offset 0, byte elements
    auto* bytes = reinterpret_cast<uint8_t*>(&w[3 + ndata]);
    for (uint32_t i = 0; i < len; ++i) bytes[i] = '.';
    return 8 + seg * 8;
}

// Structs nested `depth` deep through pointer 0 (deeper than any reader should follow).
uint32_t deep_msg(uint8_t* buf, uint32_t depth) {
    const uint32_t max_depth = (kMsgBytes - 16) / 8 - 1;
    if (depth > max_depth) depth = max_depth;
    auto* w = reinterpret_cast<uint64_t*>(buf);
    const uint32_t seg = depth + 1;
    w[0] = uint64_t{seg} << 32;
    for (uint32_t i = 0; i < seg; ++i) w[1 + i] = i + 1 < seg ? (uint64_t{1} << 48) : 0;  // each points at the next
    return 8 + seg * 8;
}

// Several segments with the root behind a far pointer (the kernel's wire reader takes one segment only).
uint32_t multi_msg(uint8_t* buf, Rng& g) {
    auto* w32 = reinterpret_cast<uint32_t*>(buf);
    const uint32_t nseg = 2 + g.below(3);
    w32[0] = nseg - 1;
    for (uint32_t i = 0; i < nseg; ++i) w32[1 + i] = 2;
    const uint32_t hdr = ((1 + nseg) * 4 + 7) & ~7u;
    auto* w = reinterpret_cast<uint64_t*>(buf + hdr);
    for (uint32_t i = 0; i < nseg * 2; ++i) w[i] = g.next();
    w[0] = (uint64_t{1} << 32) | 2;  // far pointer: segment 1, offset 0
    w[2] = (uint64_t{1} << 32) | 4;  // landing pad: struct of one data word
    if (g.one_in(2)) w[2] = g.next() & ~uint64_t{3};
    return hdr + nseg * 16;
}

// 1-4 mutations in place: bit flips, interesting words, a rewritten segment table or root pointer,
// truncation or growth (len may change; it never exceeds cap).
uint32_t mutate(uint8_t* buf, uint32_t len, uint32_t cap, Rng& g) {
    const uint32_t k = 1 + g.below(4);
    for (uint32_t i = 0; i < k; ++i) {
        auto* w = reinterpret_cast<uint64_t*>(buf);
        const uint32_t nw = len / 8;
        switch (g.below(8)) {
            case 0:
                if (len > 0) buf[g.below(len)] ^= static_cast<uint8_t>(1u << g.below(8));
                break;
            case 1:
                if (nw > 0) {
                    static const uint64_t kWords[] = {
                        0, ~uint64_t{0}, 0x7fffffff, 0x80000000, 0xffff'ffff'0000'0000ull, 0x0000'ffff'0000'0000ull,
                        1, 0xfffffffc};
                    w[g.below(nw)] = kWords[g.below(8)];
                }
                break;
            case 2:  // segment count and sizes
                if (len >= 8)
                    reinterpret_cast<uint32_t*>(buf)[g.below(2)] =
                        g.one_in(2) ? g.below(8) : static_cast<uint32_t>(g.next());
                break;
            case 3:  // root pointer of another kind: list, far, capability, self-loop
                if (nw > 1) {
                    static const uint64_t kPtrs[] = {
                        0x0000'0000'ffff'fffcull, 0x0000'0000'0000'0001ull | (0xfffffffull << 35),
                        0x0000'0005'0000'0002ull, 0x0000'0000'0000'0003ull,
                        0xffff'ffff'ffff'fffcull, 0x0001'0001'7fff'fff8ull};
                    w[1] = kPtrs[g.below(6)];
                }
                break;
            case 4:
                if (len > 0) len = g.below(len);  // truncated
                break;
            case 5:
                if (len + 64 <= cap) {
                    for (uint32_t b = 0; b < 64; ++b) buf[len + b] = static_cast<uint8_t>(g.next());
                    len += 8 * (1 + g.below(8));
                }
                break;
            case 6:
                if (nw > 1) w[1 + g.below(nw - 1)] = g.next();
                break;
            default:
                if (nw > 2) {  // duplicate a word somewhere else
                    w[1 + g.below(nw - 1)] = w[1 + g.below(nw - 1)];
                }
                break;
        }
    }
    return len;
}

// -- in-flight bookkeeping --

uint32_t flight_take(Life& l) {
    for (uint32_t k = 0; k < kFlight; ++k) {
        const uint32_t i = (l.flight_hint + k) % kFlight;
        if (l.flight[i].seq == 0) {
            l.flight_hint = i + 1;
            return i;
        }
    }
    return kFlight;
}

void record(Life& l, const Cqe& c) {
    if (c.user_tag == kAliveTag) return;
    ++l.st.completions;
    const int32_t s = c.status;
    ++l.st.per_status[s <= 0 && s >= -19 ? -s : fuzz::kStatusBuckets - 1];
    const uint32_t i = static_cast<uint32_t>(c.user_tag & 0xffff);
    const uint64_t seq = c.user_tag >> 16;
    if (i >= kFlight || seq == 0 || l.flight[i].seq != seq)
        fail(l.number, l.done, "completion with a tag not in flight", c.user_tag, static_cast<uint64_t>(s));
    Flight& f = l.flight[i];
    if (s > 0 || s < -19) fail(l.number, l.done, "status outside the ABI", c.user_tag, static_cast<uint64_t>(s));
    if (c.caps_out_count > f.caps_out_max)
        fail(l.number, l.done, "more capabilities than caps_out_max", c.caps_out_count, f.caps_out_max);
    if (c.result_len > f.result_len_max && f.result_len_max != 0)
        fail(l.number, l.done, "result longer than result_len_max", c.result_len, f.result_len_max);
    // Whatever the status: capabilities the kernel wrote out are in this process's table now.
    if (c.caps_out_count > 0 && f.harvest != 0) {
        l.st.caps_received += c.caps_out_count;
        for (uint32_t k = 0; k < c.caps_out_count && k < 16; ++k) {
            if (l.caps[i][k] != abi::kNullCap && !well_known(l.caps[i][k])) ++l.harvested;
            pool_add(l, l.caps[i][k]);
        }
    }
    if (s == static_cast<int32_t>(abi::Status::quota_exceeded)) ++l.st.quota_kind[c.detail < 6 ? c.detail : 0];
    // Status::internal means "a kernel bug" (capos/abi/status.h): report the first few in full.
    static uint32_t internal_reports = 0;
    if (s == static_cast<int32_t>(abi::Status::internal) &&
        __atomic_fetch_add(&internal_reports, 1, __ATOMIC_RELAXED) < 4)
        cap::print(
            "[fuzz] seed=%llu process %u life %u submission ~%llu: internal from class %s iface %llx method %u "
            "params_len %u result_len_max %u\n",
            static_cast<unsigned long long>(g_seed), g_index, l.number, static_cast<unsigned long long>(l.done),
            fuzz::kClassNames[f.cls], static_cast<unsigned long long>(f.iface), f.method, f.params_len,
            f.result_len_max);
    f.seq = 0;
    --l.in_flight;
}

void untracked(void* ctx, const Cqe& c) { record(*static_cast<Life*>(ctx), c); }

void drain(Life& l) {
    Cqe c;
    while (cap::this_ring().pop(c)) record(l, c);
}

// -- the generators: each fills one entry of class `cls` --

struct Slotted {
    uint8_t* msg;
    CapHandle* caps;  // this entry's caps array, or null
};

void set_params(Life& l, Sqe& s, uint8_t* msg, uint32_t len) {
    Rng& g = l.rng;
    const uint32_t r = g.below(16);
    if (r < 9) {
        s.params_addr = reinterpret_cast<uint64_t>(msg);
        s.params_len = len;
    } else if (r < 12) {
        s.params_addr = reinterpret_cast<uint64_t>(msg);
        s.params_len = mutate(msg, len, kMsgBytes, g);
    } else if (r == 12) {
        s.params_addr = reinterpret_cast<uint64_t>(msg);
        s.params_len = g.one_in(2) ? deep_msg(msg, 8 + g.below(80)) : multi_msg(msg, g);
    } else if (r == 13) {
        s.params_addr = reinterpret_cast<uint64_t>(l.big);
        s.params_len = pick_len(g, sizeof l.big);
        if (s.params_len > sizeof l.big) s.params_len = sizeof l.big - g.below(8);
    } else {
        s.params_addr = pick_ptr(l, len);
        s.params_len = pick_len(g, len);
    }
}

void set_result(Life& l, Sqe& s, uint32_t natural) {
    Rng& g = l.rng;
    const uint32_t r = g.below(8);
    if (r < 5) {
        s.result_addr = reinterpret_cast<uint64_t>(l.result);
        s.result_len_max = r == 0 ? 0 : (r == 1 ? g.below(natural + 1) : sizeof l.result);
    } else {
        s.result_addr = pick_ptr(l, natural);
        s.result_len_max = g.one_in(2) ? natural : g.below(5000);
    }
}

// Memory pick_ptr may return that is (or may be, at the time the kernel writes) mapped.
bool maybe_mapped(uint64_t p) {
    const uint64_t junk = reinterpret_cast<uint64_t>(g_junk);
    return (p >= junk && p < junk + sizeof g_junk) || (p >= kGuardVa && p < kChurnVa + kChurnBytes + 0x20'0000) ||
           (p >= kNeverVa && p < kNeverVa + 0x1'0000'0000ull);
}

// caps: in-caps from `in` (n of them), room for out-caps.
void set_caps(Life& l, Sqe& s, CapHandle* arr, uint16_t out_max) {
    Rng& g = l.rng;
    if (arr == nullptr || g.one_in(10)) {
        s.caps_addr = pick_ptr(l, 16 * 8);
        s.caps_out_max = g.one_in(3) ? static_cast<uint16_t>(g.below(20)) : 0;
        // Out-caps written to memory nobody reads would be handles lost for good (the table fills): only bad
        // pointers get room for them, and the kernel must then not install them.
        if (maybe_mapped(s.caps_addr)) s.caps_out_max = 0;
        if (g.one_in(3)) s.caps_in_count = static_cast<uint16_t>(g.below(20));
        return;
    }
    s.caps_addr = reinterpret_cast<uint64_t>(arr);
    s.caps_out_max = g.one_in(8) ? static_cast<uint16_t>(g.below(20)) : out_max;
    if (s.caps_out_max > 16) s.caps_out_max = 16;  // the array's size: more would let the kernel write past it
}

void gen_ring(Life& l, Sqe& s) {
    Rng& g = l.rng;
    s.interface_id = abi::kInterfaceKernelRing;
    s.cap = g.one_in(4) ? forged(g) : abi::kNullCap;
    s.method = g.one_in(3) ? static_cast<uint16_t>(g.next()) : abi::kMethodNop;
    if (g.one_in(3)) s.flags = static_cast<uint16_t>(g.next());
    if (g.one_in(3)) s.params_addr = pick_ptr(l, 64), s.params_len = pick_len(g, 64);
}

void gen_console(Life& l, Sqe& s, uint8_t* msg) {
    Rng& g = l.rng;
    s.cap = pick_cap(l, g_console);
    s.interface_id = cap::iface::kConsole;
    s.method = static_cast<uint16_t>(g.one_in(8) ? g.below(5) : g.below(2));
    // Mostly empty or one-dot texts (what reaches the serial line is kept tiny); sometimes over the 4 KiB limit
    // in the big buffer.
    const uint32_t n = g.one_in(512) ? 1 : 0;
    uint32_t len = bytes_msg(msg, nullptr, 0, n, s.method == 0);
    set_params(l, s, msg, len);
    if (g.one_in(30)) {
        s.params_addr = reinterpret_cast<uint64_t>(l.big);
        const uint32_t big_n = 4097 + g.below(8);  // over the 4 KiB limit: refused, never printed
        auto* w = reinterpret_cast<uint64_t*>(l.big);
        const uint32_t seg = 3 + (big_n + 8) / 8;
        w[0] = uint64_t{seg} << 32;
        w[1] = uint64_t{1} << 48;
        w[2] = (uint64_t{big_n + 1} << 35) | (uint64_t{2} << 32) | 1;
        for (uint32_t i = 0; i < big_n; ++i) l.big[24 + i] = '.';
        l.big[24 + big_n] = 0;
        s.params_len = 8 + seg * 8;
    }
    s.result_addr = 0;
}

void gen_timer(Life& l, Sqe& s, uint8_t* msg) {
    Rng& g = l.rng;
    s.cap = pick_cap(l, g_timer);
    s.interface_id = cap::iface::kTimer;
    s.method = static_cast<uint16_t>(g.one_in(10) ? g.below(70000) : g.below(4));
    uint64_t arg;
    switch (g.below(5)) {
        case 0:
            arg = 0;
            break;
        case 1:
            arg = g.below(200'000);
            break;  // a short sleep, or a deadline long past
        case 2:
            arg = g.one_in(8) ? ~uint64_t{0} - g.below(3) : g.below(2'000'000);
            break;  // rarely forever
        case 3:
            arg = l.last_value + g.below(3'000'000);
            break;  // sleepUntil soon
        default:
            arg = g.one_in(8) ? g.next() : g.below(1'000'000);
            break;
    }
    set_params(l, s, msg, words(msg, &arg, 1));
    set_result(l, s, 24);
}

void gen_park(Life& l, Sqe& s, uint8_t* msg) {
    Rng& g = l.rng;
    s.cap = pick_cap(l, g_park);
    s.interface_id = cap::iface::kPark;
    s.method = static_cast<uint16_t>(g.one_in(10) ? g.below(9) : g.below(2));
    uint64_t addr;
    switch (g.below(6)) {
        case 0:
            addr = reinterpret_cast<uint64_t>(&g_park_word);
            break;
        case 1:
            addr = reinterpret_cast<uint64_t>(&g_park_word) + 1 + g.below(3);
            break;  // misaligned
        case 2:
            addr = pick_ptr(l, 4);
            break;
        case 3:
            addr = reinterpret_cast<uint64_t>(&g_sh->neighbour.beats);
            break;  // changes all the time
        default:
            addr = reinterpret_cast<uint64_t>(g_junk) + 4 * g.below(64);
            break;
    }
    const uint32_t expected = g.one_in(2) ? 0 : static_cast<uint32_t>(g.next());
    // Timeout 0 is forever: rare, or every life's outstanding-call quota fills with waits that never end.
    const uint64_t timeout = g.one_in(40) ? 0 : (g.one_in(10) ? g.next() : 1 + g.below(2'000'000));
    cap::ParamMsg m;
    if (s.method == cap::iface::kParkWake.ordinal)
        (void)cap::encode_park_wake(m, addr, g.one_in(2) ? 1 : static_cast<uint32_t>(g.next()));
    else (void)cap::encode_park_wait(m, addr, expected, timeout);
    __builtin_memcpy(msg, m.bytes, m.len);
    set_params(l, s, msg, m.len);
    set_result(l, s, 24);
}

void gen_thread(Life& l, Sqe& s, uint8_t* msg) {
    Rng& g = l.rng;
    CapHandle want;
    // Mostly siblings (a join ends when they do), sometimes threads that never end (a join stays pending).
    switch (g.below(20)) {
        case 0:
            want = g_main_thread;
            break;
        case 1:
            want = g_server_handle;
            break;
        case 2:
            want = g_mapper_handle;
            break;
        default:
            want = g_life_handle[g.below(fuzz::kMaxLifeSlots)];
            break;  // maybe this life itself
    }
    s.cap = pick_cap(l, want);
    s.interface_id = cap::iface::kThread;
    s.method = static_cast<uint16_t>(g.one_in(10) ? g.below(12) : g.below(4));
    const uint64_t w[2] = {g.one_in(2) ? g.below(g_cpus + 2) : g.next(), g.next()};
    set_params(l, s, msg, words(msg, w, g.one_in(3) ? 2 : 1));
    set_result(l, s, 32);
}

void gen_memory(Life& l, Sqe& s, uint8_t* msg) {
    Rng& g = l.rng;
    s.cap = pick_cap(l, g.one_in(2) ? g_mo_small : g_mo_big);
    if (l.npool > 0 && g.one_in(4)) s.cap = l.pool[g.below(l.npool)];
    s.interface_id = cap::iface::kMemoryObject;
    s.method = static_cast<uint16_t>(g.one_in(10) ? g.below(10) : g.below(4));
    const uint64_t size = s.cap == g_mo_small ? 4096 : kBigMoBytes;
    uint64_t off;
    switch (g.below(4)) {
        case 0:
            off = g.below(static_cast<uint32_t>(size));
            break;
        case 1:
            off = size - g.below(64);
            break;  // near the end: a length runs past it
        case 2:
            off = g.next();
            break;
        default:
            off = 0;
            break;
    }
    if (s.method == 3) {  // write(offset, data)
        const uint64_t d[1] = {off};
        set_params(l, s, msg, bytes_msg(msg, d, 1, g.below(400), false));
    } else {
        const uint64_t w[2] = {off, g.one_in(4) ? g.next() : g.below(4200)};
        set_params(l, s, msg, words(msg, w, 2));
    }
    set_result(l, s, 4200);
}

void gen_process(Life& l, Sqe& s, uint8_t* msg, CapHandle* arr) {
    Rng& g = l.rng;
    s.interface_id = cap::iface::kProcess;
    const uint32_t m = g.below(12);
    s.cap = pick_cap(l, g_process);
    uint64_t w[4] = {g.next(), g.next(), g.next(), g.next()};
    uint32_t len = 0;
    switch (m) {
        case 0:  // id
            s.method = cap::iface::kProcessId.ordinal;
            break;
        case 1:
        case 2: {  // allocate: small, zero, page-odd, over the frame quota
            s.method = cap::iface::kProcessAllocate.ordinal;
            const uint64_t sizes[] = {4096, 1, 0, 3 * 4096 + 17, uint64_t{1} << 40, ~uint64_t{0}, 64 * 4096};
            w[0] = sizes[g.below(7)];
            len = words(msg, w, 1);
            break;
        }
        case 3:
        case 4: {  // map a memory object inside the churn window (racing the mapper) or somewhere invalid
            s.method = cap::iface::kProcessMap.ordinal;
            uint64_t va = kChurnVa + (g.below(static_cast<uint32_t>(kChurnBytes / 4096)) * 4096);
            if (g.one_in(4)) va = pick_ptr(l, 4096);
            uint64_t offset = g.one_in(4) ? g.next() : 4096 * g.below(17);
            uint64_t length = g.one_in(4) ? g.next() : 4096 * g.below(18);
            cap::ParamMsg pm;
            (void)cap::encode_process_map(pm, va, offset, length, g.one_in(2), g.one_in(5));
            __builtin_memcpy(msg, pm.bytes, pm.len);
            len = pm.len;
            if (arr != nullptr) {
                arr[0] = pick_cap(l, g.one_in(2) ? g_mo_big : g_mo_small);
                if (l.npool > 0 && g.one_in(3)) arr[0] = l.pool[g.below(l.npool)];
                s.caps_in_count = static_cast<uint16_t>(g.one_in(10) ? g.below(4) : 1);
            }
            break;
        }
        case 5: {  // unmap: the churn window, or ranges that are not whole mappings or not user space
            s.method = cap::iface::kProcessUnmap.ordinal;
            w[0] = kChurnVa + 4096 * g.below(static_cast<uint32_t>(kChurnBytes / 4096));
            w[1] = 4096 * (1 + g.below(64));
            if (g.one_in(4)) w[0] = pick_ptr(l, 4096) & ~uint64_t{g.one_in(2) ? 0xfffu : 0};
            if (g.one_in(4)) w[1] = g.next();
            // Never over libcap's own mappings (stacks, heap): that would fault this process, not test the kernel.
            // (A range the kernel refuses as wrapping or outside user space may stay.)
            const uint64_t end = w[0] + w[1];
            if (end >= w[0] && w[0] < kChurnVa && end > abi::kUserHeapBase) w[0] = kNeverVa;
            len = words(msg, w, 2);
            break;
        }
        case 6: {  // createThread with an entry or stack the kernel must refuse (a thread it started would run garbage)
            s.method = cap::iface::kProcessCreateThread.ordinal;
            const uint64_t bad_entry[] = {0, abi::kUserImageBase - 1, abi::kUserEnd, ~uint64_t{0},
                                          0xffff'8000'0000'0000ull};
            const uint64_t bad_stack[] = {0, abi::kUserImageBase - 1, abi::kUserEnd + 1, ~uint64_t{0},
                                          0xffff'8000'0000'0000ull};
            w[0] = bad_entry[g.below(5)];
            w[1] = g.one_in(2) ? abi::kUserHeapBase : bad_stack[g.below(5)];
            if (g.one_in(3)) w[0] = 0x401000, w[1] = bad_stack[g.below(5)];  // a good entry, a bad stack
            len = words(msg, w, 3);
            break;
        }
        case 7:
        case 8: {  // dropCaps: received caps, stale, duplicated or forged handles
            s.method = cap::iface::kProcessDropCaps.ordinal;
            if (arr != nullptr) {
                const uint16_t n = static_cast<uint16_t>(1 + g.below(4));
                for (uint16_t i = 0; i < n; ++i) {
                    if (g.one_in(2) && l.npool > 0) {
                        // Stays in the pool: if the drop fails (all or nothing) it is still ours, if not it is stale.
                        arr[i] = l.pool[g.below(l.npool)];
                    } else {
                        arr[i] = g.one_in(2) && i > 0
                                     ? arr[0]
                                     : (l.ndropped > 0 && g.one_in(2) ? l.dropped[g.below(l.ndropped)] : forged(g));
                    }
                }
                s.caps_in_count = n;
            }
            break;
        }
        case 9:  // createEndpoint
            s.method = cap::iface::kProcessCreateEndpoint.ordinal;
            break;
        case 10:  // exit on something that is not this process (on this process it would end the fuzzer)
            s.method = cap::iface::kProcessExit.ordinal;
            s.cap = g.one_in(2) ? forged(g) : (g.one_in(2) ? g_timer : g_nbr);
            len = words(msg, w, 1);
            break;
        default:  // unknown ordinals and the ProcessHandle interface on our own Process (wait/id only)
            s.method = static_cast<uint16_t>(g.one_in(2) ? 9 + g.below(100) : (g.one_in(2) ? 0 : 2));
            if (s.method == 0 || s.method == 2) s.interface_id = cap::iface::kProcessHandle;
            break;
    }
    if (len == 0 && g.one_in(2)) len = words(msg, w, 4);
    // A mutated map, unmap or createThread on this process could unmap libcap's stacks or start a thread on
    // garbage: the kernel would be right to do either. Those get their message as built (checked above), cut
    // short, or at a bad address.
    const bool guarded = s.method == cap::iface::kProcessMap.ordinal || s.method == cap::iface::kProcessUnmap.ordinal ||
                         s.method == cap::iface::kProcessCreateThread.ordinal;
    if (guarded && s.interface_id == cap::iface::kProcess) {
        s.params_addr = reinterpret_cast<uint64_t>(msg);
        s.params_len = len;
        if (g.one_in(6)) s.params_len = g.below(len + 1);
        // (Not pick_ptr: the junk buffer holds old result messages, which may read as some other range.)
        if (g.one_in(8)) s.params_addr = g.one_in(2) ? kNeverVa : kGuardVa + 4096 - g.below(len + 1);
    } else {
        set_params(l, s, msg, len);
    }
    set_result(l, s, 64);
    const uint16_t in = s.caps_in_count;
    set_caps(l, s, arr, 1);
    // set_caps may have swapped the array for a bad pointer; a bad pointer with the in-caps count is fine.
    if ((arr != nullptr && s.caps_addr == reinterpret_cast<uint64_t>(arr))) s.caps_in_count = in;
    // The one combination that would end this process: kill on the ProcessHandle interface of itself.
    if (s.interface_id == cap::iface::kProcessHandle && s.method == cap::iface::kProcessHandleKill.ordinal)
        s.method = 2;
}

void gen_handle(Life& l, Sqe& s, uint8_t* msg) {
    Rng& g = l.rng;
    s.cap = pick_cap(l, g_nbr);  // Read only: wait and id work, kill must be refused
    if (l.npool > 0 && g.one_in(3)) s.cap = l.pool[g.below(l.npool)];  // spawned children among them
    if (s.cap == g_process) s.cap = g_nbr;
    s.interface_id = g.one_in(8) ? cap::iface::kProcess : cap::iface::kProcessHandle;
    s.method = static_cast<uint16_t>(g.one_in(8) ? g.below(20) : g.below(3));
    // wait on the neighbour only ends with the run: keep it rare.
    if (s.cap == g_nbr && s.method == 0 && !g.one_in(6)) s.method = 2;
    if (s.interface_id == cap::iface::kProcess &&
        (s.method == cap::iface::kProcessExit.ordinal || s.method == cap::iface::kProcessExitThread.ordinal))
        s.method = cap::iface::kProcessId.ordinal;
    const uint64_t w = g.next();
    set_params(l, s, msg, g.one_in(2) ? 0 : words(msg, &w, 1));
    set_result(l, s, 32);
}

void gen_endpoint(Life& l, Sqe& s, uint8_t* msg, CapHandle* arr) {
    Rng& g = l.rng;
    const uint32_t m = g.below(10);
    uint32_t len = 0;
    uint16_t out_max = 16;
    if (m < 4) {  // a call on a client: any interface and method, capabilities copied or moved
        s.cap = pick_cap(l, g.one_in(2) ? g_peer : g_ep_client);
        s.interface_id = g.one_in(2) ? g.next() : cap::iface::kEndpoint;
        s.method = static_cast<uint16_t>(g.next());
        const uint64_t w[3] = {g.next(), g.next(), g.next()};
        len = words(msg, w, static_cast<uint16_t>(g.below(4)));
        if (arr != nullptr && g.one_in(2)) {
            uint16_t n = static_cast<uint16_t>(1 + g.below(g.one_in(8) ? 19 : 4));
            bool movable = true;
            for (uint16_t i = 0; i < n && i < 16; ++i) {
                const uint32_t r = g.below(6);
                if (r < 2 && l.npool > 0) {
                    const uint32_t k = g.below(l.npool);
                    arr[i] = l.pool[k];
                } else if (r == 2 && l.ndropped > 0) {
                    arr[i] = l.dropped[g.below(l.ndropped)];  // freed slot
                } else if (r == 3) {
                    arr[i] = forged(g);
                } else {
                    arr[i] = transferable(l);  // copied (never moved: this process still needs them)
                    movable = false;
                }
            }
            s.caps_in_count = n;
            // Moved pool entries stay in the pool: stale if the move happened, still ours if it was refused.
            if (movable && g.one_in(2)) s.flags = abi::kSqeFlagMoveCaps;
        }
        out_max = static_cast<uint16_t>(g.below(17));
    } else if (m < 6) {  // receive on a root (competing with the server thread), short or no timeout
        s.cap = pick_cap(l, g.one_in(2) ? g_ep : g_serve);
        if (g.one_in(6)) s.cap = g_peer;  // a client has no receive
        s.interface_id = cap::iface::kEndpoint;
        s.method = cap::iface::kEndpointReceive.ordinal;
        uint64_t t = g.one_in(3) ? 0 : g.below(3'000'000);
        if (g.one_in(8)) t = g.next();
        len = cap::encode_receive(msg, kMsgBytes, t);
    } else if (m < 8) {  // reply: to a call this life received, a random id, with any status
        s.cap = pick_cap(l, g.one_in(2) ? g_ep : g_serve);
        s.interface_id = cap::iface::kEndpoint;
        s.method = cap::iface::kEndpointReply.ordinal;
        const uint64_t id = g.one_in(2) ? l.call_id : (g.one_in(2) ? g.below(1000) : g.next());
        int32_t st = -static_cast<int32_t>(g.below(20));
        if (g.one_in(6)) st = static_cast<int32_t>(g.next());
        len = cap::encode_reply(msg, kMsgBytes, id, static_cast<cap::Status>(st), l.big, g.below(300));
        if (arr != nullptr && g.one_in(3)) {
            arr[0] = l.npool > 0 ? l.pool[g.below(l.npool)] : transferable(l);
            s.caps_in_count = static_cast<uint16_t>(1 + g.below(2));
            arr[1] = forged(g);
        }
    } else {  // mint, and unknown methods
        s.cap = pick_cap(l, g.one_in(2) ? g_ep : (g.one_in(2) ? g_serve : g_peer));
        s.interface_id = cap::iface::kEndpoint;
        s.method = static_cast<uint16_t>(g.one_in(4) ? 3 + g.below(100) : cap::iface::kEndpointMint.ordinal);
        const uint64_t badge = g.next();
        len = words(msg, &badge, 1);
    }
    set_params(l, s, msg, len);
    set_result(l, s, 4096);
    const uint16_t in = s.caps_in_count;
    set_caps(l, s, arr, out_max);
    if ((arr != nullptr && s.caps_addr == reinterpret_cast<uint64_t>(arr))) s.caps_in_count = in;
}

void gen_spawner(Life& l, Sqe& s, uint8_t* msg, CapHandle* arr) {
    Rng& g = l.rng;
    s.cap = pick_cap(l, g_spawner);
    s.interface_id = cap::iface::kSpawner;
    const uint32_t m = g.below(40);
    uint32_t len = 0;
    if (m < 3) {
        // A real spawn of a short-lived child (it ends by itself: unknown mode, exit code, a fault, or the memory
        // hog), sometimes mutated: its handle comes back and is waited for, killed, dropped by later entries.
        s.method = cap::iface::kSpawnerSpawn.ordinal;
        static const char* const kModes[] = {"x", "hog", "fault", "none"};
        cap::SpawnGrant gr[1] = {{"console", g_console}};
        const uint32_t ng = g.below(2);
        if (arr != nullptr && ng == 1) arr[0] = g_console;
        len = cap::encode_spawn(msg, kMsgBytes, "fuzzchild", 9, "guest-child", 11, kModes[g.below(4)], gr, ng, nullptr,
                                0);
        s.caps_in_count = static_cast<uint16_t>(ng);
        if (g.one_in(3)) len = mutate(msg, len, kMsgBytes, g);
        ++l.st.spawns;
    } else if (m < 20) {
        s.method = static_cast<uint16_t>(g.one_in(2) ? 1 : 2);  // modules, freeFrames
    } else {
        s.method = static_cast<uint16_t>(g.one_in(4) ? g.below(1000) : 0);
        len = words(msg, reinterpret_cast<const uint64_t*>(l.big), static_cast<uint16_t>(g.below(8)));
        if (s.method == 0) {
            cap::SpawnGrant gr[1] = {{"x", forged(g)}};
            len = cap::encode_spawn(msg, kMsgBytes, "n", 1, g.one_in(2) ? "no-such" : "guest-chil",
                                    g.one_in(2) ? 7 : 10, "", gr, 1, nullptr, 0);
            len = mutate(msg, len, kMsgBytes, g);
            if (arr != nullptr) arr[0] = forged(g);
            s.caps_in_count = 1;
        }
    }
    // A spawn's params are copied whole; keep the mutation inside the message buffer (set_params might also point
    // it at bad memory, which must fail).
    set_params(l, s, msg, len);
    set_result(l, s, 512);
    const uint16_t in = s.caps_in_count;
    set_caps(l, s, arr, 1);
    if ((arr != nullptr && s.caps_addr == reinterpret_cast<uint64_t>(arr))) s.caps_in_count = in;
}

void gen_kstats(Life& l, Sqe& s, uint8_t* msg) {
    Rng& g = l.rng;
    s.cap = pick_cap(l, g_kstats);
    const uint32_t m = g.below(4);
    if (m < 2) {
        s.interface_id = cap::schema::KernelStats::kInterfaceId;
        s.method = static_cast<uint16_t>(g.one_in(6) ? g.below(10) : 0);
    } else {
        // The placement interface on a read-only capability: every method must be refused (rights).
        s.interface_id = cap::schema::SchedulerControl::kInterfaceId;
        s.method = static_cast<uint16_t>(g.below(16));
    }
    const uint64_t w[2] = {g.one_in(2) ? g.below(g_cpus + 3) : g.next(), g.next()};
    set_params(l, s, msg, words(msg, w, static_cast<uint16_t>(g.below(3))));
    set_result(l, s, 4096);
}

void gen_random(Life& l, Sqe& s, uint8_t* msg, CapHandle* arr) {
    Rng& g = l.rng;
    static const uint64_t kIfaces[] = {cap::iface::kConsole,
                                       cap::iface::kTimer,
                                       cap::iface::kPark,
                                       cap::iface::kThread,
                                       cap::iface::kMemoryObject,
                                       cap::iface::kProcessHandle,
                                       cap::iface::kEndpoint,
                                       cap::iface::kSpawner,
                                       cap::schema::KernelStats::kInterfaceId,
                                       0x1111,
                                       0};
    s.cap = g.one_in(2) ? forged(g) : some_known(l);
    s.interface_id = g.one_in(4) ? g.next() : kIfaces[g.below(sizeof kIfaces / sizeof kIfaces[0])];
    s.method = static_cast<uint16_t>(g.one_in(2) ? g.below(12) : g.next());
    // Process methods on this process are the process generator's business (it knows which end the fuzzer).
    if (s.cap == g_process || s.cap == g_main_thread) s.cap = forged(g);
    for (uint32_t i = 0; i < kMsgBytes / 8; ++i)
        reinterpret_cast<uint64_t*>(msg)[i] = g.one_in(2) ? g.next() : g.below(4);
    set_params(l, s, msg, g.below(kMsgBytes));
    set_result(l, s, g.below(600));
    set_caps(l, s, arr, static_cast<uint16_t>(g.below(17)));
    if ((arr != nullptr && s.caps_addr == reinterpret_cast<uint64_t>(arr))) {
        s.caps_in_count = static_cast<uint16_t>(g.below(4));
        for (uint16_t i = 0; i < s.caps_in_count; ++i) arr[i] = g.one_in(2) ? forged(g) : transferable(l);
    }
    if (g.one_in(6)) s.flags = static_cast<uint16_t>(g.next());
    // A move of well-known capabilities would take them from the rest of the fuzzer.
    if ((s.flags & abi::kSqeFlagMoveCaps) != 0 && (arr != nullptr && s.caps_addr == reinterpret_cast<uint64_t>(arr)))
        s.flags &= static_cast<uint16_t>(~abi::kSqeFlagMoveCaps);
}

// Class weights (out of 100): most entries aim at an object, a few at the ring and cap_enter themselves.
fuzz::Class pick_class(Rng& g) {
    // (An overfill pick is a whole SQ of entries, so its small weight is still a tenth of the stream.)
    static const uint8_t kWeights[fuzz::kClassCount] = {7, 3, 8, 8, 6, 9, 14, 5, 14, 3, 5, 15, 1, 2};
    for (;;) {
        uint32_t r = g.below(100);
        for (uint32_t c = 0; c < fuzz::kClassCount; ++c) {
            if (r < kWeights[c]) {
                if ((g_classes & (1u << c)) != 0) return static_cast<fuzz::Class>(c);
                break;
            }
            r -= kWeights[c];
        }
    }
}

int64_t raw_syscall(uint64_t nr, uint64_t a, uint64_t b) {
    int64_t ret;
    asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

void odd_enter(Life& l) {
    Rng& g = l.rng;
    cap::Ring& r = cap::this_ring();
    int64_t ret;
    switch (g.below(6)) {
        case 0:
            ret = abi::cap_enter(r.cq_entries() + 1 + g.below(1u << 20), g.next());
            if (ret != static_cast<int64_t>(abi::Status::invalid_argument))
                fail(l.number, l.done, "cap_enter min_complete > cq_entries accepted", static_cast<uint64_t>(ret));
            break;
        case 1:
            ret = raw_syscall(1 + g.below(1000), g.next(), g.next());
            if (ret != static_cast<int64_t>(abi::Status::invalid_argument))
                fail(l.number, l.done, "unknown system call accepted", static_cast<uint64_t>(ret));
            break;
        case 2:  // the upper half of rdi must be ignored (min_complete is 32 bits)
            ret = raw_syscall(abi::kSysCapEnter, (g.next() << 32) | 0, 0);
            if (ret < 0 && ret != static_cast<int64_t>(abi::Status::invalid_argument))
                fail(l.number, l.done, "cap_enter(0) failed", static_cast<uint64_t>(ret));
            break;
        case 3:  // wait for more than will ever arrive, with a tiny timeout
            ret = abi::cap_enter(r.cq_entries(), 1000 + g.below(100000));
            break;
        case 4:
            ret = abi::cap_enter(0, g.next());
            break;
        default:
            ret = abi::cap_enter(1, g.below(50000));
            break;
    }
    (void)ret;
    ++l.st.enters;
}

// Waits until a NOP submitted now completes: the ring and the kernel still answer this thread.
void alive_check(Life& l) {
    cap::Ring& r = cap::this_ring();
    drain(l);
    Sqe* s = r.reserve();
    for (int k = 0; s == nullptr && k < 1000; ++k) {
        (void)r.enter(0, 0);
        drain(l);
        s = r.reserve();
    }
    if (s == nullptr) fail(l.number, l.done, "SQ never drains");
    s->user_tag = kAliveTag;
    s->interface_id = abi::kInterfaceKernelRing;
    s->method = abi::kMethodNop;
    r.publish();
    const uint64_t t0 = rdtsc();
    for (;;) {
        const int64_t e = r.enter(1, 20'000'000);
        Cqe c;
        bool seen = false;
        while (r.pop(c)) {
            if (c.user_tag == kAliveTag) {
                if (c.status != 0) fail(l.number, l.done, "alive NOP failed", static_cast<uint64_t>(c.status));
                seen = true;
            }
            record(l, c);
        }
        if (seen) break;
        if (e == static_cast<int64_t>(abi::Status::bad_ring)) fail(l.number, l.done, "ring reported corrupt");
        // About 10 s of guest time (TSC ~2.5 GHz): a thread whose NOP never completes is a hang.
        if (rdtsc() - t0 > 25'000'000'000ull) fail(l.number, l.done, "alive NOP never completed");
    }
    ++l.st.alive_checks;
}

void merge(Life& l) {
    fuzz::WorkerStats& d = g_me->stats;
    const fuzz::WorkerStats& s = l.st;
    add(d.submissions, s.submissions);
    add(d.completions, s.completions);
    for (uint32_t i = 0; i < fuzz::kClassCount; ++i) add(d.per_class[i], s.per_class[i]);
    for (uint32_t i = 0; i < fuzz::kStatusBuckets; ++i) add(d.per_status[i], s.per_status[i]);
    add(d.caps_received, s.caps_received);
    add(d.enters, s.enters);
    add(d.alive_checks, s.alive_checks);
    add(d.spawns, s.spawns);
    for (uint32_t i = 0; i < 6; ++i) add(d.quota_kind[i], s.quota_kind[i]);
    l.st = fuzz::WorkerStats{};
}

int64_t life_main(void* arg) {
    Life& l = *static_cast<Life*>(arg);
    cap::Ring& r = cap::this_ring();
    r.set_untracked_handler(untracked, &l);
    Sqe* batch[kMaxBatch];
    while (l.done < l.todo) {
        l.rng = Rng(fuzz::submission_seed(l.seed, l.done));
        const fuzz::Class first = pick_class(l.rng);
        if (first == fuzz::kEnterOdd) {
            odd_enter(l);
            ++l.st.per_class[fuzz::kEnterOdd];
            ++l.st.submissions;
            ++l.done;
            drain(l);
            continue;
        }
        // Overfill: whole-SQ batches, reaped only after a few of them, so the CQ and its overflow list fill.
        const bool overfill = first == fuzz::kOverfill;
        uint32_t want = overfill ? kMaxBatch : 1 + l.brng.below(l.brng.one_in(8) ? kMaxBatch : 24);
        if (want > l.todo - l.done) want = static_cast<uint32_t>(l.todo - l.done);
        uint32_t n = 0;
        for (; n < want; ++n) {
            const uint32_t fi = flight_take(l);
            if (fi == kFlight) break;
            Sqe* s = r.reserve();
            if (s == nullptr) break;
            if (n != 0) l.rng = Rng(fuzz::submission_seed(l.seed, l.done + n));
            fuzz::Class cls = n == 0 ? first : pick_class(l.rng);
            if (overfill || cls == fuzz::kEnterOdd) cls = overfill ? fuzz::kOverfill : first;
            uint8_t* msg = l.msg[n];
            CapHandle* arr = fi < kFlightCaps ? l.caps[fi] : nullptr;
            if (arr != nullptr) __builtin_memset(arr, 0, sizeof l.caps[0]);
            switch (cls) {
                case fuzz::kRingOps:
                    gen_ring(l, *s);
                    break;
                case fuzz::kConsoleObj:
                    gen_console(l, *s, msg);
                    break;
                case fuzz::kTimerObj:
                    gen_timer(l, *s, msg);
                    break;
                case fuzz::kParkObj:
                    gen_park(l, *s, msg);
                    break;
                case fuzz::kThreadObj:
                    gen_thread(l, *s, msg);
                    break;
                case fuzz::kMemoryObj:
                    gen_memory(l, *s, msg);
                    break;
                case fuzz::kProcessObj:
                    gen_process(l, *s, msg, arr);
                    break;
                case fuzz::kHandleObj:
                    gen_handle(l, *s, msg);
                    break;
                case fuzz::kEndpointObj:
                    gen_endpoint(l, *s, msg, arr);
                    break;
                case fuzz::kSpawnerObj:
                    gen_spawner(l, *s, msg, arr);
                    break;
                case fuzz::kKstatsObj:
                    gen_kstats(l, *s, msg);
                    break;
                case fuzz::kOverfill: {  // cheap entries that complete at once
                    s->interface_id = l.rng.one_in(2) ? abi::kInterfaceKernelRing : cap::iface::kTimer;
                    s->cap = s->interface_id == 0 ? abi::kNullCap : g_timer;
                    break;
                }
                default:
                    gen_random(l, *s, msg, arr);
                    break;
            }
            // Out-caps may only land in this entry's own array (or fail on a bad pointer): the bookkeeping of
            // received capabilities depends on it.
            const bool own_array = arr != nullptr && s->caps_addr == reinterpret_cast<uint64_t>(arr);
            if (!own_array && s->caps_out_max > 0 &&
                (maybe_mapped(s->caps_addr) ||
                 (s->caps_addr >= reinterpret_cast<uint64_t>(&g_lives[0]) &&
                  s->caps_addr < reinterpret_cast<uint64_t>(&g_lives[fuzz::kMaxLifeSlots]))))
                s->caps_out_max = 0;
            batch[n] = s;
            ++l.seq;
            s->user_tag = (l.seq << 16) | fi;
            l.flight[fi] =
                Flight{l.seq,
                       s->caps_out_max,
                       static_cast<uint16_t>(arr != nullptr && s->caps_addr == reinterpret_cast<uint64_t>(arr)),
                       s->result_len_max,
                       s->interface_id,
                       s->method,
                       static_cast<uint16_t>(cls),
                       s->params_len};
            ++l.in_flight;
            ++l.st.per_class[cls];
        }
        (void)batch;
        r.publish();
        l.st.submissions += n;
        l.done += n;
        const uint32_t minc = l.brng.one_in(4) ? l.brng.below(n + 1) : 0;
        const int64_t e = r.enter(minc, l.brng.one_in(2) ? 0 : 1'000'000);
        ++l.st.enters;
        if (e == static_cast<int64_t>(abi::Status::bad_ring)) fail(l.number, l.done, "ring reported corrupt");
        const bool leave_full = l.brng.one_in(2), shed = l.brng.one_in(4);
        if (overfill && leave_full) {
            __atomic_store_n(&g_me->life_done[l.slot], l.done, __ATOMIC_RELAXED);
            continue;  // leave the CQ full for the next batch
        }
        drain(l);
        alive_check(l);
        flush_drops(l);
        if (shed && l.npool > kPool / 2) pool_drop_one(l);
        __atomic_store_n(&g_me->life_done[l.slot], l.done, __ATOMIC_RELAXED);
        __atomic_add_fetch(&g_me->progress, 1, __ATOMIC_RELAXED);
    }
    // What this life received goes (what it still has in flight goes with the thread).
    drain(l);
    flush_drops(l);
    while (l.npool > 0) pool_drop_one(l);
    flush_drops(l);
    merge(l);
    __atomic_store_n(&l.finished, 1u, __ATOMIC_RELEASE);
    if (l.abrupt) {
        // End with whatever is still in flight: the kernel must cancel it all.
        Sqe* s = r.reserve();
        if (s != nullptr) {
            *s = Sqe{};
            s->user_tag = 1;
            s->cap = g_process;
            s->interface_id = cap::iface::kProcess;
            s->method = cap::iface::kProcessExitThread.ordinal;
            uint8_t* msg = l.msg[0];
            const uint64_t code = 5;
            s->params_addr = reinterpret_cast<uint64_t>(msg);
            s->params_len = words(msg, &code, 1);
            r.publish();
            (void)r.enter(0, 0);
        }
    }
    return 5;
}

// ---- the mapper: memory mapped and unmapped under the submissions ------------------------------

int64_t mapper(void*) {
    cap::Ring& r = cap::this_ring();
    Rng g(fuzz::life_seed(g_seed, g_index, 0xffff0000u));
    uint64_t maps = 0, unmaps = 0;
    while (__atomic_load_n(&g_me->phase, __ATOMIC_ACQUIRE) != fuzz::kFailed) {
        const uint64_t va = kChurnVa + 0x10000 * g.below(static_cast<uint32_t>(kChurnBytes / 0x10000) - 1);
        if (g.one_in(3)) {
            // A fresh object each time: its frames come and go with it.
            auto mo = cap::process_allocate(r, g_process, 4096 * (1 + g.below(8)));
            if (mo.ok()) {
                if (cap::process_map(r, g_process, mo.value(), va, 0, 4096, true, false).ok()) {
                    ++maps;
                    if (cap::process_unmap(r, g_process, va, 4096).ok()) ++unmaps;
                }
                CapHandle h = mo.value();
                (void)cap::drop_caps(&h, 1);
            }
        } else if (cap::process_map(r, g_process, g_mo_big, va, 0, kBigMoBytes, g.one_in(2), false).ok()) {
            ++maps;
            (void)cap::timer_sleep(r, g_timer, g.below(200'000));
            if (cap::process_unmap(r, g_process, va, kBigMoBytes).ok()) ++unmaps;
        } else {
            // Someone else's mapping is there (the fuzzing threads map into this window too): take it away.
            if (cap::process_unmap(r, g_process, va, 0x10000).ok()) ++unmaps;
        }
        add(g_me->stats.maps, maps);
        add(g_me->stats.unmaps, unmaps);
        maps = unmaps = 0;
        if (__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE) != 0) (void)cap::timer_sleep(r, g_timer, 2'000'000);
    }
    return 0;
}

// ---- the server: answers calls on its own endpoint and on the shared one ------------------------

alignas(8) uint8_t g_srv_buf[9000];
uint64_t g_srv_got = 0, g_srv_dropped = 0, g_srv_moved = 0, g_srv_drop_fail = 0;  // debug
alignas(8) uint8_t g_srv_reply[600];

int64_t server(void*) {
    Rng g(fuzz::life_seed(g_seed, g_index, 0xffff0001u));
    for (uint64_t k = 0;; ++k) {
        const CapHandle ep = (k & 1) != 0 ? g_ep : g_serve;
        auto in = cap::receive(ep, 2'000'000, g_srv_buf, sizeof g_srv_buf);
        if (!in.ok()) {
            if (in.status() == abi::Status::quota_exceeded)
                (void)cap::timer_sleep(cap::this_ring(), g_timer, 1'000'000);
            continue;
        }
        if (in.value().timed_out) continue;
        const cap::Incoming& c = in.value();
        g_srv_got += c.cap_count;
        CapHandle back[16];
        uint16_t nback = 0;
        uint32_t rest_from = 0;
        if (g.below(8) != 0) {  // most calls get an answer; the rest stay pending until their caller's thread ends
            // Any defined status but internal, which the fuzzer reports as a kernel bug wherever it comes from.
            const int32_t st = -static_cast<int32_t>(g.below(19));
            const uint32_t rlen = g.below(static_cast<uint32_t>(sizeof g_srv_reply));
            for (uint32_t i = 0; i < rlen; ++i) g_srv_reply[i] = static_cast<uint8_t>(g.next());
            // Capabilities back: some of what came in (moved), or a copy of the Timer.
            if (c.cap_count > 0 && g.one_in(2)) {
                nback = static_cast<uint16_t>(1 + g.below(c.cap_count));
                for (uint16_t i = 0; i < nback; ++i) back[i] = c.caps[i];
                rest_from = nback;
            } else if (g.one_in(3)) {
                back[nback++] = g_timer;
            }
            alignas(8) static uint8_t msg[1024];
            const uint32_t len =
                cap::encode_reply(msg, sizeof msg, c.call_id, static_cast<cap::Status>(st), g_srv_reply, rlen);
            const bool move = rest_from > 0;
            const Cqe rc =
                cap::raw_call(ep, cap::iface::kEndpointReply.interface_id, cap::iface::kEndpointReply.ordinal, msg, len,
                              nullptr, 0, back, nback, 0, move ? abi::kSqeFlagMoveCaps : 0);
            // A reply the caller cannot take leaves the capabilities with us, and so does one with an error status
            // (the kernel transfers a reply's capabilities only with status ok, and still answers the reply ok).
            if (rc.status != 0 || st != 0) rest_from = 0;
            g_srv_moved += rest_from;
        }
        for (uint32_t i = rest_from; i < c.cap_count && i < cap::kMaxIncomingCaps; ++i) {
            CapHandle h = c.caps[i];
            if (h != abi::kNullCap && h != g_timer) {
                if (cap::drop_caps(&h, 1).ok()) ++g_srv_dropped;
                else ++g_srv_drop_fail;
            }
        }
    }
    return 0;
}

}  // namespace

int main(cap::StartInfo& info) {
    const char* a = info.args();
    g_seed = cap::arg_u64(a, "seed", 1);
    g_index = static_cast<uint32_t>(cap::arg_u64(a, "index", 0)) & 1;
    g_count = cap::arg_u64(a, "count", 50000);
    g_threads = static_cast<uint32_t>(cap::arg_u64(a, "threads", 3));
    g_cpus = static_cast<uint32_t>(cap::arg_u64(a, "cpus", 1));
    g_classes = static_cast<uint32_t>(cap::arg_u64(a, "classes", g_classes)) & ((1u << fuzz::kClassCount) - 1);
    if (g_classes == 0) g_classes = 1u << fuzz::kRingOps;
    if (g_threads == 0) g_threads = 1;
    if (g_threads > fuzz::kMaxLifeSlots) g_threads = fuzz::kMaxLifeSlots;
    cap::Ring& r = cap::this_ring();
    g_process = info.process();
    g_main_thread = info.cap(cap::StartCap::thread);
    g_console = info.console();
    g_park = info.park();
    g_timer = info.timer();
    g_kstats = info.named("kstats");
    g_spawner = info.named("spawner");
    g_serve = info.named("serve");
    g_peer = info.named("peer");
    g_nbr = info.named("nbr");
    const CapHandle shared = info.named("shared");
    if (shared == abi::kNullCap || g_serve == abi::kNullCap || g_peer == abi::kNullCap) return 30;
    const uint64_t sva = cap::reserve_va(fuzz::kSharedBytes);
    if (!cap::process_map(r, g_process, shared, sva, 0, fuzz::kSharedBytes, true, false).ok()) return 31;
    g_sh = reinterpret_cast<fuzz::Shared*>(sva);
    g_me = &g_sh->worker[g_index];
    g_me->target = g_count;

    auto ep = cap::create_endpoint();
    if (!ep.ok()) return 32;
    g_ep = ep.value();
    auto cl = cap::mint(g_ep, 0xf0 + g_index);
    if (!cl.ok()) return 33;
    g_ep_client = cl.value();
    auto ms = cap::process_allocate(r, g_process, 4096);
    auto mb = cap::process_allocate(r, g_process, kBigMoBytes);
    auto mg = cap::process_allocate(r, g_process, 4096);
    if (!ms.ok() || !mb.ok() || !mg.ok()) return 34;
    g_mo_small = ms.value();
    g_mo_big = mb.value();
    // The page before kGuardVa + 4096 is mapped, the one after never is: pointers that straddle the two.
    if (!cap::process_map(r, g_process, mg.value(), kGuardVa, 0, 4096, true, false).ok()) return 35;

    const uint64_t c0 = rdtsc();
    auto srv = cap::Thread::spawn(server, nullptr, 64 * 1024);
    auto mp = cap::Thread::spawn(mapper, nullptr, 64 * 1024);
    if (!srv.ok() || !mp.ok()) return 36;
    g_server_handle = srv.value().handle();
    g_mapper_handle = mp.value().handle();

    Rng mg_rng(fuzz::life_seed(g_seed, g_index, 0xfffffff0u));
    cap::Thread running[fuzz::kMaxLifeSlots];
    bool busy[fuzz::kMaxLifeSlots] = {};
    uint64_t remaining = g_count;
    uint32_t next_life = 0;
    uint64_t created = 2, lives = 0, abrupt = 0;
    uint32_t spawn_failures = 0;
    for (;;) {
        bool any = false;
        for (uint32_t i = 0; i < g_threads; ++i) {
            if (busy[i] && __atomic_load_n(&g_lives[i].finished, __ATOMIC_ACQUIRE) != 0) {
                auto j = running[i].join();
                if (!j.ok() || j.value() != 5)
                    fail(g_lives[i].number, g_lives[i].done, "life ended badly",
                         j.ok() ? static_cast<uint64_t>(j.value()) : 0, static_cast<uint64_t>(j.status()));
                g_life_handle[i] = abi::kNullCap;
                busy[i] = false;
                // Received by the life's own exit (libcap's exitThread call reaps completions still in its CQ):
                // nobody else will drop them.
                Life& done = g_lives[i];
                for (uint32_t k = 0; k < done.npool; ++k) (void)cap::drop_caps(&done.pool[k], 1);
                for (uint32_t k = 0; k < done.nto_drop; ++k) (void)cap::drop_caps(&done.to_drop[k], 1);
                done.npool = done.nto_drop = 0;
                // A life's last cap_enter (its exit) first posts what completed meanwhile, a receive's capabilities
                // among them, into a CQ nobody reads again: those handles are in this process's table and written in
                // the entry's caps array, which outlives the thread. In-caps left there are stale by now, or
                // well-known (kept).
                for (uint32_t fi = 0; fi < kFlightCaps; ++fi) {
                    if (done.flight[fi].seq == 0 || done.flight[fi].harvest == 0) continue;
                    for (uint32_t k = 0; k < done.flight[fi].caps_out_max && k < 16; ++k) {
                        CapHandle h = done.caps[fi][k];
                        bool live = h == abi::kNullCap || well_known(h);
                        for (uint32_t x = 0; x < fuzz::kMaxLifeSlots; ++x) live = live || h == g_life_handle[x];
                        if (!live) (void)cap::drop_caps(&h, 1);
                    }
                }
                spawn_failures = 0;
                if (g_debug && done.number % 25 == 0) {
                    auto m = guest::kernel_memory();
                    cap::print(
                        "[fuzz] process %u life %u ended: own slots in use %llu harvested %llu dropped %llu server got %llu "
                        "moved %llu dropped %llu failed %llu\n",
                        g_index, done.number, static_cast<unsigned long long>(m.ok() ? m.value().slots_used : 0),
                        static_cast<unsigned long long>(done.harvested),
                        static_cast<unsigned long long>(done.dropped_ok), static_cast<unsigned long long>(g_srv_got),
                        static_cast<unsigned long long>(g_srv_moved), static_cast<unsigned long long>(g_srv_dropped),
                        static_cast<unsigned long long>(g_srv_drop_fail));
                }
            }
            if (!busy[i] && remaining > 0) {
                Life& l = g_lives[i];
                const uint64_t todo = remaining < 4000 ? remaining : 500 + mg_rng.below(3500);
                l.seed = fuzz::life_seed(g_seed, g_index, next_life);
                l.rng = Rng(l.seed);
                l.brng = Rng(l.seed ^ 0x6261746368ull);  // "batch
                l.slot = i;
                l.number = next_life++;
                l.todo = todo;
                l.done = 0;
                l.seq = 0;
                l.abrupt = mg_rng.one_in(3);
                l.finished = 0;
                l.in_flight = 0;
                l.flight_hint = 0;
                l.npool = 0;
                l.ndropped = 0;
                l.harvested = l.dropped_ok = 0;
                l.call_id = 0;
                l.last_value = 0;
                __builtin_memset(l.flight, 0, sizeof l.flight);
                l.st = fuzz::WorkerStats{};
                g_me->life[i] = l.number;
                g_me->life_done[i] = 0;
                auto t = cap::Thread::spawn(life_main, &l, 64 * 1024);
                if (!t.ok()) {
                    // Thread or slot quota momentarily taken (a spawn racing the lives' own allocations): try again later.
                    // For ever would be the fuzzer's own leak (its table full of handles it lost track of): say so.
                    if (++spawn_failures > 1000) {
                        auto m = guest::kernel_memory();
                        fail(next_life, 0, "cannot start a fuzzing thread (own slots used, status)",
                             m.ok() ? m.value().slots_used : 0, static_cast<uint64_t>(t.status()));
                    }
                    --next_life;
                    (void)cap::timer_sleep(r, g_timer, 1'000'000);
                    continue;
                }
                running[i] = t.value();
                g_life_handle[i] = running[i].handle();
                busy[i] = true;
                remaining -= todo;
                ++created;
                ++lives;
                abrupt += l.abrupt ? 1 : 0;
            }
            any = any || busy[i];
        }
        if (!any && remaining == 0) break;
        (void)cap::timer_sleep(r, g_timer, 1'000'000);
    }
    __atomic_store_n(&g_stop, 1u, __ATOMIC_RELEASE);
    add(g_me->stats.threads_created, created);
    add(g_me->stats.thread_lives, lives);
    add(g_me->stats.abrupt_exits, abrupt);
    add(g_me->stats.cycles, rdtsc() - c0);
    const fuzz::WorkerStats& st = g_me->stats;
    auto mem = guest::kernel_memory();
    cap::print("[fuzz] process %u: own capability slots in use at the end: %llu\n", g_index,
               static_cast<unsigned long long>(mem.ok() ? mem.value().slots_used : 0));
    cap::print(
        "[fuzz] process %u: seed=%llu submissions=%llu completions=%llu lives=%llu (abrupt %llu) maps=%llu "
        "unmaps=%llu cycles=%llu\n",
        g_index, static_cast<unsigned long long>(g_seed), static_cast<unsigned long long>(st.submissions),
        static_cast<unsigned long long>(st.completions), static_cast<unsigned long long>(st.thread_lives),
        static_cast<unsigned long long>(st.abrupt_exits), static_cast<unsigned long long>(st.maps),
        static_cast<unsigned long long>(st.unmaps), static_cast<unsigned long long>(st.cycles));
    uint32_t expect = fuzz::kRunning;
    (void)__atomic_compare_exchange_n(&g_me->phase, &expect, fuzz::kDone, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    // Stay alive with the server and the mapper still working and calls still pending: the controller kills us.
    park_forever();
}
