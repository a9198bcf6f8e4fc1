// cmdline.h: kernel command line tokenizer and validation against a list of options.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace kern {

// One accepted option: `name` alone (flag) or `name=<value>`.
struct CmdlineOption {
    const char* name;
    bool takes_value;
    const char* help;  // shown in the error listing
};

struct CmdlineToken {
    const char* key;
    size_t key_len;
    const char* value;  // nullptr for a bare flag
    size_t value_len;
};

// Splits on spaces; calls fn(token) for each "key" or "key=value" token.
// Returns the number of tokens. Input need not be NUL-terminated past len.
template <class F>
size_t cmdline_for_each(const char* s, size_t len, F&& fn) {
    size_t i = 0, count = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t')) ++i;
        if (i >= len || s[i] == '\0') break;
        size_t start = i;
        while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\0') ++i;
        CmdlineToken t{s + start, i - start, nullptr, 0};
        for (size_t k = start; k < i; ++k) {
            if (s[k] == '=') {
                t.key_len = k - start;
                t.value = s + k + 1;
                t.value_len = i - k - 1;
                break;
            }
        }
        fn(t);
        ++count;
    }
    return count;
}

enum class CmdlineIssue : uint8_t { ok, unknown_option, missing_value, unexpected_value };

// Checks one token against the accepted options.
CmdlineIssue cmdline_check(const CmdlineToken& t, const CmdlineOption* opts, size_t n);

// Copies a token's value into out (NUL-terminated, truncated to cap-1).
// Returns false if it did not fit.
bool cmdline_copy_value(const CmdlineToken& t, char* out, size_t cap);

bool cmdline_key_is(const CmdlineToken& t, const char* key);

// True if the token has a value and it is exactly `value`.
bool cmdline_value_is(const CmdlineToken& t, const char* value);

}  // namespace kern
