// fault_inject.cpp - count option parsing for fault injection.
#include "debug/fault_plan.h"

namespace kern::fault {

Result<uint64_t> parse_count(const char* s, size_t len) {
    if (s == nullptr || len == 0) return Error::invalid_argument;
    constexpr uint64_t kMax = uint64_t{1} << 63;
    uint64_t v = 0;
    for (size_t i = 0; i < len; ++i) {
        if (s[i] < '0' || s[i] > '9') return Error::invalid_argument;
        const uint64_t d = static_cast<uint64_t>(s[i] - '0');
        if (v > (kMax - d) / 10) return Error::overflow;
        v = v * 10 + d;
    }
    if (v == 0) return Error::invalid_argument;
    return v;
}

}  // namespace kern::fault
