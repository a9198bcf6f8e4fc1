// hello.cpp - the smoke-test server of the default manifest: proves the chain
// init -> spawner -> child works, reports ready, then stays up.
// Capabilities: "spawner" (the spawner server's export).
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "srv.h"

int main(cap::StartInfo& info) {
    const capos::abi::CapHandle sp = info.named("spawner");
    if (sp == 0) {
        cap::print("[hello] error: no spawner capability\n");
        return 1;
    }
    auto r = srv::spawn(sp, "hello-child", "spawn-child", "exit=7", nullptr, 0, srv::Quotas{});
    if (!r.ok()) {
        cap::print("[hello] error: spawn failed: %s\n", cap::status_name(r.status()));
        return 2;
    }
    auto w = srv::wait_process(r.value().handle);
    (void)srv::drop_caps(&r.value().handle, 1);
    if (!w.ok() || w.value().code != 7) {
        cap::print("[hello] error: child did not exit with 7\n");
        return 3;
    }
    cap::print("[hello] ready: child process %llu (via the spawner) exited with code 7\n",
               static_cast<unsigned long long>(r.value().pid));
    for (;;) (void)cap::timer_sleep(cap::this_ring(), info.timer(), 3600'000'000'000ull);
}
