// syscall.h - the one system call, cap_enter, and its register convention.
//
// cap_enter(min_complete, timeout_ns):
//   1. consume the calling thread's submitted SQEs (all of them, in order,
//      as far as completion space allows; see ring.h);
//   2. flush parked completions into the CQ as space allows;
//   3. if fewer than min_complete completions are in the CQ, sleep until
//      there are (a completion posted from any CPU wakes the thread) or
//      timeout_ns nanoseconds pass.
// Entry: SYSCALL with rax = kSysCapEnter, rdi = min_complete (uint32,
// <= cq_entries), rsi = timeout_ns (0 = never sleep, kTimeoutInfinite = no
// deadline). Return: rax = number of completions now in the CQ (>= 0), or a
// negative Status:
//   Status::timeout          the deadline passed with fewer than min_complete
//   Status::overflow         SQEs pending, nothing consumable, CQ full (back-pressure)
//   Status::bad_ring         shared indices inconsistent; nothing consumed
//   Status::invalid_argument min_complete > cq_entries or unknown rax
// SYSCALL clobbers rcx and r11; every other register except rax is preserved.
#pragma once

#include <stdint.h>

namespace capos::abi {

inline constexpr uint64_t kSysCapEnter = 0;
inline constexpr uint64_t kTimeoutInfinite = ~uint64_t{0};

#if defined(CAPOS_USER)
// User-side stub; the kernel never calls it.
inline int64_t cap_enter(uint32_t min_complete, uint64_t timeout_ns) {
    int64_t ret;
    asm volatile("syscall"
                 : "=a"(ret)
                 : "a"(kSysCapEnter), "D"(static_cast<uint64_t>(min_complete)), "S"(timeout_ns)
                 : "rcx", "r11", "memory");
    return ret;
}
#endif

}  // namespace capos::abi
