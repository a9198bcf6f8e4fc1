// args.h - `key=value` argument words of the capOS benchmark programs (freestanding, host-tested).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace benchcap {

// A command line of `key=value` words separated by spaces or commas. Words
// are copied into a fixed buffer (no heap); a word that does not fit, or
// words beyond kMaxWords, are dropped. A later word with the same key
// replaces the earlier one, so built-in defaults can be overridden by
// adding the module command line after them.
class Args {
public:
    static constexpr size_t kMaxWords = 24;
    static constexpr size_t kMaxText = 512;

    void add(const char* text) {
        const char* p = text;
        while (p != nullptr && *p != '\0') {
            while (is_sep(*p)) ++p;
            if (*p == '\0') break;
            const char* start = p;
            while (*p != '\0' && !is_sep(*p)) ++p;
            const size_t n = static_cast<size_t>(p - start);
            if (used_ + n + 1 > kMaxText) return;
            char* copy = text_ + used_;
            for (size_t i = 0; i < n; ++i) copy[i] = start[i];
            copy[n] = '\0';
            size_t eq = 0;
            while (eq < n && copy[eq] != '=') ++eq;
            const Word w{copy, eq, eq < n ? copy + eq + 1 : copy + n};
            Word* same = find(w.key, w.key_len);
            if (same != nullptr) {
                *same = w;
            } else if (count_ < kMaxWords) {
                words_[count_++] = w;
            } else {
                return;
            }
            used_ += n + 1;
        }
    }

    // The value of `key` ("" for a bare word), or nullptr if absent.
    const char* get(const char* key) const {
        size_t n = 0;
        while (key[n] != '\0') ++n;
        const Word* w = const_cast<Args*>(this)->find(key, n);
        return w != nullptr ? w->value : nullptr;
    }

    // `key` as an unsigned decimal number; `fallback` if absent, empty,
    // not all digits, or above 2^64-1.
    uint64_t u64(const char* key, uint64_t fallback) const {
        const char* v = get(key);
        if (v == nullptr || *v < '0' || *v > '9') return fallback;
        uint64_t out = 0;
        for (; *v >= '0' && *v <= '9'; ++v) {
            const uint64_t d = static_cast<uint64_t>(*v - '0');
            if (out > (UINT64_MAX - d) / 10) return fallback;
            out = out * 10 + d;
        }
        return *v == '\0' ? out : fallback;
    }

    bool has(const char* key) const { return get(key) != nullptr; }
    size_t size() const { return count_; }

private:
    struct Word {
        const char* key;
        size_t key_len;
        const char* value;  // NUL-terminated inside text_
    };

    static bool is_sep(char c) { return c == ' ' || c == ',' || c == '\t' || c == '\n'; }

    Word* find(const char* key, size_t n) {
        for (size_t i = 0; i < count_; ++i) {
            if (words_[i].key_len != n) continue;
            size_t k = 0;
            while (k < n && words_[i].key[k] == key[k]) ++k;
            if (k == n) return &words_[i];
        }
        return nullptr;
    }

    char text_[kMaxText] = {};
    size_t used_ = 0;
    Word words_[kMaxWords] = {};
    size_t count_ = 0;
};

}  // namespace benchcap
