// benchmarks/workloads/freestanding_check.cpp — compiles every workload header with the capOS user flags.
//
// Built as a static library with user_cpp_args (-ffreestanding, no
// exceptions/RTTI, -mcmodel=small); the functions below force code
// generation so a libc call or a float sneaking into a header breaks the build
// (and `nm -u` on the object, run as a unit test, must list nothing but the
// compiler's memset/memcpy).
#include "blockhash.h"
#include "cycles.h"
#include "primes.h"
#include "result_line.h"

extern "C" {

bench::PrimeResult capos_bench_check_primes(uint32_t k, uint32_t i) {
    const bench::PrimeSegment s = bench::prime_default_segment(k, i);
    return bench::prime_count_range(s.lo, s.hi);
}

uint64_t capos_bench_check_blocks(uint32_t k, uint32_t t) {
    const bench::BlockSpan s = bench::blockhash_span(bench::kBlocks, k, t);
    return bench::block_root(bench::block_hash_range(s.first, s.last));
}

uint64_t capos_bench_check_cycles() { return bench::cycles_now(); }

size_t capos_bench_check_lines(char* buf, size_t cap) {
    const size_t a = bench::format_process_line(buf, cap, bench::ProcessScaleLine{1, 1, 2, 3, 1, 2, 3, 4, true});
    const size_t b = bench::format_thread_line(buf, cap, bench::ThreadScaleLine{1, 1, 1, 64, 1, 1, 1, 1, 3, true});
    return a + b + bench::format_env_line(buf, cap, "capos", 1, 0);
}

}  // extern "C"
