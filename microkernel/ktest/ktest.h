// ktest.h: in-kernel tests selected with test=<name> on the command line.
// A test registers itself with KTEST(name, "description") { ...; return ktest_ok(); }
// and lives next to the code it tests; the linker collects them in .ktests.
#pragma once

#include "capos/sync/thread_safety.h"

namespace kern {

struct KTestResult {
    bool pass;
    const char* reason;  // why it failed (static string), or nullptr
};

struct KTest {
    const char* name;
    const char* description;
    KTestResult (*fn)();
};

inline KTestResult ktest_ok() { return {true, nullptr}; }
inline KTestResult ktest_fail(const char* why) { return {false, why}; }

// Finds a test by name (nullptr if none).
const KTest* ktest_find(const char* name);
// Prints the registered names as "  name - description" lines.
void ktest_list();
// Runs t, prints "[ktest] <name> PASS" or "... FAIL: <reason>", exits QEMU.
[[noreturn]] void ktest_run(const KTest& t);

}  // namespace kern

#define KTEST_CONCAT2(a, b) a##b
#define KTEST_CONCAT(a, b) KTEST_CONCAT2(a, b)
// The section holds pointers, not the records: the compiler may pad and
// over-align static objects, but an array of pointers packs exactly.
#define KTEST_WITH(name, desc, attrs)                                                                             \
    static ::kern::KTestResult KTEST_CONCAT(ktest_fn_, __LINE__)() attrs;                                         \
    static const ::kern::KTest KTEST_CONCAT(ktest_, __LINE__) = {name, desc, &KTEST_CONCAT(ktest_fn_, __LINE__)}; \
    [[gnu::used, gnu::section(".ktests")]] static const ::kern::KTest* const KTEST_CONCAT(ktest_ptr_, __LINE__) = \
        &KTEST_CONCAT(ktest_, __LINE__);                                                                          \
    static ::kern::KTestResult KTEST_CONCAT(ktest_fn_, __LINE__)()
#define KTEST(name, desc) KTEST_WITH(name, desc, )
// A test that breaks the lock rules on purpose (a recursive acquire, a lock
// held to the end, the wrong order) to see the kernel catch it: outside
// clang's thread-safety analysis.
#define KTEST_BREAKS_LOCK_RULES(name, desc) KTEST_WITH(name, desc, CAPOS_NO_THREAD_SAFETY_ANALYSIS)
