// guest_child.cpp - helper for utest-exit and utest-quota: behaves as its argument says.
//   hog    allocate/map memory, start threads that park forever, exit 7
//   fault  dereference an unmapped address
//   block  park forever (to be killed)
//   quota  hit every quota of its (small) limits; exit code = bitmask of those seen
#include "capos/abi/ring.h"
#include "guest.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"

namespace abi = capos::abi;
using cap::this_ring;

namespace {
uint32_t g_forever = 0;

// Entry of raw threads (not libcap threads: no ring binding): spin.
[[noreturn]] void spin_entry() {
    for (;;) asm volatile("pause");
}

int64_t parker(void*) {
    for (;;) (void)cap::park_wait(this_ring(), cap::start_info().park(), &g_forever, 0, 0);
}

bool is(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) ++a, ++b;
    return *a == *b;
}

int quota_mode(cap::StartInfo& info) {
    int seen = 0;
    const auto proc = info.process();
    // frames: far more than the quota at once.
    {
        alignas(8) uint8_t p[32];
        const uint64_t bytes = 64ull << 20;
        const uint32_t n = guest::words_msg(p, sizeof p, &bytes, 1);
        guest::CapHandle caps[1] = {};
        guest::Raw r = guest::raw_call(proc, guest::kProcess, 3, p, n, nullptr, 0, caps, 0, 1);
        if (r.cqe.status == static_cast<int32_t>(abi::Status::quota_exceeded) &&
            r.cqe.detail == static_cast<uint32_t>(abi::QuotaKind::frames))
            seen |= 1;
    }
    // threads: the quota is 3 (main + 2).
    {
        int made = 0;
        for (; made < 4; ++made) {
            alignas(8) uint8_t p[64];
            // Raw createThread with a valid entry and stack so the failure is the quota.
            static uint8_t stacks[4][16384] __attribute__((aligned(16)));
            const uint64_t w[3] = {reinterpret_cast<uint64_t>(&spin_entry),
                                   reinterpret_cast<uint64_t>(stacks[made] + 16384), 0};
            const uint32_t n = guest::words_msg(p, sizeof p, w, 3);
            guest::CapHandle caps[1] = {};
            guest::Raw r = guest::raw_call(proc, guest::kProcess, 0, p, n, nullptr, 0, caps, 0, 1);
            if (r.cqe.status != 0) {
                if (r.cqe.status == static_cast<int32_t>(abi::Status::quota_exceeded) &&
                    r.cqe.detail == static_cast<uint32_t>(abi::QuotaKind::threads))
                    seen |= 2;
                break;
            }
        }
        if (made != 2) seen &= ~2;
    }
    // outstanding calls: 20 park waits submitted at once, quota 8.
    {
        static uint32_t word = 0;
        alignas(8) static uint8_t p[64];
        cap::ParamMsg m;
        (void)cap::encode_park_wait(m, reinterpret_cast<uint64_t>(&word), 0, 100'000'000ull);
        __builtin_memcpy(p, m.bytes, m.len);
        cap::Ring& r = this_ring();
        for (uint32_t i = 0; i < 20; ++i) {
            abi::Sqe* s = r.reserve();
            if (s == nullptr) break;
            s->user_tag = 500 + i;
            s->interface_id = guest::kPark;
            s->cap = info.park();
            s->method = 0;
            s->params_addr = reinterpret_cast<uint64_t>(p);
            s->params_len = m.len;
        }
        r.publish();
        (void)r.enter(0, 0);
        uint32_t quota_hits = 0, got = 0;
        abi::Cqe c;
        // The refused ones complete at once.
        (void)r.enter(12, 100'000'000);
        while (r.pop(c)) {
            ++got;
            if (c.status == static_cast<int32_t>(abi::Status::quota_exceeded) &&
                c.detail == static_cast<uint32_t>(abi::QuotaKind::outstanding_calls))
                ++quota_hits;
        }
        // The admitted ones time out after 100 ms (a wake from this thread would
        // itself be refused: the quota counts every call in flight).
        for (int k = 0; k < 100 && got < 20; ++k) {
            (void)r.enter(1, 50'000'000);
            while (r.pop(c)) {
                if (c.user_tag >= 500 && c.user_tag < 520) ++got;
            }
        }
        if (quota_hits >= 1 && got == 20) seen |= 4;
        cap::print("[guest-child] outstanding: %u refused, %u of 20 completed\n", quota_hits, got);
    }
    // capability slots: quota 16.
    {
        bool hit = false;
        for (int i = 0; i < 40 && !hit; ++i) {
            alignas(8) uint8_t p[32];
            const uint64_t bytes = 4096;
            const uint32_t n = guest::words_msg(p, sizeof p, &bytes, 1);
            guest::CapHandle caps[1] = {};
            guest::Raw r = guest::raw_call(proc, guest::kProcess, 3, p, n, nullptr, 0, caps, 0, 1);
            if (r.cqe.status == static_cast<int32_t>(abi::Status::quota_exceeded) &&
                r.cqe.detail == static_cast<uint32_t>(abi::QuotaKind::cap_slots))
                hit = true;
        }
        if (hit) seen |= 8;
    }
    cap::print("[guest-child] quota mask %d\n", seen);
    return seen;
}

}  // namespace

int main(cap::StartInfo& info) {
    const char* mode = info.args();
    if (is(mode, "hog")) {
        for (int i = 0; i < 4; ++i) {
            auto mo = cap::process_allocate(this_ring(), info.process(), 256 * 1024);
            if (!mo.ok()) return 100;
            const uint64_t va = cap::reserve_va(256 * 1024);
            if (!cap::process_map(this_ring(), info.process(), mo.value(), va, 0, 256 * 1024, true, false).ok())
                return 101;
            auto* p = reinterpret_cast<volatile uint64_t*>(va);
            for (int k = 0; k < 256 * 1024 / 8; k += 512) p[k] = k;
        }
        for (int i = 0; i < 3; ++i) {
            auto t = cap::Thread::spawn(parker, nullptr, 32 * 1024);
            if (!t.ok()) return 102;
        }
        auto ep = guest::create_endpoint();
        if (!ep.ok()) return 103;
        return 7;  // exits with threads still parked: Process.exit ends them
    }
    if (is(mode, "fault")) {
        volatile uint64_t addr = 0x10;  // unmapped (the null guard)
        *reinterpret_cast<volatile uint64_t*>(addr) = 1;
        return 1;
    }
    if (is(mode, "block")) {
        for (;;) (void)cap::park_wait(this_ring(), info.park(), &g_forever, 0, 0);
    }
    if (is(mode, "quota")) return quota_mode(info);
    return 99;
}
