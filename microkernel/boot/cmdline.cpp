// cmdline.cpp: kernel command line checks.
#include "boot/cmdline.h"

namespace kern {

bool cmdline_key_is(const CmdlineToken& t, const char* key) {
    size_t i = 0;
    for (; i < t.key_len; ++i) {
        if (key[i] == '\0' || key[i] != t.key[i]) return false;
    }
    return key[i] == '\0';
}

bool cmdline_value_is(const CmdlineToken& t, const char* value) {
    if (t.value == nullptr) return false;
    size_t i = 0;
    for (; i < t.value_len; ++i) {
        if (value[i] == '\0' || value[i] != t.value[i]) return false;
    }
    return value[i] == '\0';
}

CmdlineIssue cmdline_check(const CmdlineToken& t, const CmdlineOption* opts, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (!cmdline_key_is(t, opts[i].name)) continue;
        if (opts[i].takes_value && (t.value == nullptr || t.value_len == 0)) return CmdlineIssue::missing_value;
        if (!opts[i].takes_value && t.value != nullptr) return CmdlineIssue::unexpected_value;
        return CmdlineIssue::ok;
    }
    return CmdlineIssue::unknown_option;
}

bool cmdline_copy_value(const CmdlineToken& t, char* out, size_t cap) {
    if (cap == 0) return false;
    size_t n = t.value == nullptr ? 0 : t.value_len;
    bool fits = n < cap;
    if (!fits) n = cap - 1;
    for (size_t i = 0; i < n; ++i) out[i] = t.value[i];
    out[n] = '\0';
    return fits;
}

}  // namespace kern
