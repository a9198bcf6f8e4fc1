// spawn_child.cpp - the child the spawner tests start. Arguments pick what it does:
//   exit=<n>   exits at once with code n
//   sleep      sleeps until killed
//   sleep      sleeps until killed (needs "timer"; without it exits 97 at once)
//   try-spawn  spawns `spawn-child exit=0` through its "spawner" capability and
//              waits for it; exits 0 on success, else 100 + (-status)
//   caps       exits with 200 + a mask of the well-known capabilities it holds
//              (1 console, 2 park, 4 timer; 8 if each held one is also found
//              under its name) and +16 if process or thread is missing
#include "libcap/calls.h"
#include "libcap/runtime.h"
#include "srv.h"

int main(cap::StartInfo& info) {
    const char* a = info.args();
    char word[16] = {};
    for (uint32_t i = 0; i + 1 < sizeof word && a[i] != '\0' && a[i] != ' '; ++i) word[i] = a[i];
    if (srv::str_eq(word, "sleep")) {
        if (info.timer() == capos::abi::kNullCap) return 97;  // nothing to sleep on: do not spin
        for (;;) (void)cap::timer_sleep(cap::this_ring(), info.timer(), 3600'000'000'000ull);
    }
    if (srv::str_eq(word, "caps")) {
        int mask = 0;
        bool named_match = true;
        const struct {
            capos::abi::CapHandle h;
            const char* name;
            int bit;
        } known[] = {{info.console(), "console", 1}, {info.park(), "park", 2}, {info.timer(), "timer", 4}};
        for (const auto& k : known) {
            if (k.h == capos::abi::kNullCap) continue;
            mask |= k.bit;
            named_match = named_match && info.named(k.name) == k.h;
        }
        if (mask != 0 && named_match) mask |= 8;
        if (info.process() == capos::abi::kNullCap || info.cap(cap::StartCap::thread) == capos::abi::kNullCap)
            mask |= 16;
        return 200 + mask;
    }
    if (srv::str_eq(word, "try-spawn")) {
        const capos::abi::CapHandle sp = info.named("spawner");
        if (sp == 0) return 99;
        auto r = srv::spawn(sp, "grandchild", "spawn-child", "exit=0", nullptr, 0, srv::Quotas{});
        if (!r.ok()) return 100 - static_cast<int>(r.status());
        auto w = srv::wait_process(r.value().handle);
        (void)srv::drop_caps(&r.value().handle, 1);
        return w.ok() && w.value().code == 0 ? 0 : 98;
    }
    return static_cast<int>(srv::arg_u64(a, "exit", 0));
}
