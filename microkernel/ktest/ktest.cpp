// ktest.cpp: the in-kernel test registry and runner.
#include "ktest/ktest.h"

#include "debug/console.h"
#include "debug/panic.h"

extern "C" const kern::KTest* const __ktests_start[];
extern "C" const kern::KTest* const __ktests_end[];

namespace kern {
namespace {
bool str_eq(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}
}  // namespace

const KTest* ktest_find(const char* name) {
    for (const KTest* const* t = __ktests_start; t < __ktests_end; ++t) {
        if (str_eq((*t)->name, name)) return *t;
    }
    return nullptr;
}

void ktest_list() {
    for (const KTest* const* t = __ktests_start; t < __ktests_end; ++t) {
        kprintf("  %s - %s\n", (*t)->name, (*t)->description);
    }
}

void ktest_run(const KTest& t) {
    kprintf("[ktest] %s START\n", t.name);
    KTestResult r = t.fn();
    if (r.pass) {
        kprintf("[ktest] %s PASS\n", t.name);
        stop_machine(StopReason::test_pass);
    }
    kprintf("[ktest] %s FAIL: %s\n", t.name, r.reason != nullptr ? r.reason : "(no reason)");
    stop_machine(StopReason::test_fail);
}

}  // namespace kern
