// kstats.cpp - kstats_take / kstats_print_delta over libcap's KernelStats client.
#include "kstats.h"

#include "libcap/print.h"
#include "libcap/runtime.h"

namespace benchcap {

namespace {
// One transport for the process (its 8 KiB of buffers stay off the stack);
// bound to the ring of the thread that first calls.
cap::RingTransport& transport() {
    static cap::RingTransport t(cap::this_ring());
    return t;
}

kstats::Delta g_delta;  // 12 KiB: static, like the transport
}  // namespace

bool kstats_take(kstats::Snapshot& out) {
    const cap::CapHandle h = cap::start_info().named("kstats");
    if (h == cap::kNullCap) return false;
    auto r = cap::kernel_stats_read(transport(), h, out);
    if (!r.ok()) {
        cap::print("[kstats] error: KernelStats.read failed: %s\n", capos::abi::status_name(r.status()));
        return false;
    }
    return true;
}

void kstats_print_delta(const char* scope, const kstats::Snapshot& a, const kstats::Snapshot& b) {
    kstats::delta(a, b, g_delta);
    char line[cap::kPrintBuffer];
    for (uint32_t i = 0; i < g_delta.ncpus; ++i) {
        (void)kstats::format_cpu_line(line, sizeof line, scope, static_cast<int>(g_delta.cpus[i].cpu), g_delta.cpus[i]);
        cap::print("%s\n", line);
    }
    (void)kstats::format_cpu_line(line, sizeof line, scope, -1, g_delta.all);
    cap::print("%s\n", line);
    for (uint32_t i = 0; i < g_delta.nlocks; ++i) {
        (void)kstats::format_lock_line(line, sizeof line, scope, g_delta.locks[i]);
        cap::print("%s\n", line);
    }
}

}  // namespace benchcap
