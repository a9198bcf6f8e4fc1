// process_invoke.cpp: the calls of a process's Process capability (its own),
// a parent's ProcessHandle and a Thread capability: decode, then invoke.
#include "object/process.h"

#include "arch/interface/cpu.h"
#include "capos/abi/layout.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/process.capnp.h"
#include "boot/boot_info.h"
#include "debug/console.h"
#include "boot/init_process.h"
#include "mm/kheap.h"
#include "debug/panic.h"
#include "object/scheduler_control.h"
#include "ipc/ring_dispatch.h"
#include "sched/sched.h"
#include "object/address_space.h"
#include "object/endpoint.h"
#include "cap/kernel_object.h"
#include "object/memory_object.h"
#include "object/thread.h"

// --- Process / ProcessHandle / Thread interfaces ------------------------------------

namespace kern {

namespace {

using capos::abi::QuotaKind;
using capos::abi::Status;

// Before a call that never returns (the caller exits): the dispatcher's
// reference to the target would otherwise leak. The caller's own process
// stays alive through its thread's reference.
void drop_target(Call& call) {
    if (call.object != nullptr) call.object->release();
    call.object = nullptr;
}

Result<CapHandle> grant(Process& p, KernelObject* o, Rights rights) {
    LockGuard<SpinLockIrq> g(cap_lock());
    return p.caps().insert(o, rights);
}

bool slots_available(Process& p, uint32_t n) {
    LockGuard<SpinLockIrq> g(cap_lock());
    return p.caps().available() >= n;
}

// Hands a new object to the caller as its one out-cap.
void return_cap(Call& call, KernelObject* o, Rights rights) {
    auto h = grant(call.proc, o, rights);
    if (!h.ok()) return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::cap_slots));
    call.caps_out[0] = h.value();
    call.caps_out_count = 1;
    call.value = h.value();
}

bool waiter_unlink(AsyncOp* op) {
    auto* p = static_cast<Process*>(op->obj);
    LockGuard<SpinLockIrq> g(p->lock_);
    return p->waiters_for_unlink().remove(op);
}

bool joiner_unlink(AsyncOp* op) {
    auto* t = static_cast<UserThread*>(op->obj);
    LockGuard<SpinLockIrq> g(t->process().lock_);
    return t->joiners_.remove(op);
}

void handle_invoke(Call& call, Process& p, const decode::ProcessCall& d) {
    using Op = decode::ProcessCall::Op;
    if (d.op == Op::handle_id) {
        call.value = p.id();
        call.result_len = decode::process_id_result(call.result, kMaxResult, call.value);
        return;
    }
    if (d.op == Op::handle_kill) {
        p.terminate(-1, ExitReason::killed);
        if (&p == &call.proc) {
            drop_target(call);
            call.self.exit_current(-1, ExitReason::killed);
        }
        return;
    }
    auto op = op_create(call, waiter_unlink, &p);  // Op::handle_wait
    if (!op.ok()) return call.fail(op.error());
    if (!p.add_waiter(op.value())) op_complete(op.value());
}

}  // namespace

void process_invoke(Call& call, Process& p) {
    // Decode (cap/call_decode): interface (Process or ProcessHandle),
    // method, rights, result room, the parameters (map's memory capability
    // an index into the in-caps); then the checks against live state below.
    decode::ProcessCall d;
    const decode::Verdict v = decode::process(decode_input(call), &p == &call.proc, &d);
    if (!v.ok()) return call.fail(v.status, v.detail);
    using Op = decode::ProcessCall::Op;
    if (d.op == Op::handle_id || d.op == Op::handle_kill || d.op == Op::handle_wait) return handle_invoke(call, p, d);
    switch (d.op) {
        case Op::id:
            call.value = p.id();
            call.result_len = decode::process_id_result(call.result, kMaxResult, call.value);
            return;
        case Op::exit:
            p.terminate(d.code, ExitReason::exited);
            if (&p == &call.proc) {
                drop_target(call);
                call.self.exit_current(d.code, ExitReason::exited);
            }
            return;
        case Op::exit_thread:
            drop_target(call);
            call.self.exit_current(d.code, ExitReason::exited);
        case Op::create_thread: {
            // Decode, live state: the thread quota and a slot for the handle.
            if (p.thread_count() >= p.quotas().threads)
                return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::threads));
            if (!slots_available(call.proc, 1))
                return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::cap_slots));
            // Invoke. Created stopped: it starts only once its handle is in the
            // caller's table. If another thread of the caller took the last slot
            // meanwhile, the new thread is started already killed, so it exits
            // at its first kernel boundary without running user code, and the
            // caller's quota_exceeded is true (nothing of it remains).
            auto t = p.create_thread(d.entry, d.stack_top, d.arg, false);
            if (!t.ok()) {
                if (t.error() == Error::quota)
                    return call.fail(Status::quota_exceeded,
                                     static_cast<uint32_t>(p.thread_count() >= p.quotas().threads ? QuotaKind::threads
                                                                                                  : QuotaKind::frames));
                return call.fail(t.error());
            }
            UserThread* nt = t.value().get();
            return_cap(call, nt, kRightsObject);
            if (call.caps_out_count == 0) nt->request_kill();
            sched::start(*nt->kthread());
            return;
        }
        case Op::allocate: {
            if (!slots_available(call.proc, 1))
                return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::cap_slots));
            auto mo = MemoryObject::create(p, d.bytes);
            if (!mo.ok()) {
                if (mo.error() == Error::quota)
                    return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::frames));
                return call.fail(mo.error());
            }
            return_cap(call, mo.value(), kRightsMemory);
            mo.value()->release();  // the creation reference; the slot holds its own
            return;
        }
        case Op::map: {
            // Decode, live state: the memory capability and the rights the mapping needs.
            Rights need = capos::abi::kRightMap | (d.writable ? capos::abi::kRightWrite : 0) |
                          (d.executable ? capos::abi::kRightExecute : 0);
            MemoryObject* mo = nullptr;
            {
                LockGuard<SpinLockIrq> g(cap_lock());
                auto l = call.proc.caps().lookup(call.caps_in[d.memory_cap], need);
                if (!l.ok()) return call.fail(l.error());
                if (l.value().object->type() != ObjectType::memory_object) return call.fail(Status::invalid_argument);
                mo = static_cast<MemoryObject*>(l.value().object);
                mo->add_ref();
            }
            auto res = p.map(mo, d.address, d.offset, d.length, d.writable, d.executable);
            mo->release();
            if (!res.ok()) return call.fail(res.error());
            return;
        }
        case Op::unmap: {
            auto res = p.unmap(d.address, d.length);
            if (!res.ok()) return call.fail(res.error());
            return;
        }
        case Op::drop_caps: {
            // Empties the caller's slots named by the in-caps (decode: all must be
            // valid first, so it is all or nothing).
            LockGuard<SpinLockIrq> g(cap_lock());
            for (uint16_t i = 0; i < call.caps_in_count; ++i) {
                auto l = p.caps().lookup(call.caps_in[i], 0);
                if (!l.ok()) return call.fail(l.error());
                for (uint16_t k = 0; k < i; ++k)
                    if (call.caps_in[k] == call.caps_in[i]) return call.fail(Status::invalid_argument);
            }
            for (uint16_t i = 0; i < call.caps_in_count; ++i) (void)p.caps().drop(call.caps_in[i]);
            return;
        }
        case Op::create_endpoint: {
            if (!slots_available(call.proc, 1))
                return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::cap_slots));
            auto ep = Endpoint::create(p);
            if (!ep.ok()) return call.fail(ep.error());
            return_cap(call, ep.value(), kRightsObject);
            ep.value()->release();
            return;
        }
        default:
            return call.fail(Status::bad_method);
    }
}

void thread_invoke(Call& call, UserThread& t) {
    // Decode (cap/call_decode): interface, method, setCpuHint's CPU.
    decode::ThreadCall d;
    const decode::Verdict v = decode::thread(decode_input(call), &t == &call.self, sched::cpu_count(), &d);
    if (!v.ok()) return call.fail(v.status, v.detail);
    using Op = decode::ThreadCall::Op;
    switch (d.op) {
        case Op::id:
            call.value = t.id();
            call.result_len = decode::thread_id_result(call.result, kMaxResult, call.value);
            return;
        case Op::join: {
            auto op = op_create(call, joiner_unlink, &t);
            if (!op.ok()) return call.fail(op.error());
            if (!t.add_joiner(op.value())) op_complete(op.value());
            return;
        }
        case Op::set_weight:  // issue 7: fair-share weight (object/scheduler_control decodes it)
            return SchedulerControl::thread_set_weight(call, t);
        case Op::set_cpu_hint: {
            // Applied as the thread's allowed-CPU mask {cpu} (a hard pin; default
            // placement and a placement server's answers both honour the mask).
            // Takes effect at the thread's next placement (wake-up or start).
            // Added for benchmark-micro's same-CPU / cross-CPU cases.
            // The reaper frees an ended thread's kernel Thread while its handles
            // live on; until exited_ is set (under this lock) it cannot have
            // (found by utest=fuzz: setCpuHint on an ended thread wrote into freed
            // memory, by then an endpoint's queued call, and the kernel faulted).
            LockGuard<SpinLockIrq> g(t.process().lock_);
            if (t.exited_) return call.fail(Status::peer_dead);
            if (!t.kthread()->set_affinity(CpuMask::only(d.cpu)).ok()) return call.fail(Status::invalid_argument);
            return;
        }
        case Op::cpu_time: {
            // No parameters to decode. The kernel Thread is read under the
            // process lock for the reaper reason given at setCpuHint.
            LockGuard<SpinLockIrq> g(t.process().lock_);
            if (t.exited_) return call.fail(Status::peer_dead);
            call.result_len = t.kthread()->encode_cpu_time(call.result, kMaxResult);
            if (call.result_len == 0) return call.fail(Status::internal);
            return;
        }
        default:
            return call.fail(Status::bad_method);
    }
}

}  // namespace kern
