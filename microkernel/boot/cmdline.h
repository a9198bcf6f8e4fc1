// cmdline.h: kernel command line words and their validation against a list of options.
//
// The words are split by support/'s capos::kv (capos/kv/key_value.h), the
// splitter libcap's module arguments and the placement servers use too:
// separators space and tab, a word `key=value` or a bare `key`, empty words
// skipped. What is the kernel's own is the list of options and the check.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/kv/key_value.h"

namespace kern {

// One accepted option: `name` alone (flag) or `name=<value>`.
struct CmdlineOption {
    const char* name;
    bool takes_value;
    const char* help;  // shown in the error listing
};

// key, key_len, value (nullptr for a bare flag), value_len.
using CmdlineToken = capos::kv::Pair;

inline constexpr const char* kCmdlineSeparators = " \t";

// Calls fn(token) for each "key" or "key=value" word of s[0..len) (or up
// to a NUL). Returns the number of words.
template <class F>
size_t cmdline_for_each(const char* s, size_t len, F&& fn) {
    return capos::kv::for_each_pair(s, len, kCmdlineSeparators, static_cast<F&&>(fn));
}

enum class CmdlineIssue : uint8_t { ok, unknown_option, missing_value, unexpected_value };

// Checks one token against the accepted options.
CmdlineIssue cmdline_check(const CmdlineToken& t, const CmdlineOption* opts, size_t n);

// Copies a token's value into out (NUL-terminated, truncated to cap-1).
// Returns false if it did not fit.
inline bool cmdline_copy_value(const CmdlineToken& t, char* out, size_t cap) {
    return capos::kv::copy_value(t, out, cap);
}

inline bool cmdline_key_is(const CmdlineToken& t, const char* key) { return t.key_is(key); }

// True if the token has a value and it is exactly `value`.
inline bool cmdline_value_is(const CmdlineToken& t, const char* value) { return t.value_is(value); }

}  // namespace kern
