// fault_inject.cpp: the kernel's fault-injection plans (see fault_inject.h).
#include "debug/fault_inject.h"

#include "debug/console.h"
#include "object/thread.h"

namespace kern::fault {

bool g_enabled = false;

namespace {
Plan g_boot_plan;  // command-line rules; armed by start_counting()
Rule g_boot_rules[kKinds];
bool g_grant = false;  // fault_inject=on
}  // namespace

bool should_fail_slow(Kind k) {
    if (g_boot_plan.next(k)) return true;
    if (!g_grant) return false;
    // Only the current thread's own plan: a kernel thread (reaper,
    // timekeeper) has none armed, and another CPU runs another thread.
    Thread* t = Thread::current();
    return t != nullptr && t->fault_plan_.next(k);
}

void set_boot_rule(Kind k, uint64_t nth, uint64_t every) {
    Rule& r = g_boot_rules[static_cast<unsigned>(k)];
    if (nth != 0) r.nth = nth;
    if (every != 0) r.every = every;
    g_enabled = true;
}

void set_grant(bool on) {
    g_grant = on;
    if (on) g_enabled = true;
}

bool grant_enabled() { return g_grant; }

void start_counting() {
    if (!g_boot_rules[0].active() && !g_boot_rules[1].active()) return;
    g_boot_plan.arm(g_boot_rules[0], g_boot_rules[1]);
    kprintf(
        "[capos] fault injection: counting from here (frame nth=%llu every=%llu, heap nth=%llu every=%llu)\n",
        static_cast<unsigned long long>(g_boot_rules[0].nth), static_cast<unsigned long long>(g_boot_rules[0].every),
        static_cast<unsigned long long>(g_boot_rules[1].nth), static_cast<unsigned long long>(g_boot_rules[1].every));
}

void report_boot_rules() {
    if (!g_boot_plan.is_armed()) return;
    kprintf("[capos] fault injection: %llu frame and %llu heap allocations counted, %llu failed\n",
            static_cast<unsigned long long>(g_boot_plan.seen(Kind::frame)),
            static_cast<unsigned long long>(g_boot_plan.seen(Kind::heap)),
            static_cast<unsigned long long>(g_boot_plan.injected()));
}

}  // namespace kern::fault
