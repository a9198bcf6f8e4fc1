// probe.cpp: proves the lock annotations are checked. Compiled twice by
// test/lint/meson.build with clang -Wthread-safety -Werror -fsyntax-only:
// as it is (must compile), and with -DCAPOS_PROBE_VIOLATION=N for each
// planted violation (each must be refused). If clang stopped reading the
// annotations (a macro gone empty, a flag dropped), the planted ones would
// compile and the test would fail.
#include "cpu/spinlock.h"

namespace {

kern::SpinLockIrq g_lock{kern::LockRank::none, "probe"};
int g_count CAPOS_GUARDED_BY(g_lock) = 0;

void bump_locked() CAPOS_REQUIRES(g_lock) { ++g_count; }

}  // namespace

int probe_ok() {
    kern::LockGuard<kern::SpinLockIrq> g(g_lock);
    bump_locked();
    return g_count;
}

#if CAPOS_PROBE_VIOLATION == 1
int probe_unguarded_read() { return g_count; }  // guarded data without its lock
#elif CAPOS_PROBE_VIOLATION == 2
void probe_missing_requirement() { bump_locked(); }  // a REQUIRES function called unlocked
#elif CAPOS_PROBE_VIOLATION == 3
void probe_left_held() { g_lock.lock(); }  // a lock still held at the end of the scope
#endif
