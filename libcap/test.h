// test.h - a tiny in-guest test framework: CAP_TEST cases, CAP_CHECK, one parseable line per case.
//
//   CAP_TEST(ring_nop) { CAP_CHECK(cap::ring_nop(cap::this_ring()).ok()); }
//   CAP_TEST_MAIN("libcap")   // defines main(): runs every case, exits 0 iff all passed
//
// Output (through cap::print, so to the Console in the guest):
//   [utest] <suite>.<name> PASS
//   [utest] <suite>.<name> FAIL: <file>:<line> <expr>      (the first failed check)
//   [utest] <suite> <N> passed, <M> failed
// CAP_CHECK records a failure and continues (later checks still run, only
// the first is reported); CAP_REQUIRE also ends the case. Cases run in
// registration (link) order, one after another on the main thread.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libcap/runtime.h"

namespace cap::test {

struct Context {
    const char* fail_file = nullptr;
    int fail_line = 0;
    const char* fail_expr = nullptr;
    uint32_t checks = 0;
    uint32_t failures = 0;

    void check(bool ok, const char* file, int line, const char* expr) {
        checks++;
        if (ok) return;
        if (failures++ == 0) {
            fail_file = file;
            fail_line = line;
            fail_expr = expr;
        }
    }
};

using CaseFn = void (*)(Context&);

struct Case {
    const char* name;
    CaseFn fn;
    Case* next;
};

// Adds `c` to the registry (static-constructor time); returns true.
bool register_case(Case* c);

struct Summary {
    uint32_t passed = 0;
    uint32_t failed = 0;
};

// Runs every registered case, printing the lines above. `filter`, if not
// null or empty, runs only the case of that name; when no case has that
// name it prints "[utest] <suite>: no case named '<filter>'" and counts one
// failure.
Summary run_all(const char* suite, const char* filter = nullptr);

// The case filter in a command line: the value of a `ucase=<name>` word
// (the kernel option ucase=, passed on to the utest program), else of a
// `utest=<name>` word, copied into buf (NUL-terminated); "" when there is
// none. A utest= value that does not fit gives ""; a ucase= value is cut
// (and then names no case).
const char* filter_from_args(const char* args, char* buf, size_t cap);

// For tests of the framework itself: forget every registered case.
void reset_registry();

}  // namespace cap::test

#define CAP_TEST(name)                                                                                          \
    static void cap_test_fn_##name(::cap::test::Context& cap_test_ctx_);                                        \
    static ::cap::test::Case cap_test_case_##name{#name, &cap_test_fn_##name, nullptr};                         \
    [[maybe_unused]] static const bool cap_test_reg_##name = ::cap::test::register_case(&cap_test_case_##name); \
    static void cap_test_fn_##name([[maybe_unused]] ::cap::test::Context& cap_test_ctx_)

#define CAP_CHECK(cond) cap_test_ctx_.check(static_cast<bool>(cond), __FILE__, __LINE__, #cond)

#define CAP_REQUIRE(cond)                                            \
    do {                                                             \
        const bool cap_req_ok_ = static_cast<bool>(cond);            \
        cap_test_ctx_.check(cap_req_ok_, __FILE__, __LINE__, #cond); \
        if (!cap_req_ok_) return;                                    \
    } while (0)

// main() for a test program: runs the suite (`ucase=<name>` on the kernel
// command line, or `utest=<name>` on the module's, runs one case) and exits 0 if every case passed, else 1.
#define CAP_TEST_MAIN(suite)                                                                          \
    int main(::cap::StartInfo& cap_info_) {                                                           \
        char cap_filter_[64];                                                                         \
        const ::cap::test::Summary s = ::cap::test::run_all(                                          \
            suite, ::cap::test::filter_from_args(cap_info_.args(), cap_filter_, sizeof cap_filter_)); \
        return s.failed == 0 && s.passed > 0 ? 0 : 1;                                                 \
    }
