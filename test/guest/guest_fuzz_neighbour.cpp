// guest_fuzz_neighbour.cpp - helper of utest-fuzz: an honest process beside the fuzzers. It keeps a heartbeat in
// the shared MemoryObject, fills private memory (a MemoryObject and its own data segment) with a seeded pattern
// and re-verifies its checksum while the fuzzers run, and a second thread does ring and timer calls whose answers
// it checks. Nothing the fuzzers do may stop the beat, change a byte or break an answer.
#include "fuzz_shared.h"
#include "guest.h"
#include "libcap/args.h"
#include "libcap/calls.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"

namespace {

constexpr uint64_t kPrivateBytes = 16 * 4096;
alignas(4096) uint8_t g_data[4 * 4096];
uint8_t* g_private = nullptr;
fuzz::Shared* g_shared = nullptr;
uint32_t g_stop_helper = 0;

uint64_t checksum() {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < kPrivateBytes; i += 8)
        h = (h ^ *reinterpret_cast<volatile uint64_t*>(g_private + i)) * 0x100000001b3ull;
    for (uint64_t i = 0; i < sizeof g_data; i += 8)
        h = (h ^ *reinterpret_cast<volatile uint64_t*>(g_data + i)) * 0x100000001b3ull;
    return h;
}

void harmed() { __atomic_store_n(&g_shared->neighbour.intact, 0u, __ATOMIC_RELEASE); }

// Honest kernel traffic: every NOP must succeed and time must never go back.
int64_t helper(void*) {
    cap::Ring& r = cap::this_ring();
    uint64_t last = 0;
    while (__atomic_load_n(&g_stop_helper, __ATOMIC_ACQUIRE) == 0) {
        for (int i = 0; i < 16; ++i)
            if (!cap::ring_nop(r).ok()) harmed();
        auto t = cap::timer_now(r, cap::start_info().timer());
        if (!t.ok() || t.value() < last) harmed();
        else last = t.value();
        (void)cap::timer_sleep(r, cap::start_info().timer(), 500'000);
    }
    return 0;
}

}  // namespace

int main(cap::StartInfo& info) {
    cap::Ring& r = cap::this_ring();
    const uint64_t seed = cap::arg_u64(info.args(), "seed", 1);
    const cap::CapHandle shared = info.named("shared");
    if (shared == cap::kNullCap) return 20;
    const uint64_t sva = cap::reserve_va(fuzz::kSharedBytes);
    if (!cap::process_map(r, info.process(), shared, sva, 0, fuzz::kSharedBytes, true, false).ok()) return 21;
    g_shared = reinterpret_cast<fuzz::Shared*>(sva);
    auto mo = cap::process_allocate(r, info.process(), kPrivateBytes);
    if (!mo.ok()) return 22;
    const uint64_t pva = cap::reserve_va(kPrivateBytes);
    if (!cap::process_map(r, info.process(), mo.value(), pva, 0, kPrivateBytes, true, false).ok()) return 23;
    g_private = reinterpret_cast<uint8_t*>(pva);
    fuzz::Rng rng(seed ^ 0x6e6569676862ull);
    for (uint64_t i = 0; i < kPrivateBytes; i += 8) *reinterpret_cast<uint64_t*>(g_private + i) = rng.next();
    for (uint64_t i = 0; i < sizeof g_data; i += 8) *reinterpret_cast<uint64_t*>(g_data + i) = rng.next();
    fuzz::Neighbour& n = g_shared->neighbour;
    n.checksum = checksum();
    __atomic_store_n(&n.intact, 1u, __ATOMIC_RELEASE);
    auto t = cap::Thread::spawn(helper, nullptr, 32 * 1024);
    if (!t.ok()) return 24;
    while (__atomic_load_n(&n.stop, __ATOMIC_ACQUIRE) == 0) {
        (void)cap::timer_sleep(r, info.timer(), 1'000'000);
        const uint64_t b = __atomic_add_fetch(&n.beats, 1, __ATOMIC_ACQ_REL);
        if (b % 16 == 0) {
            if (checksum() != n.checksum) harmed();
            __atomic_add_fetch(&n.checks, 1, __ATOMIC_ACQ_REL);
        }
    }
    __atomic_store_n(&g_stop_helper, 1u, __ATOMIC_RELEASE);
    auto j = t.value().join();
    if (!j.ok() || j.value() != 0) harmed();
    const bool ok = checksum() == n.checksum && __atomic_load_n(&n.intact, __ATOMIC_ACQUIRE) == 1;
    __atomic_store_n(&n.final_ok, ok ? 1u : 0u, __ATOMIC_RELEASE);
    return ok ? 0 : 1;
}
