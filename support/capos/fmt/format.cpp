// format.cpp: the printf-style formatter the kernel console, libcap (cap::print) and the host tests share (support/README.md).
#include "capos/fmt/format.h"

namespace capos::fmt {
namespace {

struct Spec {
    bool left = false;
    bool zero = false;
    bool plus = false;
    bool space = false;
    bool alt = false;
    int width = 0;
    int precision = -1;
};

struct Out {
    Sink sink;
    void* ctx;
    size_t count;
    void put(const char* s, size_t n) {
        if (n == 0) return;
        sink(ctx, s, n);
        count += n;
    }
    void repeat(char c, int n) {
        char buf[16];
        for (int i = 0; i < 16; ++i) buf[i] = c;
        while (n > 0) {
            int k = n > 16 ? 16 : n;
            put(buf, static_cast<size_t>(k));
            n -= k;
        }
    }
};

size_t str_len(const char* s, int max) {
    size_t n = 0;
    while ((max < 0 || n < static_cast<size_t>(max)) && s[n] != '\0') ++n;
    return n;
}

// Emits an unsigned magnitude with sign/prefix and padding as printf does.
void emit_number(Out& out, uint64_t value, bool negative, unsigned base, bool upper, const Spec& spec) {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[72];
    int len = 0;
    if (value == 0 && spec.precision == 0) {
        len = 0;
    } else {
        do {
            tmp[len++] = digits[value % base];
            value /= base;
        } while (value != 0);
    }
    int prec_zeros = spec.precision > len ? spec.precision - len : 0;
    char prefix[3];
    int plen = 0;
    if (negative) {
        prefix[plen++] = '-';
    } else if (spec.plus) {
        prefix[plen++] = '+';
    } else if (spec.space) {
        prefix[plen++] = ' ';
    }
    if (spec.alt && base == 16) {
        prefix[plen++] = '0';
        prefix[plen++] = upper ? 'X' : 'x';
    } else if (spec.alt && base == 8 && (len == 0 || tmp[len - 1] != '0') && prec_zeros == 0) {
        prefix[plen++] = '0';
    } else if (spec.alt && base == 2) {
        prefix[plen++] = '0';
        prefix[plen++] = 'b';
    }
    int body = plen + prec_zeros + len;
    int pad = spec.width > body ? spec.width - body : 0;
    bool zero_pad = spec.zero && !spec.left && spec.precision < 0;
    if (!spec.left && !zero_pad) out.repeat(' ', pad);
    out.put(prefix, static_cast<size_t>(plen));
    if (zero_pad) out.repeat('0', pad);
    out.repeat('0', prec_zeros);
    char rev[72];
    for (int i = 0; i < len; ++i) rev[i] = tmp[len - 1 - i];
    out.put(rev, static_cast<size_t>(len));
    if (spec.left) out.repeat(' ', pad);
}

void emit_text(Out& out, const char* s, size_t n, const Spec& spec) {
    int pad = spec.width > static_cast<int>(n) ? spec.width - static_cast<int>(n) : 0;
    if (!spec.left) out.repeat(' ', pad);
    out.put(s, n);
    if (spec.left) out.repeat(' ', pad);
}

}  // namespace

size_t vformat(Sink sink, void* ctx, const char* fmt, va_list ap_in) {
    Out out{sink, ctx, 0};
    va_list ap;
    va_copy(ap, ap_in);
    const char* p = fmt;
    while (*p != '\0') {
        if (*p != '%') {
            const char* start = p;
            while (*p != '\0' && *p != '%') ++p;
            out.put(start, static_cast<size_t>(p - start));
            continue;
        }
        const char* conv_start = p;
        ++p;
        Spec spec;
        for (;; ++p) {
            if (*p == '-') spec.left = true;
            else if (*p == '0') spec.zero = true;
            else if (*p == '+') spec.plus = true;
            else if (*p == ' ') spec.space = true;
            else if (*p == '#') spec.alt = true;
            else break;
        }
        if (*p == '*') {
            spec.width = va_arg(ap, int);
            if (spec.width < 0) {
                spec.left = true;
                spec.width = -spec.width;
            }
            ++p;
        } else {
            while (*p >= '0' && *p <= '9') spec.width = spec.width * 10 + (*p++ - '0');
        }
        if (*p == '.') {
            ++p;
            spec.precision = 0;
            if (*p == '*') {
                spec.precision = va_arg(ap, int);
                if (spec.precision < 0) spec.precision = -1;
                ++p;
            } else {
                while (*p >= '0' && *p <= '9') spec.precision = spec.precision * 10 + (*p++ - '0');
            }
        }
        // Length: 0 = int, 1 = long, 2 = long long, -1 = short, -2 = char, 3 = size_t/ptrdiff/intmax.
        int length = 0;
        if (*p == 'h') {
            ++p;
            length = -1;
            if (*p == 'h') {
                ++p;
                length = -2;
            }
        } else if (*p == 'l') {
            ++p;
            length = 1;
            if (*p == 'l') {
                ++p;
                length = 2;
            }
        } else if (*p == 'z' || *p == 'j' || *p == 't') {
            ++p;
            length = 3;
        }
        char c = *p;
        if (c == '\0') {
            out.put(conv_start, static_cast<size_t>(p - conv_start));
            break;
        }
        ++p;
        switch (c) {
            case 'd':
            case 'i': {
                int64_t v;
                if (length >= 1) v = length == 1 ? va_arg(ap, long) : va_arg(ap, long long);
                else v = va_arg(ap, int);
                if (length == -1) v = static_cast<short>(v);
                if (length == -2) v = static_cast<signed char>(v);
                bool neg = v < 0;
                uint64_t mag = neg ? static_cast<uint64_t>(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
                emit_number(out, mag, neg, 10, false, spec);
                break;
            }
            case 'u':
            case 'x':
            case 'X':
            case 'o':
            case 'b': {
                uint64_t v;
                if (length >= 1) v = length == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned long long);
                else v = va_arg(ap, unsigned int);
                if (length == -1) v = static_cast<unsigned short>(v);
                if (length == -2) v = static_cast<unsigned char>(v);
                unsigned base = c == 'u' ? 10u : (c == 'o' ? 8u : (c == 'b' ? 2u : 16u));
                emit_number(out, v, false, base, c == 'X', spec);
                break;
            }
            case 'p': {
                auto v = reinterpret_cast<uintptr_t>(va_arg(ap, void*));
                Spec ps = spec;
                ps.alt = true;
                emit_number(out, v, false, 16, false, ps);
                break;
            }
            case 's': {
                const char* s = va_arg(ap, const char*);
                if (s == nullptr) s = "(null)";
                emit_text(out, s, str_len(s, spec.precision), spec);
                break;
            }
            case 'c': {
                char ch = static_cast<char>(va_arg(ap, int));
                emit_text(out, &ch, 1, spec);
                break;
            }
            case '%':
                out.put("%", 1);
                break;
            default:
                // Unknown conversion: show it, consume nothing.
                out.put("%?", 2);
                out.put(&c, 1);
                break;
        }
    }
    va_end(ap);
    return out.count;
}

size_t format(Sink sink, void* ctx, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat(sink, ctx, fmt, ap);
    va_end(ap);
    return n;
}

namespace {
struct BufCtx {
    char* buf;
    size_t cap;
    size_t used;
};
void buf_sink(void* ctx, const char* s, size_t n) {
    auto* b = static_cast<BufCtx*>(ctx);
    for (size_t i = 0; i < n; ++i) {
        if (b->cap > 0 && b->used + 1 < b->cap) b->buf[b->used++] = s[i];
    }
}
}  // namespace

size_t vsnformat(char* buf, size_t cap, const char* fmt, va_list ap) {
    BufCtx b{buf, cap, 0};
    size_t n = vformat(buf_sink, &b, fmt, ap);
    if (cap > 0) buf[b.used] = '\0';
    return n;
}

size_t snformat(char* buf, size_t cap, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = vsnformat(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

}  // namespace capos::fmt
