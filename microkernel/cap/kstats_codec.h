// kstats_codec.h: the KernelStats.read messages (schema/scheduler.capnp),
// encoded and decoded with the bindings generated from the schema.
//
// Pure: the kernel (object/kernel_stats.cpp) samples the counters into the
// plain structs below and calls these; the host tests check the bytes
// against the official Cap'n Proto library (test/unit/cap/kstats_test.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu_stats.h"
#include "cpu/spinlock.h"
#include "lib/result.h"

namespace kern::kstats {

// One CPU's counters as sampled (racy copy of PerCpu::counters plus ticks).
struct CpuSample {
    uint32_t cpu = 0;
    uint64_t ticks = 0;
    CpuCounters c;
};

// One watched lock's statistics as sampled.
struct LockSample {
    const char* name = nullptr;
    LockStats s;
};

// CPUs per read result: 16 CpuCounters (22 words each) and the lock list
// stay under 4 KiB, the result buffer of libcap's RingTransport (and half
// the kernel's kMaxResult).
inline constexpr uint32_t kMaxCpusPerRead = 16;

// KernelStats.read params: firstCpu. Errors: malformed (does not parse).
[[nodiscard]] Result<uint32_t> decode_read_params(const void* msg, size_t len);

// Writes the read results (framed, one segment) to out[0..out_cap), using
// scratch[0..scratch_cap) to build it. Returns the framed size, or 0 if it
// does not fit either buffer.
uint32_t encode_read_results(void* out, size_t out_cap, void* scratch, size_t scratch_cap, uint32_t cpu_count,
                             uint64_t tsc_hz, const CpuSample* cpus, uint32_t ncpus, const LockSample* locks,
                             uint32_t nlocks);

}  // namespace kern::kstats
