// timer.cpp: Timer.now / sleep / sleepUntil / resolution.
#include "object/timer.h"

#include "core/ring_dispatch.h"
#include "core/sched.h"
#include "lib/capnp_wire.h"
#include "object/kernel_object.h"

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
    using capos::abi::Status;
    if (call.sqe.interface_id != iface::kTimer) return call.fail(Status::bad_method);
    wire::Reader r;
    const uint16_t m = call.sqe.method;
    if (m == iface::kTimerNow || m == iface::kTimerResolution) {
        const uint64_t v = m == iface::kTimerNow ? now_ns() : 1'000'000'000ull / sched::kTimerHz;
        call.value = v;
        (void)result_words(call, &v, 1);
        return;
    }
    if (m != iface::kTimerSleep && m != iface::kTimerSleepUntil) return call.fail(Status::bad_method);
    if (!r.init(call.params, call.params_len).ok()) return call.fail(Status::malformed_message);
    const uint64_t arg = wire::Reader::u64(r.root(), 0);
    const uint64_t now = now_ns();
    uint64_t at = m == iface::kTimerSleep ? (arg > ~uint64_t{0} - now ? ~uint64_t{0} : now + arg) : arg;
    if (at <= now) return;  // already due
    auto op = op_create(call, nullptr, nullptr);
    if (!op.ok()) return call.fail(op.error());
    op_arm_deadline(op.value(), at, sleep_fire);
}

}  // namespace kern
