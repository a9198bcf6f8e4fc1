// fault_injection.cpp: FaultInjection.arm / disarm / counts.
#include "object/fault_injection.h"

#include "capos/capnp/capnp.h"
#include "capos/schema/fault.capnp.h"
#include "debug/fault_inject.h"
#include "ipc/ring_dispatch.h"
#include "cap/call_decode.h"
#include "object/address_space.h"
#include "object/process.h"
#include "object/thread.h"

namespace kern {

namespace {
FaultInjectionObject g_faults;
}  // namespace

FaultInjectionObject& FaultInjectionObject::get() { return g_faults; }

void FaultInjectionObject::invoke(Call& call, FaultInjectionObject&) {
    using capos::abi::Status;
    using Schema = cap::schema::FaultInjection;
    if (call.sqe.interface_id != Schema::kInterfaceId) return call.fail(Status::bad_method);
    const uint16_t m = call.sqe.method;
    if (m == Schema::Methods::counts) {
        AddressSpace* as = call.proc.address_space();
        call.result_len = decode::fault_counts_result(call.result, kMaxResult, call.proc.thread_slots(),
                                                      Thread::live_count(), as != nullptr ? as->table_frames() : 0);
        if (call.result_len == 0) call.fail(Status::internal);
        return;
    }
    if (m != Schema::Methods::arm && m != Schema::Methods::disarm) return call.fail(Status::bad_method);
    if ((call.rights & capos::abi::kRightWrite) == 0) return call.fail(Status::rights);
    fault::Plan& plan = call.self.kthread()->fault_plan_;
    if (m == Schema::Methods::disarm) {
        plan.disarm();
        call.value = plan.injected();
        call.result_len = decode::fault_disarm_result(call.result, kMaxResult, plan.injected(),
                                                      plan.seen(fault::Kind::frame), plan.seen(fault::Kind::heap));
        if (call.result_len == 0) call.fail(Status::internal);
        return;
    }
    cap::capnp::FlatMessageReader<1> pr;
    if (pr.init_flat(call.params, call.params_len) != cap::capnp::Error::Ok || pr.validate() != cap::capnp::Error::Ok)
        return call.fail(Status::malformed_message);
    const auto params = pr.root<Schema::ArmParams>();
    const fault::Rule rule{params.nth(), params.every()};
    switch (params.kind()) {
        case cap::schema::AllocKind::Frame:
            plan.arm(rule, fault::Rule{});
            return;
        case cap::schema::AllocKind::Heap:
            plan.arm(fault::Rule{}, rule);
            return;
    }
    call.fail(Status::invalid_argument);
}

}  // namespace kern
