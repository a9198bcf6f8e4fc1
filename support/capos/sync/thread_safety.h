// thread_safety.h: lock annotations that clang's -Wthread-safety checks.
//
// The clang build (build-clang/, made by harness/run test) turns these into
// attributes and every warning into an error, so a guarded variable touched
// without its lock, a function called without the lock it requires, or a
// lock left held at the end of a scope fails the build. g++ ignores them
// (empty macros): the annotations cost nothing at run time.
//
// Conventions:
// - A lock type is a CAPOS_CAPABILITY; LockGuard is CAPOS_SCOPED_CAPABILITY.
// - Data a lock protects: CAPOS_GUARDED_BY(lock) on the variable (or
//   CAPOS_PT_GUARDED_BY on a pointer whose target the lock protects).
// - A function that expects its caller to hold a lock: CAPOS_REQUIRES(lock).
// - A function that takes a lock itself and must not be entered with it:
//   CAPOS_EXCLUDES(lock).
// - Code whose locking the analysis cannot follow (a lock handed from one
//   function to another across a context switch, lock implementations
//   themselves) says CAPOS_NO_THREAD_SAFETY_ANALYSIS with a comment why.
#pragma once

#if defined(__clang__)
#define CAPOS_TSA(x) __attribute__((x))
#else
#define CAPOS_TSA(x)
#endif

#define CAPOS_CAPABILITY(name) CAPOS_TSA(capability(name))
#define CAPOS_SCOPED_CAPABILITY CAPOS_TSA(scoped_lockable)
#define CAPOS_GUARDED_BY(x) CAPOS_TSA(guarded_by(x))
#define CAPOS_PT_GUARDED_BY(x) CAPOS_TSA(pt_guarded_by(x))
#define CAPOS_ACQUIRE(...) CAPOS_TSA(acquire_capability(__VA_ARGS__))
#define CAPOS_RELEASE(...) CAPOS_TSA(release_capability(__VA_ARGS__))
#define CAPOS_TRY_ACQUIRE(...) CAPOS_TSA(try_acquire_capability(__VA_ARGS__))
#define CAPOS_REQUIRES(...) CAPOS_TSA(requires_capability(__VA_ARGS__))
#define CAPOS_EXCLUDES(...) CAPOS_TSA(locks_excluded(__VA_ARGS__))
#define CAPOS_ASSERT_CAPABILITY(x) CAPOS_TSA(assert_capability(x))
#define CAPOS_RETURN_CAPABILITY(x) CAPOS_TSA(lock_returned(x))
#define CAPOS_NO_THREAD_SAFETY_ANALYSIS CAPOS_TSA(no_thread_safety_analysis)
