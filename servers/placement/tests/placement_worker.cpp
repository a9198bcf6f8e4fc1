// placement_worker.cpp: workload for the placement QEMU tests (boot module placement-worker).
//
//   [weight=W] [start=NS] until=NS   CPU-bound until time NS; exit code = work units done
//   primes=1 threads=K sleep_ms=S    count primes below 300000 in K threads, each
//                                    sleeping S ms between chunks (so it blocks and
//                                    wakes: placement events); exit 0 iff the count is 25997
// Arguments are libcap's module arguments (cap::arg_u64); other words such
// as mode=spin are ignored.
#include "libcap/args.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "libcap/thread.h"
#include "libcap/thread_client.h"

namespace {

constexpr uint64_t kPrimeLimit = 300000;
constexpr uint64_t kPrimeCount = 25997;  // primes below 300000

bool is_prime(uint64_t n) {
    if (n < 2) return false;
    for (uint64_t d = 2; d * d <= n; ++d)
        if (n % d == 0) return false;
    return true;
}

struct Slice {
    uint64_t from, to, sleep_ns;
};
Slice g_slices[8];

int64_t count_slice(void* p) {
    const Slice& s = *static_cast<const Slice*>(p);
    uint64_t n = 0;
    constexpr uint64_t kChunk = 2000;
    for (uint64_t lo = s.from; lo < s.to; lo += kChunk) {
        for (uint64_t x = lo; x < lo + kChunk && x < s.to; ++x) n += is_prime(x) ? 1 : 0;
        if (s.sleep_ns != 0) (void)cap::timer_sleep(cap::this_ring(), cap::start_info().timer(), s.sleep_ns);
    }
    return static_cast<int64_t>(n);
}

void set_weight(cap::StartInfo& info, uint32_t w) {
    (void)cap::thread_set_weight(info.cap(capos::abi::StartCap::thread), w);
}

}  // namespace

int main(cap::StartInfo& info) {
    const char* args = info.args();
    uint64_t weight = cap::arg_u64(args, "weight", 0);
    if (weight != 0) set_weight(info, static_cast<uint32_t>(weight));
    if (cap::arg_u64(args, "primes", 0) != 0) {
        uint64_t k = cap::arg_u64(args, "threads", 2);
        if (k == 0 || k > 8) k = 2;
        uint64_t sleep_ns = cap::arg_u64(args, "sleep_ms", 1) * 1'000'000;
        cap::Thread th[8];
        bool started[8] = {};
        for (uint64_t i = 0; i < k; ++i) {
            g_slices[i] = Slice{kPrimeLimit * i / k, kPrimeLimit * (i + 1) / k, sleep_ns};
            auto t = cap::Thread::spawn(count_slice, &g_slices[i], 32 * 1024);
            if (!t.ok()) return 2;
            th[i] = static_cast<cap::Thread&&>(t.value());
            started[i] = true;
        }
        uint64_t total = 0;
        for (uint64_t i = 0; i < k; ++i) {
            if (!started[i]) continue;
            auto r = th[i].join();
            if (!r.ok()) return 3;
            total += static_cast<uint64_t>(r.value());
        }
        cap::print("[pworker] primes=%llu %s\n", static_cast<unsigned long long>(total),
                   total == kPrimeCount ? "verified" : "WRONG");
        return total == kPrimeCount ? 0 : 1;
    }
    // spin: work units from the shared start time to the shared end time.
    // The sleep also makes the thread block and wake once with its new weight,
    // so the placement server sees the weight in a runnable event.
    uint64_t start = cap::arg_u64(args, "start", 0);
    uint64_t until = cap::arg_u64(args, "until", 0);
    auto t0 = cap::timer_now(cap::this_ring(), info.timer());
    if (t0.ok() && start > t0.value()) (void)cap::timer_sleep(cap::this_ring(), info.timer(), start - t0.value());
    else if (t0.ok() && start != 0)
        cap::print("[pworker] started %llu us late\n", static_cast<unsigned long long>((t0.value() - start) / 1000));
    uint64_t units = 0;
    volatile uint64_t sink = 0;
    for (;;) {
        for (int i = 0; i < 20000; ++i) sink = sink * 6364136223846793005ull + 1442695040888963407ull;
        ++units;
        if ((units & 15) == 0) {
            auto t = cap::timer_now(cap::this_ring(), info.timer());
            if (!t.ok() || t.value() >= until) break;
        }
    }
    return static_cast<int>(units);
}
