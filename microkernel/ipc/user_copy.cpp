// user_copy.cpp: range checks in front of the arch's fault-tolerant copies.
#include "ipc/user_copy.h"

#include "arch/interface/user.h"
#include "capos/abi/layout.h"

namespace kern {

Result<void> copy_from_user(void* dst, uint64_t user_src, size_t n) {
    if (n == 0) return ok();
    if (!capos::abi::user_range_ok(user_src, n)) return Error::bad_pointer;
    if (capos_user_copy(dst, reinterpret_cast<const void*>(user_src), n) != 0) return Error::bad_pointer;
    return ok();
}

Result<void> copy_to_user(uint64_t user_dst, const void* src, size_t n) {
    if (n == 0) return ok();
    if (!capos::abi::user_range_ok(user_dst, n)) return Error::bad_pointer;
    if (capos_user_copy(reinterpret_cast<void*>(user_dst), src, n) != 0) return Error::bad_pointer;
    return ok();
}

Result<uint32_t> load_user_u32(uint64_t user_addr) {
    if ((user_addr & 3) != 0 || !capos::abi::user_range_ok(user_addr, 4)) return Error::bad_pointer;
    uint32_t v = 0;
    if (capos_user_load32(reinterpret_cast<const uint32_t*>(user_addr), &v) != 0) return Error::bad_pointer;
    return v;
}

}  // namespace kern

// --- in-kernel test (test=user_copy) -------------------------------------------------

#include "ktest/ktest.h"

namespace kern {

KTEST("user_copy", "copy_from/to_user refuse kernel, non-canonical and wrapping pointers and survive faults") {
    arch::user_exceptions_init();  // the #PF fixup (idempotent)
    uint8_t buf[64] = {};
    struct Bad {
        uint64_t addr;
        size_t len;
    };
    const Bad bad[] = {
        {0xffff800000000000ull, 8},   // kernel half (direct map)
        {0xffffffff80000000ull, 8},   // kernel image
        {0x0000800000000000ull, 8},   // first non-canonical address
        {0x00007ffffffff000ull, 8},   // the never-mapped last user page
        {0x00007fffffffeff8ull, 64},  // runs into it
        {0xfffffffffffffff0ull, 32},  // wraps
        {0x0000000010000000ull, 8},   // canonical user, unmapped: faults, fixed up
        {0x0000000000001000ull, 1},   // null guard page
    };
    for (const Bad& b : bad) {
        if (copy_from_user(buf, b.addr, b.len).error() != Error::bad_pointer)
            return ktest_fail("copy_from_user accepted a bad pointer");
        if (copy_to_user(b.addr, buf, b.len).error() != Error::bad_pointer)
            return ktest_fail("copy_to_user accepted a bad pointer");
    }
    if (load_user_u32(0x10000002).error() != Error::bad_pointer) return ktest_fail("misaligned u32 accepted");
    if (load_user_u32(0x10000000).error() != Error::bad_pointer) return ktest_fail("unmapped u32 accepted");
    if (!copy_from_user(buf, 0x10000000, 0).ok()) return ktest_fail("zero-length copy refused");
    return ktest_ok();
}

}  // namespace kern
