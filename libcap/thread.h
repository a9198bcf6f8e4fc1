// thread.h - user threads (own stack, own ring, own TLS) and park-based blocking: Mutex, wait/wake on a word.
//
// Threads. Thread::spawn() gets a stack (a fresh MemoryObject mapped above
// an unmapped guard of kStackGuard bytes; a heap block without guard if the
// kernel refuses), writes a start block at the stack top and asks the
// kernel (Process.createThread) to start `cap_thread_entry` (crt0.S) there.
// The kernel gives the new thread its own ring at user_ring_addr(index) and
// its own TLS block (the PT_TLS image, FS base per variant II); the new
// thread derives `index` from its thread pointer (capos/abi/start.h), binds
// its ring, runs fn(arg) and ends itself with fn's return value. join()
// waits through Thread.join and then releases the stack.
//
// Blocking. Mutex is the three-state futex mutex (0 free, 1 locked, 2
// locked with waiters): uncontended lock/unlock are one atomic each and
// never enter the kernel; the slow path parks on the state word through the
// Park capability (ParkOps, installed at start-up; host tests install a
// Linux futex).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/layout.h"
#include "capos/sync/thread_safety.h"
#include "libcap/result.h"
#include "libcap/ring.h"

namespace cap {

// ---- parking -------------------------------------------------------------------

struct ParkOps {
    // Blocks while *addr == expected (may return spuriously). Returns true if woken.
    bool (*wait)(void* ctx, const uint32_t* addr, uint32_t expected);
    // Wakes up to `count` threads parked on addr.
    void (*wake)(void* ctx, const uint32_t* addr, uint32_t count);
    void* ctx;
};
void set_park_ops(ParkOps ops);
void park_wait(const uint32_t* addr, uint32_t expected);
void park_wake(const uint32_t* addr, uint32_t count);
inline constexpr uint32_t kWakeAll = 0xffffffffu;

class CAPOS_CAPABILITY("mutex") Mutex {
public:
    constexpr Mutex() = default;
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;

    void lock() CAPOS_ACQUIRE();
    bool try_lock() CAPOS_TRY_ACQUIRE(true);
    void unlock() CAPOS_RELEASE();

private:
    uint32_t state_ = 0;  // 0 free, 1 locked, 2 locked and maybe waiters
};

class CAPOS_SCOPED_CAPABILITY LockGuard {
public:
    explicit LockGuard(Mutex& m) CAPOS_ACQUIRE(m) : m_(m) { m_.lock(); }
    ~LockGuard() CAPOS_RELEASE() { m_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    Mutex& m_;
};

// ---- threads ---------------------------------------------------------------------

inline constexpr size_t kStackGuard = 64 * 1024;

// Index of the calling thread within its process (0 = main thread),
// derived from the thread pointer.
uint32_t thread_index();

class Thread {
public:
    using Fn = int64_t (*)(void* arg);

    Thread() = default;

    // Starts fn(arg) on a new thread with a stack of `stack_bytes` (rounded up
    // to pages). Errors: the kernel's (quota_exceeded, no_memory, ...), or
    // no_memory if no stack could be had at all.
    [[nodiscard]] static Result<Thread> spawn(Fn fn, void* arg, size_t stack_bytes = capos::abi::kUserStackDefault);

    // Waits for the thread to end and returns its exit code (fn's return
    // value); releases its stack. A Thread may be joined once.
    [[nodiscard]] Result<int64_t> join();

    CapHandle handle() const { return handle_; }
    bool joinable() const { return block_ != nullptr; }

    struct Block;  // the start block at the top of the thread's stack (thread.cpp)

private:
    CapHandle handle_ = kNullCap;
    Block* block_ = nullptr;
};

}  // namespace cap
