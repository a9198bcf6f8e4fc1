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

const char* filter_from_args(const char* args, char* buf, size_t cap) {
  if (cap == 0) return "";
  buf[0] = '\0';
  if (args == nullptr) return buf;
  static constexpr char kKey[] = "utest=";
  for (const char* p = args; *p != '\0'; ++p) {
    if (p != args && p[-1] != ' ') continue;  // only at the start of a word
    size_t k = 0;
    while (k < sizeof kKey - 1 && p[k] == kKey[k]) ++k;
    if (k != sizeof kKey - 1) continue;
    const char* v = p + k;
    size_t n = 0;
    while (v[n] != '\0' && v[n] != ' ') ++n;
    if (n >= cap) return "";
    __builtin_memcpy(buf, v, n);
    buf[n] = '\0';
    return buf;
  }
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
  print("[utest] %s %u passed, %u failed\n", suite, s.passed, s.failed);
  return s;
}

}  // namespace cap::test
