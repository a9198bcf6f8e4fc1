// args.cpp - string helpers and `key=value` module arguments (see args.h).
#include "libcap/args.h"

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
// Start of the value of `key=` in args, or nullptr.
const char* find_arg(const char* args, const char* key) {
    const uint32_t kl = len_of(key);
    const char* p = args;
    while (p != nullptr && *p != '\0') {
        while (*p == ' ') ++p;
        bool match = true;
        for (uint32_t i = 0; i < kl; ++i)
            if (p[i] != key[i]) {
                match = false;
                break;
            }
        if (match && p[kl] == '=') return p + kl + 1;
        while (*p != '\0' && *p != ' ') ++p;
    }
    return nullptr;
}
}  // namespace

uint64_t arg_u64(const char* args, const char* key, uint64_t def) {
    const char* v = find_arg(args, key);
    if (v == nullptr || *v < '0' || *v > '9') return def;
    uint64_t n = 0;
    while (*v >= '0' && *v <= '9') n = n * 10 + static_cast<uint64_t>(*v++ - '0');
    return n;
}

bool arg_str(const char* args, const char* key, char* out, uint32_t cap) {
    const char* v = find_arg(args, key);
    if (v == nullptr || cap == 0) return false;
    uint32_t n = 0;
    while (v[n] != '\0' && v[n] != ' ' && n + 1 < cap) {
        out[n] = v[n];
        ++n;
    }
    out[n] = '\0';
    return true;
}

}  // namespace cap
