// utest_fuzz.cpp - in-guest test (utest=fuzz): two guest-fuzz processes submit seeded random and
// structured-random entries against every kernel object they hold while guest-fuzz-neighbour keeps a heartbeat
// and a checksum of its memory. This program only watches: it takes the kernel's memory figures first, checks
// both fuzzers keep making progress and the neighbour keeps beating, kills the fuzzers when they are done
// (with their servers, mappers and pending calls still live) and checks that free frames, kernel heap bytes,
// live processes and its own capability slots are back where they started.
//
// Kernel options (passed on to this program): fuzz_seed=<n> (default 1), fuzz_count=<submissions in all,
// default 100000>, fuzz_threads=<fuzzing threads per process, default 3>. docs/fuzzing.md.
#include "fuzz_shared.h"
#include "guest.h"
#include "libcap/args.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/raw_call.h"
#include "libcap/runtime.h"
#include "libcap/test.h"

namespace abi = capos::abi;
using abi::CapHandle;

namespace {

uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t{hi} << 32) | lo;
}

void sleep_ms(uint64_t ms) { (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), ms * 1'000'000); }

uint64_t now_ns() {
    auto t = cap::timer_now(cap::this_ring(), cap::start_info().timer());
    return t.ok() ? t.value() : 0;
}

// Kernel memory once every other process is gone (the reaper finishes a process shortly after its waiters
// are woken; utest_exit.cpp says why a read right after wait can still count it).
cap::Result<guest::KernelMemory> settled(uint64_t processes, uint32_t tries) {
    auto m = guest::kernel_memory();
    for (uint32_t i = 0; i < tries && m.ok() && m.value().processes > processes; ++i) {
        sleep_ms(2);
        m = guest::kernel_memory();
    }
    return m;
}

void print_memory(const char* what, const guest::KernelMemory& m) {
    cap::print(
        "[fuzz] %s: free_frames=%llu kheap_in_use=%llu kheap_mapped=%llu kheap_allocations=%llu processes=%llu "
        "slots=%llu\n",
        what, static_cast<unsigned long long>(m.free_frames), static_cast<unsigned long long>(m.heap_in_use),
        static_cast<unsigned long long>(m.heap_mapped), static_cast<unsigned long long>(m.heap_allocations),
        static_cast<unsigned long long>(m.processes), static_cast<unsigned long long>(m.slots_used));
}

struct Config {
    uint64_t seed, count;
    uint32_t threads, cpus, classes;
};

Config config() {
    const char* a = cap::start_info().args();
    Config c{};
    c.seed = cap::arg_u64(a, "fuzz_seed", 1);
    c.count = cap::arg_u64(a, "fuzz_count", 100000);
    c.threads = static_cast<uint32_t>(cap::arg_u64(a, "fuzz_threads", 3));
    c.cpus = static_cast<uint32_t>(cap::arg_u64(a, "cpus", 1));
    c.classes = static_cast<uint32_t>(cap::arg_u64(a, "fuzz_classes", (1u << fuzz::kClassCount) - 1));
    return c;
}

// An asynchronous ProcessHandle.wait: polled, so that a fuzzer dying early is seen while the other runs.
struct Waiter {
    uint64_t tag = 0;
    alignas(8) uint8_t result[64];
    bool done = false;
    abi::Cqe cqe{};
};

bool start_wait(Waiter& w, CapHandle h) {
    cap::CallArgs a;
    a.cap = h;
    a.method = cap::iface::kProcessHandleWait;
    a.result = w.result;
    a.result_max = sizeof w.result;
    auto t = cap::this_ring().start(cap::make_sqe(a));
    if (!t.ok()) return false;
    w.tag = t.value();
    return true;
}

bool poll_wait(Waiter& w) {
    if (w.done) return true;
    cap::this_ring().reap();
    if (cap::this_ring().poll(w.tag, w.cqe)) w.done = true;
    return w.done;
}

cap::ProcessExit exit_of(const Waiter& w) { return cap::decode_exit(w.result, w.cqe.result_len); }

alignas(8) uint8_t g_args[2][128];

}  // namespace

CAP_TEST(fuzz_two_processes_beside_a_neighbour) {
    const Config cfg = config();
    cap::Ring& r = cap::this_ring();
    const CapHandle self = cap::start_info().process();
    cap::print("[fuzz] seed=%llu count=%llu threads=%u cpus=%u classes=%u: start\n",
               static_cast<unsigned long long>(cfg.seed), static_cast<unsigned long long>(cfg.count), cfg.threads,
               cfg.cpus, cfg.classes);

    // The shared page set (fuzz_shared.h), mapped here and in every child. Made before the baseline, and
    // kept until after the last reading, so that neither holds it or the page tables its mapping needed here.
    auto mo = cap::process_allocate(r, self, fuzz::kSharedBytes);
    CAP_REQUIRE(mo.ok());
    const uint64_t va = cap::reserve_va(fuzz::kSharedBytes);
    CAP_REQUIRE(cap::process_map(r, self, mo.value(), va, 0, fuzz::kSharedBytes, true, false).ok());
    auto* sh = reinterpret_cast<fuzz::Shared*>(va);

    // Baseline: this program alone, before it creates anything else for the run.
    auto before = settled(1, 500);
    CAP_REQUIRE(before.ok());
    print_memory("baseline", before.value());

    // The neighbour first: it must be beating before the fuzzers start.
    char nargs[48];
    cap::snprint(nargs, sizeof nargs, "seed=%llu", static_cast<unsigned long long>(cfg.seed));
    const char* nnames[1] = {"shared"};
    CapHandle ngrants[1] = {mo.value()};
    auto nb = guest::spawn_std("guest-fuzz-neighbour", nargs, nnames, ngrants, 1);
    CAP_REQUIRE(nb.ok());
    Waiter nwait;
    CAP_REQUIRE(start_wait(nwait, nb.value().handle));
    for (int i = 0; i < 2000 && __atomic_load_n(&sh->neighbour.beats, __ATOMIC_ACQUIRE) == 0 && !poll_wait(nwait); ++i)
        sleep_ms(1);
    CAP_REQUIRE(__atomic_load_n(&sh->neighbour.beats, __ATOMIC_ACQUIRE) > 0);

    // Rounds of at most kRoundSubmissions: each round a fresh pair of fuzzing processes (so a process's table,
    // which the fuzzer's own lost handles slowly fill, never limits a long run) and a fresh endpoint between
    // them; each pair is killed at the end of its round. Round 0 uses the seed itself, round r splitmix(seed+r),
    // so fuzz_seed and fuzz_count reproduce the whole run.
    constexpr uint64_t kRoundSubmissions = 250000;
    const uint64_t c0 = rdtsc();
    const uint64_t t0 = now_ns();
    const cap::StartInfo& info = cap::start_info();
    fuzz::WorkerStats t{};
    bool failed = false;
    uint32_t rounds = 0;
    for (uint64_t left = cfg.count; left > 0 && !failed; ++rounds) {
        const uint64_t this_round = left < kRoundSubmissions ? left : kRoundSubmissions;
        left -= this_round;
        const uint64_t rseed = rounds == 0 ? cfg.seed : fuzz::splitmix(cfg.seed + rounds);
        __builtin_memset(&sh->worker[0], 0, sizeof sh->worker);
        // The endpoint both fuzzers serve and call (owned by this program, which drops its handles once they have
        // theirs), and the neighbour's handle with Read only: wait and id, never kill.
        auto ep = guest::create_endpoint();
        CAP_REQUIRE(ep.ok());
        auto client = guest::mint(ep.value(), 0xc0ffee);
        CAP_REQUIRE(client.ok());
        cap::Spawned fz[2];
        Waiter fwait[2];
        for (uint32_t i = 0; i < 2; ++i) {
            const uint64_t count = i == 0 ? this_round / 2 : this_round - this_round / 2;
            cap::snprint(reinterpret_cast<char*>(g_args[i]), sizeof g_args[i],
                         "seed=%llu index=%u count=%llu threads=%u cpus=%u classes=%u",
                         static_cast<unsigned long long>(rseed), i, static_cast<unsigned long long>(count), cfg.threads,
                         cfg.cpus, cfg.classes);
            cap::SpawnGrant g[10] = {
                {"console", info.console()},
                {"park", info.park()},
                {"timer", info.timer()},
                {"shared", mo.value()},
                {"spawner", info.named("spawner")},
                {"kstats", info.named("kstats")},
                {"serve", ep.value()},
                {"peer", client.value()},
                {"nbr", nb.value().handle, abi::kRightCall | abi::kRightCopy | abi::kRightTransfer | abi::kRightRead},
            };
            auto sp = cap::spawn(info.named("spawner"), "guest-fuzz", "guest-fuzz", reinterpret_cast<char*>(g_args[i]),
                                 g, 9, nullptr);
            CAP_REQUIRE(sp.ok());
            fz[i] = sp.value();
            CAP_REQUIRE(start_wait(fwait[i], fz[i].handle));
        }
        {
            CapHandle d[2] = {ep.value(), client.value()};
            CAP_CHECK(cap::drop_caps(d, 2).ok());
        }
        if (cfg.count > kRoundSubmissions)
            cap::print("[fuzz] round %u: seed=%llu submissions=%llu\n", rounds, static_cast<unsigned long long>(rseed),
                       static_cast<unsigned long long>(this_round));

        // Watch: both fuzzers progressing (or done), the neighbour beating, nobody dead.
        uint64_t last_progress[2] = {0, 0}, last_beats = 0;
        uint64_t still_since = now_ns(), beat_since = now_ns();
        const char* why = "";
        for (;;) {
            sleep_ms(20);
            const uint64_t now = now_ns();
            bool all_done = true;
            for (uint32_t i = 0; i < 2; ++i) {
                const uint32_t ph = __atomic_load_n(&sh->worker[i].phase, __ATOMIC_ACQUIRE);
                if (ph == fuzz::kFailed) {
                    failed = true;
                    why = "a fuzzer found a failure";
                }
                if (ph != fuzz::kDone) all_done = false;
                if (poll_wait(fwait[i])) {
                    failed = true;
                    why = "a fuzzer process died";
                }
                const uint64_t p = __atomic_load_n(&sh->worker[i].progress, __ATOMIC_RELAXED);
                if (p != last_progress[i]) {
                    last_progress[i] = p;
                    still_since = now;
                }
            }
            const uint64_t b = __atomic_load_n(&sh->neighbour.beats, __ATOMIC_ACQUIRE);
            if (b != last_beats) {
                last_beats = b;
                beat_since = now;
            }
            if (poll_wait(nwait)) {
                failed = true;
                why = "the neighbour died";
            }
            if (__atomic_load_n(&sh->neighbour.intact, __ATOMIC_ACQUIRE) != 1) {
                failed = true;
                why = "the neighbour's memory or answers changed";
            }
            // Generous for TCG on a loaded host: a batch takes milliseconds, a beat one.
            if (now - still_since > 20'000'000'000ull && !all_done) {
                failed = true;
                why = "no fuzzer progress for 20 s (hang)";
            }
            if (now - beat_since > 20'000'000'000ull) {
                failed = true;
                why = "no neighbour heartbeat for 20 s";
            }
            if (failed || all_done) break;
        }
        if (failed) {
            cap::print("[fuzz] seed=%llu FAIL: %s (round %u, seed %llu)\n", static_cast<unsigned long long>(cfg.seed),
                       why, rounds, static_cast<unsigned long long>(rseed));
            for (uint32_t i = 0; i < 2; ++i) {
                const fuzz::Worker& w = sh->worker[i];
                cap::print("[fuzz] process %u phase=%u progress=%llu submissions=%llu %s\n", i, w.phase,
                           static_cast<unsigned long long>(w.progress),
                           static_cast<unsigned long long>(w.stats.submissions), w.fail);
                for (uint32_t k = 0; k < cfg.threads && k < fuzz::kMaxLifeSlots; ++k)
                    cap::print("[fuzz] process %u thread %u: life %u at submission %llu\n", i, k, w.life[k],
                               static_cast<unsigned long long>(w.life_done[k]));
                if (fwait[i].done) {
                    const cap::ProcessExit e = exit_of(fwait[i]);
                    cap::print("[fuzz] process %u exited: %s code %lld\n", i, cap::exit_reason_name(e.reason),
                               static_cast<long long>(e.code));
                }
            }
        }
        CAP_CHECK(!failed);

        // Kill both with everything they hold still live; a kill must be what ended them.
        for (uint32_t i = 0; i < 2; ++i) (void)guest::kill_process(fz[i].handle);
        for (uint32_t i = 0; i < 2; ++i) {
            for (int k = 0; k < 5000 && !poll_wait(fwait[i]); ++k) sleep_ms(1);
            CAP_CHECK(fwait[i].done);
            if (fwait[i].done && !failed) CAP_CHECK(exit_of(fwait[i]).reason == 1);
            CapHandle h[1] = {fz[i].handle};
            CAP_CHECK(cap::drop_caps(h, 1).ok());
        }
        for (uint32_t i = 0; i < 2; ++i) {
            const fuzz::WorkerStats& ws = sh->worker[i].stats;
            t.submissions += ws.submissions;
            t.completions += ws.completions;
            for (uint32_t k = 0; k < fuzz::kClassCount; ++k) t.per_class[k] += ws.per_class[k];
            for (uint32_t k = 0; k < fuzz::kStatusBuckets; ++k) t.per_status[k] += ws.per_status[k];
            for (uint32_t k = 0; k < 6; ++k) t.quota_kind[k] += ws.quota_kind[k];
            t.threads_created += ws.threads_created;
            t.thread_lives += ws.thread_lives;
            t.abrupt_exits += ws.abrupt_exits;
            t.maps += ws.maps;
            t.unmaps += ws.unmaps;
            t.spawns += ws.spawns;
            t.caps_received += ws.caps_received;
            t.enters += ws.enters;
            t.alive_checks += ws.alive_checks;
        }
    }
    const uint64_t cycles = rdtsc() - c0;
    const uint64_t ms = (now_ns() - t0) / 1'000'000;
    // The neighbour: still beating, then its last verification.
    const uint64_t beats_at_end = __atomic_load_n(&sh->neighbour.beats, __ATOMIC_ACQUIRE);
    __atomic_store_n(&sh->neighbour.stop, 1u, __ATOMIC_RELEASE);
    for (int k = 0; k < 5000 && !poll_wait(nwait); ++k) sleep_ms(1);
    CAP_CHECK(nwait.done);
    const cap::ProcessExit ne = exit_of(nwait);
    const bool neighbour_ok = nwait.done && ne.reason == 0 && ne.code == 0 && sh->neighbour.final_ok == 1;
    cap::print("[fuzz] neighbour: beats=%llu checks=%llu checksum=%llx intact=%u exit %s code %lld -> %s\n",
               static_cast<unsigned long long>(beats_at_end), static_cast<unsigned long long>(sh->neighbour.checks),
               static_cast<unsigned long long>(sh->neighbour.checksum), sh->neighbour.final_ok,
               cap::exit_reason_name(ne.reason), static_cast<long long>(ne.code), neighbour_ok ? "ok" : "HARMED");
    CAP_CHECK(neighbour_ok);

    // Figures of every round's processes together.
    char line[900];
    size_t n = cap::snprint(line, sizeof line, "[fuzz] classes:");
    for (uint32_t k = 0; k < fuzz::kClassCount && n < sizeof line; ++k)
        n += cap::snprint(line + n, sizeof line - n, " %s=%llu", fuzz::kClassNames[k],
                          static_cast<unsigned long long>(t.per_class[k]));
    cap::print("%s\n", line);
    n = cap::snprint(line, sizeof line, "[fuzz] statuses:");
    for (uint32_t k = 0; k < fuzz::kStatusBuckets && n < sizeof line; ++k) {
        if (t.per_status[k] == 0) continue;
        const char* name = k + 1 < fuzz::kStatusBuckets
                               ? abi::status_name(static_cast<abi::Status>(-static_cast<int32_t>(k)))
                               : "out_of_range";
        n +=
            cap::snprint(line + n, sizeof line - n, " %s=%llu", name, static_cast<unsigned long long>(t.per_status[k]));
    }
    cap::print("%s\n", line);
    cap::print(
        "[fuzz] quota_exceeded by kind: none=%llu cap_slots=%llu frames=%llu threads=%llu outstanding_calls=%llu "
        "derivation=%llu\n",
        static_cast<unsigned long long>(t.quota_kind[0]), static_cast<unsigned long long>(t.quota_kind[1]),
        static_cast<unsigned long long>(t.quota_kind[2]), static_cast<unsigned long long>(t.quota_kind[3]),
        static_cast<unsigned long long>(t.quota_kind[4]), static_cast<unsigned long long>(t.quota_kind[5]));
    cap::print(
        "[fuzz] rounds=%u threads_created=%llu lives=%llu abrupt_exits=%llu maps=%llu unmaps=%llu spawn_attempts=%llu "
        "caps_received=%llu enters=%llu alive_checks=%llu elapsed_cycles=%llu elapsed_ms=%llu\n",
        rounds, static_cast<unsigned long long>(t.threads_created), static_cast<unsigned long long>(t.thread_lives),
        static_cast<unsigned long long>(t.abrupt_exits), static_cast<unsigned long long>(t.maps),
        static_cast<unsigned long long>(t.unmaps), static_cast<unsigned long long>(t.spawns),
        static_cast<unsigned long long>(t.caps_received), static_cast<unsigned long long>(t.enters),
        static_cast<unsigned long long>(t.alive_checks), static_cast<unsigned long long>(cycles),
        static_cast<unsigned long long>(ms));
    CAP_CHECK(t.submissions >= cfg.count);
    CAP_CHECK(t.per_status[fuzz::kStatusBuckets - 1] == 0);

    // Leak check: the fuzzers' children end by themselves; wait for every process but this one to be gone.
    {
        CapHandle h[1] = {nb.value().handle};
        CAP_CHECK(cap::drop_caps(h, 1).ok());
    }
    auto after = settled(1, 5000);
    CAP_REQUIRE(after.ok());
    print_memory("after", after.value());
    const guest::KernelMemory& a = after.value();
    const guest::KernelMemory& b0 = before.value();
    // The kernel heap keeps the pages it grew by (kheap_mapped; its bytes in use must come back exactly): a
    // frame is either free or heap, so free frames plus heap pages is what must not change.
    const uint64_t pool_before = b0.free_frames + b0.heap_mapped / 4096,
                   pool_after = a.free_frames + a.heap_mapped / 4096;
    const bool same = pool_after == pool_before && a.heap_in_use == b0.heap_in_use &&
                      a.heap_allocations == b0.heap_allocations && a.processes == b0.processes &&
                      a.slots_used == b0.slots_used;
    cap::print(
        "[fuzz] leak-check: free_frames %llu -> %llu, kheap_mapped_pages %llu -> %llu (free+heap %llu -> %llu), "
        "kheap_in_use %llu -> %llu, kheap_allocations %llu -> %llu, processes %llu -> %llu, slots %llu -> %llu: "
        "%s\n",
        static_cast<unsigned long long>(b0.free_frames), static_cast<unsigned long long>(a.free_frames),
        static_cast<unsigned long long>(b0.heap_mapped / 4096), static_cast<unsigned long long>(a.heap_mapped / 4096),
        static_cast<unsigned long long>(pool_before), static_cast<unsigned long long>(pool_after),
        static_cast<unsigned long long>(b0.heap_in_use), static_cast<unsigned long long>(a.heap_in_use),
        static_cast<unsigned long long>(b0.heap_allocations), static_cast<unsigned long long>(a.heap_allocations),
        static_cast<unsigned long long>(b0.processes), static_cast<unsigned long long>(a.processes),
        static_cast<unsigned long long>(b0.slots_used), static_cast<unsigned long long>(a.slots_used),
        same ? "same" : "DIFFERENT");
    CAP_CHECK(same);
    CAP_CHECK(cap::process_unmap(r, self, va, fuzz::kSharedBytes).ok());
    {
        CapHandle h[1] = {mo.value()};
        CAP_CHECK(cap::drop_caps(h, 1).ok());
    }
    const bool ok = !failed && neighbour_ok && same && t.submissions >= cfg.count;
    cap::print("[fuzz] seed=%llu submissions=%llu completions=%llu cpus=%u elapsed_ms=%llu %s\n",
               static_cast<unsigned long long>(cfg.seed), static_cast<unsigned long long>(t.submissions),
               static_cast<unsigned long long>(t.completions), cfg.cpus, static_cast<unsigned long long>(ms),
               ok ? "ok" : "FAIL");
}

CAP_TEST_MAIN("fuzz")
