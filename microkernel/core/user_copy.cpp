// user_copy.cpp: range checks in front of the arch's fault-tolerant copies.
#include "core/user_copy.h"

#include "arch/x86_64/user_copy.h"
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
