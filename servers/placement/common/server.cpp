// server.cpp: the generic placement server: SchedulerControl events in, a policy's decisions out.
#include "server.h"

#include "capos/abi/layout.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/ring.h"
#include "wire_codec.h"

namespace placement {
namespace {

using capos::abi::CapHandle;
using capos::abi::Cqe;

constexpr uint64_t kSchedCtl = 0xab41dac3006e3c47ull;
constexpr uint16_t kAttach = 0, kNextEvents = 1, kPlace = 2;
constexpr uint64_t kHandoverVa = 0x0000'5000'0000'0000ull;
constexpr uint32_t kHandoverBytes = 64 * 1024;

struct Raw {
  Cqe cqe{};
  bool ok = false;
};

Raw call(CapHandle cap, uint16_t method, const void* params, uint32_t plen, void* result, uint32_t rmax) {
  cap::CallArgs a;
  a.cap = cap;
  a.method = cap::iface::Method{kSchedCtl, method};
  a.params = params;
  a.params_len = plen;
  a.result = result;
  a.result_max = rmax;
  cap::Ring& r = cap::this_ring();
  Raw out;
  auto tag = r.start(cap::make_sqe(a));
  if (!tag.ok()) {
    out.cqe.status = static_cast<int32_t>(tag.status());
    return out;
  }
  auto c = r.wait(tag.value());
  if (!c.ok()) {
    out.cqe.status = static_cast<int32_t>(c.status());
    return out;
  }
  out.cqe = c.value();
  out.ok = out.cqe.status == 0;
  return out;
}

uint64_t arg_u64(const char* args, const char* key, uint64_t dflt) {
  size_t kl = 0;
  while (key[kl] != '\0') ++kl;
  for (const char* p = args; *p != '\0'; ++p) {
    if ((p == args || p[-1] == ' ')) {
      size_t i = 0;
      while (i < kl && p[i] == key[i]) ++i;
      if (i == kl && p[kl] == '=') {
        uint64_t v = 0;
        for (const char* q = p + kl + 1; *q >= '0' && *q <= '9'; ++q) v = v * 10 + static_cast<uint64_t>(*q - '0');
        return v;
      }
    }
  }
  return dflt;
}

bool arg_is(const char* args, const char* kv) {
  size_t n = 0;
  while (kv[n] != '\0') ++n;
  for (const char* p = args; *p != '\0'; ++p) {
    if (p != args && p[-1] != ' ') continue;
    size_t i = 0;
    while (i < n && p[i] == kv[i]) ++i;
    if (i == n && (p[n] == '\0' || p[n] == ' ')) return true;
  }
  return false;
}

volatile uint64_t* g_handover = nullptr;

bool map_handover(cap::StartInfo& info) {
  CapHandle mo = info.named("handover");
  if (mo == capos::abi::kNullCap) return false;
  auto r = cap::process_map(cap::this_ring(), info.process(), mo, kHandoverVa, 0, kHandoverBytes, true, false);
  if (!r.ok()) return false;
  g_handover = reinterpret_cast<volatile uint64_t*>(kHandoverVa);
  return true;
}

uint64_t now_ns(cap::StartInfo& info) {
  auto t = cap::timer_now(cap::this_ring(), info.timer());
  return t.ok() ? t.value() : 0;
}

PolicyState g_state;  // large: static, not on the stack
alignas(8) uint8_t g_msg[8192];
alignas(8) uint8_t g_res[8192];
Event g_events[64];
Decisions g_out;

// Predecessor side: someone asked for our state. Export it, then wait for
// the verdict. Returns true if we were taken over (exit), false to resume.
bool serve_export(cap::StartInfo& info, Policy& policy, uint64_t epoch) {
  g_state = PolicyState{};
  policy.export_state(g_state);
  uint8_t* area = reinterpret_cast<uint8_t*>(kHandoverVa) + 64;
  uint32_t n = codec::encode_snapshot(area, kHandoverBytes - 64, g_state, epoch);
  g_handover[1] = n;
  __atomic_store_n(&g_handover[0], n != 0 ? 2ull : 4ull, __ATOMIC_RELEASE);
  uint64_t until = now_ns(info) + 2'000'000'000ull;
  while (now_ns(info) < until) {
    uint64_t st = __atomic_load_n(&g_handover[0], __ATOMIC_ACQUIRE);
    if (st == 3) return true;
    if (st == 4) break;
    (void)cap::timer_sleep(cap::this_ring(), info.timer(), 1'000'000);
  }
  __atomic_store_n(&g_handover[0], 0ull, __ATOMIC_RELEASE);
  cap::print("[placement] %s: successor did not take over; resuming\n", policy.name());
  return false;
}

// Successor side: ask the running server for its snapshot and import it.
bool take_over(cap::StartInfo& info, Policy& policy, uint64_t* resume_after) {
  __atomic_store_n(&g_handover[0], 1ull, __ATOMIC_RELEASE);
  uint64_t until = now_ns(info) + 2'000'000'000ull;
  while (__atomic_load_n(&g_handover[0], __ATOMIC_ACQUIRE) != 2) {
    if (now_ns(info) > until || __atomic_load_n(&g_handover[0], __ATOMIC_ACQUIRE) == 4) return false;
    (void)cap::timer_sleep(cap::this_ring(), info.timer(), 1'000'000);
  }
  uint32_t n = static_cast<uint32_t>(g_handover[1]);
  const uint8_t* area = reinterpret_cast<const uint8_t*>(kHandoverVa) + 64;
  if (n == 0 || n > kHandoverBytes - 64 || !codec::decode_snapshot(area, n, g_state) || !policy.import_state(g_state)) {
    __atomic_store_n(&g_handover[0], 4ull, __ATOMIC_RELEASE);
    return false;
  }
  // No duplicates in what we took over (the hot-swap test checks this line).
  uint32_t dups = 0;
  for (uint32_t i = 0; i < g_state.nthreads; ++i)
    for (uint32_t k = i + 1; k < g_state.nthreads; ++k)
      if (g_state.threads[i].thread_id == g_state.threads[k].thread_id) ++dups;
  cap::print("[placement] %s imported %s v%u snapshot: threads=%u duplicates=%u last_seq=%llu\n", policy.name(),
             g_state.policy, g_state.version, g_state.nthreads, dups,
             static_cast<unsigned long long>(g_state.last_seq));
  *resume_after = g_state.last_seq;
  return true;
}

}  // namespace

int run_server(cap::StartInfo& info, Policy& policy) {
  const char* args = info.args();
  CapHandle ctl = info.named("schedctl");
  if (ctl == capos::abi::kNullCap) {
    cap::print("[placement] %s: no schedctl capability\n", policy.name());
    return 2;
  }
  const uint64_t deadline_ns = arg_u64(args, "deadline_us", 50) * 1000;
  const uint64_t fail_after = arg_u64(args, "fail_after", 0);
  const bool fail_hang = arg_is(args, "fail=hang");
  const bool fail_garbage = arg_is(args, "fail=garbage");
  const bool fail_exit = arg_is(args, "fail=exit");
  const bool takeover = arg_u64(args, "takeover", 0) != 0;
  const bool have_handover = map_handover(info);

  // Attach: ask the kernel first for the CPU count (attach returns it).
  uint64_t resume = 0;
  policy.start(1);  // provisional; restarted below with the real count
  if (takeover) {
    if (!have_handover || !take_over(info, policy, &resume)) {
      cap::print("[placement] %s: import refused or no predecessor; the old server stays\n", policy.name());
      return 3;
    }
  }
  uint64_t p[2] = {deadline_ns, resume};
  uint32_t plen = 0;
  {
    kern::wire::Builder b(g_msg, sizeof g_msg);
    auto root = b.root(2, 0);
    kern::wire::Builder::set_u64(root, 0, p[0]);
    kern::wire::Builder::set_u64(root, 1, p[1]);
    plen = b.finish();
  }
  Raw a = call(ctl, kAttach, g_msg, plen, g_res, sizeof g_res);
  if (!a.ok) {
    cap::print("[placement] %s: attach failed (%d)\n", policy.name(), a.cqe.status);
    if (takeover) __atomic_store_n(&g_handover[0], 4ull, __ATOMIC_RELEASE);
    return 2;
  }
  kern::wire::Reader ar;
  if (!ar.init(g_res, a.cqe.result_len).ok()) return 2;
  uint64_t epoch = kern::wire::Reader::u64(ar.root(), 0);
  uint32_t ncpus = static_cast<uint32_t>(kern::wire::Reader::u64(ar.root(), 1));
  uint32_t limit = static_cast<uint32_t>(arg_u64(args, "cpus", ncpus));
  if (limit != 0 && limit < ncpus) ncpus = limit;
  if (!takeover) policy.start(ncpus);
  if (takeover) __atomic_store_n(&g_handover[0], 3ull, __ATOMIC_RELEASE);
  if (!arg_is(args, "quiet=1"))
    cap::print("[placement] %s v%u serving epoch %llu on %u cpus (deadline %llu us)\n", policy.name(), policy.version(),
               static_cast<unsigned long long>(epoch), ncpus, static_cast<unsigned long long>(deadline_ns / 1000));

  uint64_t seen = 0;
  for (;;) {
    if (have_handover && __atomic_load_n(&g_handover[0], __ATOMIC_ACQUIRE) == 1) {
      if (serve_export(info, policy, epoch)) {
        cap::print("[placement] %s handed over; exiting\n", policy.name());
        return 0;
      }
    }
    // nextEvents(max 64, timeout 20 ms): wakes as soon as an event arrives.
    uint32_t nl = 0;
    {
      kern::wire::Builder b(g_msg, sizeof g_msg);
      auto root = b.root(2, 0);
      kern::wire::Builder::set_u32(root, 0, 64);
      kern::wire::Builder::set_u64(root, 1, 20'000'000);
      nl = b.finish();
    }
    Raw r = call(ctl, kNextEvents, g_msg, nl, g_res, sizeof g_res);
    if (!r.ok) {
      // stale_slot: a successor attached; cancelled: the kernel demoted us.
      cap::print("[placement] %s: nextEvents refused (%d); exiting\n", policy.name(), r.cqe.status);
      return r.cqe.status == static_cast<int32_t>(capos::abi::Status::stale_slot) ? 0 : 4;
    }
    if (r.cqe.result_len == 0) continue;
    uint64_t dropped = 0;
    int n = codec::decode_events(g_res, r.cqe.result_len, g_events, 64, &dropped);
    if (n <= 0) continue;
    g_out.clear();
    for (int i = 0; i < n; ++i) {
      ++seen;
      policy.on_event(g_events[i], g_out);
    }
    if (fail_after != 0 && seen > fail_after) {
      if (fail_exit) return 9;
      if (fail_hang) {
        cap::print("[placement] %s: hanging (test)\n", policy.name());
        for (;;) (void)cap::timer_sleep(cap::this_ring(), info.timer(), 1'000'000'000ull);
      }
      if (fail_garbage) {
        for (size_t i = 0; i < g_out.n; ++i) g_out.d[i].cpu = 999;  // no such CPU
        if (g_out.n == 0) g_out.push(assign(0, 1, 999));
      }
    }
    if (g_out.n == 0) continue;
    uint32_t pl = codec::encode_place(g_msg, sizeof g_msg, epoch, g_out.d, g_out.n);
    Raw pr = call(ctl, kPlace, g_msg, pl, g_res, sizeof g_res);
    if (!pr.ok && pr.cqe.status != static_cast<int32_t>(capos::abi::Status::ok)) {
      cap::print("[placement] %s: place refused (%d); exiting\n", policy.name(), pr.cqe.status);
      return pr.cqe.status == static_cast<int32_t>(capos::abi::Status::stale_slot) ? 0 : 4;
    }
    // Say why the first few rejected decisions were rejected (the kernel's reasons).
    static uint32_t reported = 0;
    kern::wire::Reader rr;
    if (reported < 5 && pr.cqe.result_len != 0 && rr.init(g_res, pr.cqe.result_len).ok()) {
      auto rej = rr.struct_list(rr.root(), 0);
      for (uint32_t i = 0; rej.ok() && i < rej.value().count && reported < 5; ++i, ++reported) {
        auto e = kern::wire::Reader::list_struct(rej.value(), i);
        auto why = rr.text(e, 0);
        cap::print("[placement] %s: decision for seq %llu rejected: %.*s\n", policy.name(),
                   static_cast<unsigned long long>(kern::wire::Reader::u64(e, 1)),
                   why.ok() ? static_cast<int>(why.value().size) : 0,
                   why.ok() ? reinterpret_cast<const char*>(why.value().data) : "");
      }
    }
  }
}

}  // namespace placement
