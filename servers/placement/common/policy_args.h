// policy_args.h: key=value arguments of the placement servers, the host tools and the tests.
//
// Two places hand a policy its arguments:
//   * the server's command line (a boot manifest's `args`, words separated
//     by spaces): the server takes its own keys (deadline_us, cpus, ...) and
//     gives every other word to Policy::configure;
//   * a policy spec `name[:key=value[,key=value...]]` (host tools, the
//     benchmark's --policy, the kernel option placement=...): the part after
//     the colon, pairs separated by commas.
// Both go through parse_key_values, so a pair means the same everywhere;
// it splits with support/'s capos::kv (capos/kv/key_value.h), the splitter
// the kernel command line and libcap's module arguments use too, and adds
// the table of distinct keys and the refusals worded for a log line.
//
// Freestanding (no libc, no heap): the pairs point into the caller's text,
// which must outlive them. Errors are returned as text for a log line.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/kv/key_value.h"

namespace placement {

// key, value (nullptr for a bare key), has_value(), key_is, value_is.
using KeyValue = capos::kv::Pair;
using capos::kv::same_key;

// Why a text was refused, as one line (truncated at 160 bytes).
struct ArgError {
    char text[160] = {};
    uint32_t len = 0;

    ArgError& add(const char* s) {
        for (; *s != '\0' && len + 1 < sizeof text; ++s) text[len++] = *s;
        text[len] = '\0';
        return *this;
    }
    ArgError& add(const char* s, size_t n) {
        for (size_t i = 0; i < n && len + 1 < sizeof text; ++i) text[len++] = s[i];
        text[len] = '\0';
        return *this;
    }
    ArgError& add_u64(uint64_t v) {
        char d[24];
        uint32_t n = 0;
        do {
            d[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n > 0 && len + 1 < sizeof text) text[len++] = d[--n];
        text[len] = '\0';
        return *this;
    }
    ArgError& add_pair(const KeyValue& kv) {
        add(kv.key, kv.key_len);
        if (kv.has_value()) add("=").add(kv.value, kv.value_len);
        return *this;
    }
};

struct KeyValues {
    static constexpr uint32_t kMax = 16;
    KeyValue kv[kMax];
    uint32_t n = 0;

    const KeyValue* find(const char* key) const {
        for (uint32_t i = 0; i < n; ++i)
            if (kv[i].key_is(key)) return &kv[i];
        return nullptr;
    }
};

// Splits `text[0..len)` (or up to a NUL) at `sep` into pairs `key=value`
// (a word without '=' is a key without value). Empty words (doubled
// separators) are skipped. Refused: a word starting with '=' (no key), a
// key given twice, more than KeyValues::kMax words. On refusal `out` is
// left empty.
inline bool parse_key_values(const char* text, size_t len, char sep, KeyValues& out, ArgError& err) {
    const char seps[2] = {sep, '\0'};
    const capos::kv::ParseResult r = capos::kv::parse_pairs(text, len, seps, out.kv, KeyValues::kMax);
    out.n = static_cast<uint32_t>(r.n);
    switch (r.refusal) {
        case capos::kv::Refusal::none:
            return true;
        case capos::kv::Refusal::no_key:
            err.add("'").add_pair(r.word).add("' has no key");
            break;
        case capos::kv::Refusal::key_twice:
            err.add("key '").add(r.word.key, r.word.key_len).add("' given twice");
            break;
        case capos::kv::Refusal::too_many:
            err.add("more than ").add_u64(KeyValues::kMax).add(" arguments");
            break;
    }
    return false;
}

// The value of `kv` as a decimal number in [lo, hi]; otherwise false with
// "<key>=<value>: expected a whole number from lo to hi".
inline bool value_u64(const KeyValue& kv, uint64_t lo, uint64_t hi, uint64_t& out, ArgError& err) {
    uint64_t v = 0;
    bool ok = kv.has_value() && kv.value_len != 0 && kv.value_len <= 19;
    for (size_t i = 0; ok && i < kv.value_len; ++i) {
        const char c = kv.value[i];
        ok = c >= '0' && c <= '9';
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok || v < lo || v > hi) {
        err.add_pair(kv).add(": expected a whole number from ").add_u64(lo).add(" to ").add_u64(hi);
        return false;
    }
    out = v;
    return true;
}

// The arguments of a policy that takes one key, a whole number lo..hi
// (fair-share's and round-robin's slice_ms, pack's k): its value into `out`,
// which keeps its value when the key is absent and on a refusal. Refused:
// any other key, as "unknown key 'X' (<policy> takes <key>=<lo>..<hi>)", and
// a value out of range (value_u64's text).
inline bool single_u64_arg(const KeyValues& args, const char* policy, const char* key, uint64_t lo, uint64_t hi,
                           uint64_t& out, ArgError& err) {
    uint64_t v = out;
    for (uint32_t i = 0; i < args.n; ++i) {
        const KeyValue& kv = args.kv[i];
        if (!kv.key_is(key)) {
            err.add("unknown key '").add(kv.key, kv.key_len).add("' (").add(policy).add(" takes ").add(key);
            err.add("=").add_u64(lo).add("..").add_u64(hi).add(")");
            return false;
        }
        if (!value_u64(kv, lo, hi, v, err)) return false;
    }
    out = v;
    return true;
}

// A spec `name[:args]`: the name's length, and where the arguments start
// (nullptr when there is no colon). The name is what the host tools look up
// and what the benchmark turns into the manifest <case>-<name>.
struct SpecParts {
    const char* name = nullptr;
    uint32_t name_len = 0;
    const char* args = nullptr;
    uint32_t args_len = 0;
};
inline SpecParts split_spec(const char* spec) {
    SpecParts p;
    p.name = spec;
    uint32_t i = 0;
    while (spec[i] != '\0' && spec[i] != ':') ++i;
    p.name_len = i;
    if (spec[i] == ':') {
        p.args = spec + i + 1;
        uint32_t n = 0;
        while (p.args[n] != '\0') ++n;
        p.args_len = n;
    }
    return p;
}

}  // namespace placement
