// args.cpp - string helpers and `key=value` module arguments (see args.h).
#include "libcap/args.h"

#include "capos/kv/key_value.h"

namespace cap {

uint32_t len_of(const char* s) {
    uint32_t n = 0;
    while (s != nullptr && s[n] != '\0') ++n;
    return n;
}

bool str_eq(const char* a, const char* b) {
    if (a == nullptr || b == nullptr) return a == b;
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

bool str_eq(const char* a, uint32_t alen, const char* b) {
    for (uint32_t i = 0; i < alen; ++i)
        if (b[i] == '\0' || b[i] != a[i]) return false;
    return b[alen] == '\0';
}

namespace {
// The first word `key=...` of args (split at spaces by support/'s capos::kv,
// as the kernel command line and the placement servers split theirs).
bool find_arg(const char* args, const char* key, capos::kv::Pair& out) {
    return capos::kv::find_value(args, ~size_t{0}, " ", key, out);
}
}  // namespace

uint64_t arg_u64(const char* args, const char* key, uint64_t def) {
    capos::kv::Pair p;
    if (!find_arg(args, key, p) || p.value_len == 0 || p.value[0] < '0' || p.value[0] > '9') return def;
    uint64_t n = 0;
    for (size_t i = 0; i < p.value_len && p.value[i] >= '0' && p.value[i] <= '9'; ++i)
        n = n * 10 + static_cast<uint64_t>(p.value[i] - '0');
    return n;
}

bool arg_str(const char* args, const char* key, char* out, uint32_t cap) {
    capos::kv::Pair p;
    if (!find_arg(args, key, p) || cap == 0) return false;
    (void)capos::kv::copy_value(p, out, cap);  // cut to cap-1 bytes, as documented
    return true;
}

}  // namespace cap
