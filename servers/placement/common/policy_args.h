// policy_args.h: the one key=value parser of the placement servers, the host tools and the tests.
//
// Two places hand a policy its arguments:
//   * the server's command line (a boot manifest's `args`, words separated
//     by spaces): the server takes its own keys (deadline_us, cpus, ...) and
//     gives every other word to Policy::configure;
//   * a policy spec `name[:key=value[,key=value...]]` (host tools, the
//     benchmark's --policy, the kernel option placement=...): the part after
//     the colon, pairs separated by commas.
// Both go through parse_key_values, so a pair means the same everywhere.
//
// Freestanding (no libc, no heap): the pairs point into the caller's text,
// which must outlive them. Errors are returned as text for a log line.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace placement {

struct KeyValue {
    const char* key = nullptr;
    const char* value = nullptr;  // not NUL-terminated: value_len bytes
    uint32_t key_len = 0;
    uint32_t value_len = 0;
    bool has_value = false;  // the word had a '=' (an empty value is still a value)

    bool key_is(const char* k) const {
        uint32_t i = 0;
        for (; i < key_len && k[i] != '\0'; ++i)
            if (key[i] != k[i]) return false;
        return i == key_len && k[i] == '\0';
    }
    bool value_is(const char* v) const {
        uint32_t i = 0;
        for (; i < value_len && v[i] != '\0'; ++i)
            if (value[i] != v[i]) return false;
        return has_value && i == value_len && v[i] == '\0';
    }
};

// Why a text was refused, as one line (truncated at 160 bytes).
struct ArgError {
    char text[160] = {};
    uint32_t len = 0;

    ArgError& add(const char* s) {
        for (; *s != '\0' && len + 1 < sizeof text; ++s) text[len++] = *s;
        text[len] = '\0';
        return *this;
    }
    ArgError& add(const char* s, uint32_t n) {
        for (uint32_t i = 0; i < n && len + 1 < sizeof text; ++i) text[len++] = s[i];
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
        if (kv.has_value) add("=").add(kv.value, kv.value_len);
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

inline bool same_key(const KeyValue& a, const KeyValue& b) {
    if (a.key_len != b.key_len) return false;
    for (uint32_t i = 0; i < a.key_len; ++i)
        if (a.key[i] != b.key[i]) return false;
    return true;
}

// Splits `text[0..len)` (or up to a NUL) at `sep` into pairs `key=value`
// (a word without '=' is a key without value). Empty words (doubled
// separators) are skipped. Refused: a word starting with '=' (no key), a
// key given twice, more than KeyValues::kMax words. On refusal `out` is
// left empty.
inline bool parse_key_values(const char* text, size_t len, char sep, KeyValues& out, ArgError& err) {
    out.n = 0;
    size_t i = 0;
    while (i < len && text[i] != '\0') {
        if (text[i] == sep) {
            ++i;
            continue;
        }
        size_t start = i;
        while (i < len && text[i] != '\0' && text[i] != sep) ++i;
        KeyValue kv;
        kv.key = text + start;
        size_t eq = start;
        while (eq < i && text[eq] != '=') ++eq;
        kv.key_len = static_cast<uint32_t>(eq - start);
        if (eq < i) {
            kv.has_value = true;
            kv.value = text + eq + 1;
            kv.value_len = static_cast<uint32_t>(i - eq - 1);
        }
        if (kv.key_len == 0) {
            err.add("'").add(text + start, static_cast<uint32_t>(i - start)).add("' has no key");
            out.n = 0;
            return false;
        }
        for (uint32_t k = 0; k < out.n; ++k)
            if (same_key(out.kv[k], kv)) {
                err.add("key '").add(kv.key, kv.key_len).add("' given twice");
                out.n = 0;
                return false;
            }
        if (out.n == KeyValues::kMax) {
            err.add("more than ").add_u64(KeyValues::kMax).add(" arguments");
            out.n = 0;
            return false;
        }
        out.kv[out.n++] = kv;
    }
    return true;
}

// The value of `kv` as a decimal number in [lo, hi]; otherwise false with
// "<key>=<value>: expected a whole number from lo to hi".
inline bool value_u64(const KeyValue& kv, uint64_t lo, uint64_t hi, uint64_t& out, ArgError& err) {
    uint64_t v = 0;
    bool ok = kv.has_value && kv.value_len != 0 && kv.value_len <= 19;
    for (uint32_t i = 0; ok && i < kv.value_len; ++i) {
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
