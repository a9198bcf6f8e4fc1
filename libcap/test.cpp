// test.cpp - registry and runner of the in-guest test framework.
#include "libcap/test.h"

#include "libcap/print.h"

namespace cap::test {

namespace {

Case* g_head = nullptr;
Case* g_tail = nullptr;

bool same(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

}  // namespace

bool register_case(Case* c) {
    c->next = nullptr;
    // Append, so cases run in the order the linker laid out their constructors.
    if (g_tail == nullptr) g_head = c;
    else g_tail->next = c;
    g_tail = c;
    return true;
}

namespace {
// The value of the word `key` (e.g. "ucase=") of args: copied into buf and
// true when present. A value that does not fit is cut to cap-1 bytes when
// `cut` (it then names no case, which run_all reports), else left empty.
bool word_value(const char* args, const char* key, size_t klen, char* buf, size_t cap, bool cut) {
    for (const char* p = args; *p != '\0'; ++p) {
        if (p != args && p[-1] != ' ') continue;  // only at the start of a word
        size_t k = 0;
        while (k < klen && p[k] == key[k]) ++k;
        if (k != klen) continue;
        const char* v = p + k;
        size_t n = 0;
        while (v[n] != '\0' && v[n] != ' ') ++n;
        if (n >= cap) {
            if (!cut) return true;
            n = cap - 1;
        }
        __builtin_memcpy(buf, v, n);
        buf[n] = '\0';
        return true;
    }
    return false;
}
}  // namespace

const char* filter_from_args(const char* args, char* buf, size_t cap) {
    if (cap == 0) return "";
    buf[0] = '\0';
    if (args == nullptr) return buf;
    // ucase= (the kernel option, passed on to the utest program) wins over
    // the older utest= word of a program's own command line.
    static constexpr char kCase[] = "ucase=";
    static constexpr char kKey[] = "utest=";
    if (word_value(args, kCase, sizeof kCase - 1, buf, cap, true)) return buf;
    (void)word_value(args, kKey, sizeof kKey - 1, buf, cap, false);
    return buf;
}

void reset_registry() {
    g_head = nullptr;
    g_tail = nullptr;
}

Summary run_all(const char* suite, const char* filter) {
    Summary s;
    const bool filtered = filter != nullptr && *filter != '\0';
    for (Case* c = g_head; c != nullptr; c = c->next) {
        if (filtered && !same(c->name, filter)) continue;
        Context ctx;
        c->fn(ctx);
        if (ctx.failures == 0) {
            s.passed++;
            print("[utest] %s.%s PASS\n", suite, c->name);
        } else {
            s.failed++;
            print("[utest] %s.%s FAIL: %s:%d %s\n", suite, c->name, ctx.fail_file, ctx.fail_line, ctx.fail_expr);
        }
    }
    if (filtered && s.passed + s.failed == 0) {
        // A misspelt case name must not pass as "nothing failed".
        print("[utest] %s: no case named '%s'\n", suite, filter);
        s.failed = 1;
    }
    print("[utest] %s %u passed, %u failed\n", suite, s.passed, s.failed);
    return s;
}

}  // namespace cap::test
