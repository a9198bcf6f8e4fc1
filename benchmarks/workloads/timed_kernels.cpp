// benchmarks/workloads/timed_kernels.cpp — the one compiled copy of the timed loops, shared by capOS and Linux.
//
// The benchmark compares two operating systems, so the instructions inside
// the timed section must not differ between them. Inlined into each program,
// the loops were compiled twice with different flags (capOS user space keeps
// frame pointers and links with LTO; the static Linux programs do neither)
// and came out as different machine code: under TCG, where each guest
// instruction's translation has its own cost, that is a difference in the
// measurement that neither kernel causes. This file is compiled once, with
// one fixed flag set (benchmarks/meson.build, bench_timed_args), into one
// static library that both the capOS modules and the Linux programs link;
// test workloads_same_machine_code compares the function bytes in the final
// binaries. The headers' BENCH_ONE_COPY switch routes run-time calls here;
// this file itself is built without it and so instantiates the header code.
#if defined(BENCH_ONE_COPY)
#error "timed_kernels.cpp must be compiled without BENCH_ONE_COPY"
#endif
#include "blockhash.h"
#include "primes.h"

// clang has no noipa; there noinline alone keeps the function whole, and
// the machine-code comparison is between two builds of the same compiler.
#if defined(__clang__)
#define BENCH_NOIPA
#else
#define BENCH_NOIPA noipa,
#endif

namespace bench {

BlockPartial block_hash_range_compiled(uint32_t first, uint32_t last, uint32_t rounds);
PrimeResult prime_count_range_compiled(uint32_t lo, uint32_t hi);

// flatten: everything the loop calls is inlined here, so the function holds
// the whole loop (the header's inline functions are also emitted by every
// other file that uses them, compiled with that file's flags, and the linker
// keeps any one of those copies: a call out of here could land in one).
// noinline/noipa: each stays one self-contained function whose bytes the
// test can find and compare, and callers cannot specialise it. aligned(4096):
// each starts a page in every binary, so every instruction sits at the same
// page offset on both systems (TCG chains translated blocks only within a
// guest page, so a loop that straddles a page runs slower there).
__attribute__((flatten, noinline, BENCH_NOIPA aligned(4096))) BlockPartial block_hash_range_compiled(uint32_t first,
                                                                                                     uint32_t last,
                                                                                                     uint32_t rounds) {
    return block_hash_range(first, last, rounds);
}

__attribute__((flatten, noinline, BENCH_NOIPA aligned(4096))) PrimeResult prime_count_range_compiled(uint32_t lo,
                                                                                                     uint32_t hi) {
    return prime_count_range(lo, hi);
}

}  // namespace bench
