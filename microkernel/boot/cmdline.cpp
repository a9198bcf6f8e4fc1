// cmdline.cpp: kernel command line checks.
#include "boot/cmdline.h"

namespace kern {

CmdlineIssue cmdline_check(const CmdlineToken& t, const CmdlineOption* opts, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (!t.key_is(opts[i].name)) continue;
        if (opts[i].takes_value && (t.value == nullptr || t.value_len == 0)) return CmdlineIssue::missing_value;
        if (!opts[i].takes_value && t.value != nullptr) return CmdlineIssue::unexpected_value;
        return CmdlineIssue::ok;
    }
    return CmdlineIssue::unknown_option;
}

}  // namespace kern
