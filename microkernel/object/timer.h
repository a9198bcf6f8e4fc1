// timer.h: the Timer kernel object (schema/timer.capnp): monotonic time from
// the TSC and sleeps completed by the timekeeper (tick granularity, 4 ms at
// 250 Hz; a sleep never ends early).
#pragma once

#include "cap/cap_table.h"

namespace kern {

struct Call;

class TimerObject final : public KernelObject {
public:
    static TimerObject& get();
    static void invoke(Call& call, TimerObject& t);
    TimerObject() : KernelObject(ObjectType::timer) {}

private:
    void on_last_ref() override {}
};

}  // namespace kern
