// timer.cpp: Timer.now / sleep / sleepUntil / resolution.
#include "object/timer.h"

#include "ipc/ring_dispatch.h"
#include "lib/saturating.h"
#include "sched/sched.h"
#include "cap/kernel_object.h"

namespace kern {

namespace {
TimerObject g_timer;

void sleep_fire(Deadline* d) {
    AsyncOp* op = op_of(d);
    op->status = 0;
    op_complete(op);
}
}  // namespace

TimerObject& TimerObject::get() { return g_timer; }

void TimerObject::invoke(Call& call, TimerObject&) {
    // Decode (cap/call_decode): interface, method, the duration or deadline.
    decode::TimerCall d;
    const decode::Verdict v = decode::timer(decode_input(call), &d);
    if (!v.ok()) return call.fail(v.status, v.detail);
    // Invoke.
    using Op = decode::TimerCall::Op;
    if (d.op == Op::now || d.op == Op::resolution) {
        const uint64_t ns = d.op == Op::now ? now_ns() : 1'000'000'000ull / sched::kTimerHz;
        call.value = ns;
        call.result_len = decode::timer_ns_result(call.result, kMaxResult, ns);
        return;
    }
    const uint64_t now = now_ns();
    const uint64_t at = d.op == Op::sleep ? saturating_add(now, d.ns) : d.ns;
    if (at <= now) return;  // already due
    auto op = op_create(call, nullptr, nullptr);
    if (!op.ok()) return call.fail(op.error());
    op_arm_deadline(op.value(), at, sleep_fire);
}

}  // namespace kern
