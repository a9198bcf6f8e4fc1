// utest_hostile.cpp - in-guest test: a flood of malformed submissions, forged and stale handles, bad pointers and
// ring corruption from this process while guest-worker does honest work; the kernel must answer every one with an
// error completion, never panic, and the worker's result must be right.
#include "capos/abi/layout.h"
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/spawn.h"
#include "libcap/test.h"
#include "libcap/thread.h"

namespace abi = capos::abi;
using cap::this_ring;

namespace {

uint64_t g_rng = 0x9e3779b97f4a7c15ull;
uint64_t rnd() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

alignas(8) uint8_t g_junk[9000];
abi::CapHandle g_caps[32];

uint64_t pick_ptr() {
    switch (rnd() % 8) {
        case 0:
            return 0;
        case 1:
            return 0xffff800000000000ull + (rnd() & 0xffffff);  // kernel half
        case 2:
            return 0x0000800000000000ull + (rnd() & 0xfff);  // non-canonical
        case 3:
            return 0x0000200000000000ull + (rnd() & 0xfffff000);  // unmapped user
        case 4:
            return abi::kUserEnd - 8;  // last bytes of user space
        case 5:
            return reinterpret_cast<uint64_t>(g_junk) + (rnd() % 64);
        case 6:
            return 0x400000;  // read-only text
        default:
            return reinterpret_cast<uint64_t>(g_junk);
    }
}

// A handle that names no valid capability: out of range, generation 0, or a
// real slot with a wrong generation (stale).
abi::CapHandle forged() {
    switch (rnd() % 3) {
        case 0:
            return abi::make_handle(static_cast<uint32_t>(1000 + rnd() % 100000), static_cast<uint32_t>(rnd()));
        case 1:
            return abi::make_handle(static_cast<uint32_t>(1 + rnd() % 8), 0);  // never the null handle (NOP)
        default:
            return abi::make_handle(static_cast<uint32_t>(rnd() % 8), static_cast<uint32_t>(2 + rnd() % 1000));
    }
}

const uint64_t kIfaces[] = {guest::kConsole, guest::kTimer,    guest::kPark,    guest::kThread, guest::kMemoryObject,
                            guest::kProcess, guest::kEndpoint, guest::kSpawner, 0x1111,         0};

void fill(abi::Sqe& s, uint64_t tag) {
    s = abi::Sqe{};
    s.user_tag = tag;
    const uint64_t kind = rnd() % 4;
    s.interface_id = kIfaces[rnd() % (sizeof kIfaces / sizeof kIfaces[0])];
    s.method = static_cast<uint16_t>(rnd() % 12);
    if (kind == 0) {
        // Targeted: the real Console with a bad message (first word non-zero so
        // the framing is refused) or a bad pointer / length.
        s.cap = cap::start_info().console();
        s.interface_id = guest::kConsole;
        s.method = 0;
        s.params_addr = pick_ptr();
        s.params_len = static_cast<uint32_t>(rnd() % 9000);
        if (s.params_addr == reinterpret_cast<uint64_t>(g_junk)) g_junk[0] = static_cast<uint8_t>(1 + rnd() % 255);
    } else {
        s.cap = forged();
        s.params_addr = pick_ptr();
        s.params_len = static_cast<uint32_t>(rnd() % 9000);
    }
    s.result_addr = pick_ptr();
    s.result_len_max = static_cast<uint32_t>(rnd() % 300);
    s.caps_addr = rnd() % 2 ? pick_ptr() : reinterpret_cast<uint64_t>(g_caps);
    s.caps_in_count = static_cast<uint16_t>(rnd() % 20);
    s.caps_out_max = static_cast<uint16_t>(rnd() % 20);
    if (rnd() % 8 == 0) s.flags = static_cast<uint16_t>(rnd());
    if (rnd() % 16 == 0) s.interface_id = abi::kInterfaceKernelRing, s.method = 1;  // unknown ring op
}

}  // namespace

CAP_TEST(flood_while_worker_runs) {
    for (auto& b : g_junk) b = static_cast<uint8_t>(rnd());
    for (auto& c : g_caps) c = forged();
    auto w = guest::spawn_std("guest-worker", "", nullptr, nullptr, 0);
    CAP_REQUIRE(w.ok());
    cap::Ring& r = this_ring();
    constexpr uint32_t kTotal = 6000;
    uint32_t submitted = 0, completed = 0, errors = 0, oks = 0;
    while (submitted < kTotal) {
        const uint32_t batch = 1 + static_cast<uint32_t>(rnd() % 48);
        uint32_t n = 0;
        for (; n < batch && submitted < kTotal; ++n) {
            abi::Sqe* s = r.reserve();
            if (s == nullptr) break;
            fill(*s, 1 + submitted);
            ++submitted;
        }
        r.publish();
        (void)r.enter(n, 1'000'000'000);
        abi::Cqe c;
        while (r.pop(c)) {
            ++completed;
            if (c.status < 0) ++errors;
            else ++oks;
        }
    }
    for (int k = 0; k < 100 && completed < submitted; ++k) {
        (void)r.enter(submitted - completed, 100'000'000);
        abi::Cqe c;
        while (r.pop(c)) {
            ++completed;
            if (c.status < 0) ++errors;
            else ++oks;
        }
    }
    cap::print("[utest-hostile] submitted %u completed %u errors %u ok %u\n", submitted, completed, errors, oks);
    CAP_CHECK(completed == submitted);
    CAP_CHECK(errors == submitted);  // nothing hostile may succeed
    auto e = guest::wait_process(w.value().handle);
    CAP_REQUIRE(e.ok());
    CAP_CHECK(e.value().code == 0 && e.value().reason == 0);
}

CAP_TEST(corrupt_ring_indices) {
    cap::Ring& r = this_ring();
    auto* h = reinterpret_cast<abi::RingHeader*>(abi::user_ring_addr(0));
    // sq_tail far ahead of sq_head: bad_ring, nothing consumed.
    const uint32_t saved_tail = h->sq_tail;
    const uint32_t head = __atomic_load_n(&h->sq_head, __ATOMIC_ACQUIRE);
    __atomic_store_n(&h->sq_tail, head + 100000, __ATOMIC_RELEASE);
    CAP_CHECK(abi::cap_enter(0, 0) == static_cast<int64_t>(abi::Status::bad_ring));
    CAP_CHECK((h->flags & abi::kRingFlagCorrupt) != 0);
    __atomic_store_n(&h->sq_tail, saved_tail, __ATOMIC_RELEASE);
    // cq_head ahead of cq_tail: ignored by the kernel.
    const uint32_t saved_head = h->cq_head;
    __atomic_store_n(&h->cq_head, h->cq_tail + 50, __ATOMIC_RELEASE);
    CAP_CHECK(abi::cap_enter(0, 0) >= 0);
    __atomic_store_n(&h->cq_head, saved_head, __ATOMIC_RELEASE);
    // Scribbles on kernel-written fields are overwritten, the ring still works.
    h->sq_head = 12345;
    h->cq_tail = 999;
    CAP_CHECK(abi::cap_enter(0, 0) >= 0);
    CAP_CHECK(cap::ring_nop(r).ok());
    // An unknown system call number and an oversized min_complete.
    int64_t ret;
    asm volatile("syscall"
                 : "=a"(ret)
                 : "a"(uint64_t{77}), "D"(uint64_t{0}), "S"(uint64_t{0})
                 : "rcx", "r11", "memory");
    CAP_CHECK(ret == static_cast<int64_t>(abi::Status::invalid_argument));
    CAP_CHECK(abi::cap_enter(0xffffffffu, 0) == static_cast<int64_t>(abi::Status::invalid_argument));
}

// ---- races between two threads of one process (regressions) ------------------

namespace {

constexpr uint64_t kRacePages = 8;
constexpr uint64_t kRaceBytes = kRacePages * 4096;
constexpr uint32_t kRaceRounds = 3000;
uint64_t g_race_va = 0;
abi::CapHandle g_race_mo = abi::kNullCap;
uint32_t g_race_stop = 0;
uint32_t g_unmap_ok = 0, g_unmap_busy = 0;

int64_t unmapper(void*) {
    cap::Ring& r = this_ring();
    while (__atomic_load_n(&g_race_stop, __ATOMIC_ACQUIRE) == 0) {
        auto u = cap::process_unmap(r, cap::start_info().process(), g_race_va, kRaceBytes);
        if (u.ok()) ++g_unmap_ok;
        else if (u.status() == abi::Status::busy) ++g_unmap_busy;
        else return 10;  // nothing else is a right answer for a whole, aligned range
    }
    return 0;
}

}  // namespace

// Process.unmap racing Process.map of the same range: the unmap must see a
// map that is still installing as busy, never drop its half-built entry. The
// old kernel dropped a reference not yet taken and left the PTEs unrecorded,
// so a later map of the range failed and teardown double-freed frames.
CAP_TEST(map_races_unmap) {
    cap::Ring& r = this_ring();
    auto mo = cap::process_allocate(r, cap::start_info().process(), kRaceBytes);
    CAP_REQUIRE(mo.ok());
    g_race_mo = mo.value();
    g_race_va = cap::reserve_va(kRaceBytes);
    CAP_REQUIRE(g_race_va != 0);
    g_race_stop = 0;
    auto t = cap::Thread::spawn(unmapper, nullptr, 64 * 1024);
    CAP_REQUIRE(t.ok());
    uint32_t mapped = 0, refused = 0;
    for (uint32_t i = 0; i < kRaceRounds; ++i) {
        auto m = cap::process_map(r, cap::start_info().process(), g_race_mo, g_race_va, 0, kRaceBytes, true, false);
        if (m.ok()) ++mapped;
        else ++refused;  // still mapped: the unmapper has not caught up
    }
    __atomic_store_n(&g_race_stop, 1, __ATOMIC_RELEASE);
    auto j = t.value().join();
    CAP_CHECK(j.ok() && j.value() == 0);
    // Whatever interleaving happened, the range is now either mapped and
    // recorded or empty: one unmap empties it, and then a map must succeed.
    (void)cap::process_unmap(r, cap::start_info().process(), g_race_va, kRaceBytes);
    auto again = cap::process_map(r, cap::start_info().process(), g_race_mo, g_race_va, 0, kRaceBytes, true, false);
    CAP_CHECK(again.ok());
    if (again.ok()) {
        auto* p = reinterpret_cast<volatile uint64_t*>(g_race_va);
        for (uint64_t k = 0; k < kRacePages; ++k) p[k * 512] = 0x5a5a0000 + k;
        bool same = true;
        for (uint64_t k = 0; k < kRacePages; ++k) same = same && p[k * 512] == 0x5a5a0000 + k;
        CAP_CHECK(same);
        CAP_CHECK(cap::process_unmap(r, cap::start_info().process(), g_race_va, kRaceBytes).ok());
    }
    cap::print("[utest-hostile] map/unmap race: %u maps, %u refused, %u unmaps, %u busy\n", mapped, refused, g_unmap_ok,
               g_unmap_busy);
    abi::CapHandle d[1] = {g_race_mo};
    CAP_CHECK(cap::drop_caps(d, 1).ok());
}

namespace {

constexpr uint32_t kFillMax = 400;
abi::CapHandle g_fill[kFillMax];
uint32_t g_filled = 0;
uint32_t g_fill_stop = 0;
uint32_t g_child_ran = 0;

int64_t counted_child(void*) {
    __atomic_fetch_add(&g_child_ran, 1, __ATOMIC_ACQ_REL);
    return 7;
}

// Keeps the caller's table at zero or one free slot: fills it with one-page
// MemoryObjects, then frees one, again and again.
int64_t slot_filler(void*) {
    cap::Ring& r = this_ring();
    while (__atomic_load_n(&g_fill_stop, __ATOMIC_ACQUIRE) == 0) {
        auto m = cap::process_allocate(r, cap::start_info().process(), 4096);
        if (m.ok()) {
            if (g_filled == kFillMax) return 11;
            g_fill[g_filled++] = m.value();
            continue;
        }
        if (m.status() != abi::Status::quota_exceeded) return 12;
        if (g_filled > 0) (void)cap::drop_caps(&g_fill[--g_filled], 1);
    }
    return 0;
}

}  // namespace

// Process.createThread while another thread takes the last capability slot:
// a spawn may fail with quota_exceeded, but a thread whose handle could not
// be returned must never have run (the old kernel started it first; libcap
// then unmapped its stack and the orphan's fault killed the process).
CAP_TEST(create_thread_races_slot_quota) {
    g_filled = 0;
    g_fill_stop = 0;
    g_child_ran = 0;
    auto f = cap::Thread::spawn(slot_filler, nullptr, 64 * 1024);
    CAP_REQUIRE(f.ok());
    uint32_t spawned = 0, refused = 0;
    for (uint32_t i = 0; i < 300; ++i) {
        auto t = cap::Thread::spawn(counted_child, nullptr, 16 * 1024);
        if (!t.ok()) {
            ++refused;
            continue;
        }
        ++spawned;
        auto j = t.value().join();
        CAP_CHECK(j.ok() && j.value() == 7);
    }
    __atomic_store_n(&g_fill_stop, 1, __ATOMIC_RELEASE);
    auto jf = f.value().join();
    CAP_CHECK(jf.ok() && jf.value() == 0);
    while (g_filled > 0) (void)cap::drop_caps(&g_fill[--g_filled], 1);
    cap::print("[utest-hostile] createThread vs slot quota: %u spawned, %u refused, %u ran\n", spawned, refused,
               __atomic_load_n(&g_child_ran, __ATOMIC_ACQUIRE));
    CAP_CHECK(__atomic_load_n(&g_child_ran, __ATOMIC_ACQUIRE) == spawned);
}

namespace {

uint32_t g_exit_refused = 0;  // the status exitThread answered, if it answered at all
uint32_t g_exit_tried = 0;

// Fills this thread's outstanding-call quota with sleeps that never end, then ends itself. If the kernel
// refuses the exit (the old kernel counted it against the full quota) it spins: libcap would otherwise retry
// the exit, fail again and trap, taking the whole test process with it.
int64_t full_quota_then_exit(void*) {
    cap::Ring& r = this_ring();
    alignas(8) static uint8_t msg[64];
    const uint64_t forever = ~uint64_t{0};
    const uint32_t len = guest::words_msg(msg, sizeof msg, &forever, 1);
    for (uint32_t i = 0; i < 80; ++i) {
        abi::Sqe* s = r.reserve();
        if (s == nullptr) break;
        s->user_tag = 100 + i;
        s->cap = cap::start_info().timer();
        s->interface_id = guest::kTimer;
        s->method = 1;  // sleep
        s->params_addr = reinterpret_cast<uint64_t>(msg);
        s->params_len = len;
    }
    r.publish();
    (void)r.enter(0, 0);
    abi::Cqe c;
    while (r.pop(c)) {}
    abi::Sqe* s = r.reserve();
    if (s == nullptr) return 1;
    alignas(8) static uint8_t emsg[64];
    const uint64_t code = 3;
    s->user_tag = 1;
    s->cap = cap::start_info().process();
    s->interface_id = guest::kProcess;
    s->method = 6;  // exitThread
    s->params_addr = reinterpret_cast<uint64_t>(emsg);
    s->params_len = guest::words_msg(emsg, sizeof emsg, &code, 1);
    r.publish();
    __atomic_store_n(&g_exit_tried, 1u, __ATOMIC_RELEASE);
    (void)r.enter(1, 1'000'000'000);
    while (r.pop(c))
        if (c.user_tag == 1) __atomic_store_n(&g_exit_refused, static_cast<uint32_t>(-c.status), __ATOMIC_RELEASE);
    for (;;) asm volatile("pause");
}

}  // namespace

// A thread whose every call is pending (its outstanding-call quota used up) can still end itself: found by
// utest=fuzz (seed 1, -smp 2): the old kernel answered Process.exitThread with quota_exceeded, libcap's thread
// exit trapped on it and the whole process died with #UD.
CAP_TEST(exit_thread_with_full_outstanding_quota) {
    g_exit_refused = 0;
    g_exit_tried = 0;
    // The previous case's threads may still be on their way out (they count against the thread quota).
    auto t = cap::Thread::spawn(full_quota_then_exit, nullptr, 32 * 1024);
    for (int i = 0; i < 100 && !t.ok(); ++i) {
        (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 2'000'000);
        t = cap::Thread::spawn(full_quota_then_exit, nullptr, 32 * 1024);
    }
    if (!t.ok()) cap::print("[utest-hostile] spawn: %s\n", abi::status_name(t.status()));
    CAP_REQUIRE(t.ok());
    for (int i = 0; i < 2000 && __atomic_load_n(&g_exit_refused, __ATOMIC_ACQUIRE) == 0; ++i) {
        (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 1'000'000);
        if (__atomic_load_n(&g_exit_tried, __ATOMIC_ACQUIRE) != 0 && i > 200) break;
    }
    cap::print("[utest-hostile] exitThread at full quota: refused with status -%u\n",
               __atomic_load_n(&g_exit_refused, __ATOMIC_ACQUIRE));
    CAP_REQUIRE(__atomic_load_n(&g_exit_refused, __ATOMIC_ACQUIRE) == 0);
    auto j = t.value().join();
    CAP_CHECK(j.ok() && j.value() == 3);
}

namespace {
int64_t ends_at_once(void*) { return 4; }
}  // namespace

// Thread.setCpuHint and setWeight on a thread that has ended (its handle kept): found by utest=fuzz (seed 2,
// -smp 4): the reaper had freed the kernel Thread and setCpuHint wrote the new CPU mask into the freed memory
// (by then an endpoint's queued call: the next endpoint call faulted in the kernel). Now peer_dead.
CAP_TEST(thread_methods_after_the_thread_ended) {
    auto t = cap::Thread::spawn(ends_at_once, nullptr, 16 * 1024);
    for (int i = 0; i < 100 && !t.ok(); ++i) {
        (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 2'000'000);
        t = cap::Thread::spawn(ends_at_once, nullptr, 16 * 1024);
    }
    CAP_REQUIRE(t.ok());
    const abi::CapHandle h = t.value().handle();
    // Joined through the raw call, so the handle stays; then give the reaper time to free the kernel thread.
    auto j = cap::thread_join(this_ring(), h);
    CAP_REQUIRE(j.ok() && j.value().exit_code == 4);
    (void)cap::timer_sleep(this_ring(), cap::start_info().timer(), 20'000'000);
    alignas(8) uint8_t msg[64];
    uint32_t refused = 0;
    for (uint64_t k = 0; k < 64; ++k) {
        const uint16_t method = k % 4 == 0 ? 2 : 3;  // setWeight, setCpuHint
        const uint64_t w = method == 2 ? 100 : 0;    // a valid weight, CPU 0
        const uint32_t len = guest::words_msg(msg, sizeof msg, &w, 1);
        guest::Raw r = guest::raw_call(h, guest::kThread, method, msg, len);
        if (r.cqe.status == static_cast<int32_t>(abi::Status::peer_dead)) ++refused;
    }
    cap::print("[utest-hostile] setCpuHint/setWeight on an ended thread: %u of 64 refused with peer_dead\n", refused);
    CAP_CHECK(refused == 64);
    auto jj = t.value().join();
    CAP_CHECK(jj.ok() && jj.value() == 4);
}

CAP_TEST_MAIN("hostile")
