// coordinator_defaults.cpp - the built-in arguments of one coordinator module variant (BENCH_DEFAULT_ARGS, set by meson).
#ifndef BENCH_DEFAULT_ARGS
#define BENCH_DEFAULT_ARGS ""
#endif

extern const char kBenchDefaultArgs[];
const char kBenchDefaultArgs[] = BENCH_DEFAULT_ARGS;
