// key_value.h: the one splitter of `key=value` words (kernel command line, module arguments, placement policies).
//
// A text is a list of words divided by separator characters; a word is
// `key=value` (split at its first '=', so a value may hold '=' and ':') or a
// bare `key`. Four places read such texts: the kernel command line
// (separators space and tab), libcap's module arguments (space), a placement
// server's command line (space) and a policy spec's arguments (comma). They
// all split here, so a word means the same in each; what a reader does with
// a word (look one key up, check it against a list of options, keep a table)
// stays with the reader.
//
// Freestanding, no state, no allocation: a Pair points into the caller's
// text, which must outlive it. A text ends at `len` bytes or at a NUL,
// whichever comes first, so a buffer that is not NUL-terminated is read only
// up to `len`, and a NUL-terminated string may be given with len SIZE_MAX.
// Empty words (leading, trailing or doubled separators) are skipped.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace capos::kv {

struct Pair {
    const char* key = nullptr;
    size_t key_len = 0;
    // nullptr iff the word had no '=': `k=` has an empty value, `k` none.
    const char* value = nullptr;
    size_t value_len = 0;

    bool has_value() const { return value != nullptr; }
    // True if the key is exactly the NUL-terminated `k`.
    bool key_is(const char* k) const {
        size_t i = 0;
        for (; i < key_len; ++i)
            if (k[i] == '\0' || k[i] != key[i]) return false;
        return k[i] == '\0';
    }
    // True if the word has a value and it is exactly the NUL-terminated `v`.
    bool value_is(const char* v) const {
        if (value == nullptr) return false;
        size_t i = 0;
        for (; i < value_len; ++i)
            if (v[i] == '\0' || v[i] != value[i]) return false;
        return v[i] == '\0';
    }
    // The bytes of the whole word as written: key, then '=' and value if any.
    size_t word_len() const { return value == nullptr ? key_len : key_len + 1 + value_len; }
};

inline bool same_key(const Pair& a, const Pair& b) {
    if (a.key_len != b.key_len) return false;
    for (size_t i = 0; i < a.key_len; ++i)
        if (a.key[i] != b.key[i]) return false;
    return true;
}

// True if `c` is one of the NUL-terminated `seps`.
inline bool is_separator(char c, const char* seps) {
    for (; *seps != '\0'; ++seps)
        if (*seps == c) return true;
    return false;
}

// The next non-empty word of text[0..len) at or after `pos`, split into
// `out`; `pos` moves past it. False at the end of the text (then `out` is
// unchanged). A nullptr text is empty. Never reads text[len] or past a NUL.
inline bool next_pair(const char* text, size_t len, const char* seps, size_t& pos, Pair& out) {
    if (text == nullptr) return false;
    size_t i = pos;
    while (i < len && text[i] != '\0' && is_separator(text[i], seps)) ++i;
    if (i >= len || text[i] == '\0') {
        pos = i;
        return false;
    }
    const size_t start = i;
    size_t eq = len;  // the first '=' of the word, if any
    while (i < len && text[i] != '\0' && !is_separator(text[i], seps)) {
        if (eq == len && text[i] == '=') eq = i;
        ++i;
    }
    out = Pair{};
    out.key = text + start;
    if (eq < i) {
        out.key_len = eq - start;
        out.value = text + eq + 1;
        out.value_len = i - eq - 1;
    } else {
        out.key_len = i - start;
    }
    pos = i;
    return true;
}

// Calls fn(const Pair&) for each word; returns how many there were.
template <class F>
size_t for_each_pair(const char* text, size_t len, const char* seps, F&& fn) {
    size_t pos = 0, count = 0;
    Pair p;
    while (next_pair(text, len, seps, pos, p)) {
        fn(static_cast<const Pair&>(p));
        ++count;
    }
    return count;
}

// The first word `key=...` (a bare `key` does not count: it has no value),
// into `out`; false if there is none. Later words with the key are not read:
// the first one given wins.
inline bool find_value(const char* text, size_t len, const char* seps, const char* key, Pair& out) {
    size_t pos = 0;
    Pair p;
    while (next_pair(text, len, seps, pos, p))
        if (p.has_value() && p.key_is(key)) {
            out = p;
            return true;
        }
    return false;
}

// Copies the value (empty for a bare key) into out, NUL-terminated and cut
// to cap-1 bytes. Returns false if it was cut or cap is 0.
inline bool copy_value(const Pair& p, char* out, size_t cap) {
    if (cap == 0) return false;
    size_t n = p.value == nullptr ? 0 : p.value_len;
    const bool fits = n < cap;
    if (!fits) n = cap - 1;
    for (size_t i = 0; i < n; ++i) out[i] = p.value[i];
    out[n] = '\0';
    return fits;
}

// Why parse_pairs refused a text. `word` is the word at fault (for
// key_twice its second occurrence; for too_many the first word that did
// not fit).
enum class Refusal : uint8_t {
    none,
    no_key,     // a word starting with '='
    key_twice,  // two words with the same key
    too_many,   // more words than the caller's table holds
};
struct ParseResult {
    Refusal refusal = Refusal::none;
    Pair word;
    size_t n = 0;  // words stored (0 on refusal)
};

// Splits the whole text into table[0..cap) and refuses what a table of
// distinct keys cannot mean: a word with no key, a key given twice, more
// than `cap` words. On refusal nothing counts as stored (n == 0).
inline ParseResult parse_pairs(const char* text, size_t len, const char* seps, Pair* table, size_t cap) {
    ParseResult r;
    size_t pos = 0, n = 0;
    Pair p;
    while (next_pair(text, len, seps, pos, p)) {
        r.word = p;
        if (p.key_len == 0) {
            r.refusal = Refusal::no_key;
            return r;
        }
        for (size_t k = 0; k < n; ++k)
            if (same_key(table[k], p)) {
                r.refusal = Refusal::key_twice;
                return r;
            }
        if (n == cap) {
            r.refusal = Refusal::too_many;
            return r;
        }
        table[n++] = p;
    }
    r.word = Pair{};
    r.n = n;
    return r;
}

}  // namespace capos::kv
