// ring_dispatch.cpp: cap_enter, submission dispatch, async completion. The
// deadlines and their timekeeper thread: deadline.cpp.
#include "ipc/ring_dispatch.h"

#include "arch/interface/cpu.h"
#include "arch/interface/timer.h"
#include "capos/abi/syscall.h"
#include "debug/console.h"
#include "mm/kheap.h"
#include "debug/panic.h"
#include "cpu/percpu.h"
#include "sched/sched.h"
#include "capos/schema/process.capnp.h"
#include "ipc/user_copy.h"
#include "object/console.h"
#include "object/endpoint.h"
#include "object/fault_injection.h"
#include "cap/kernel_object.h"
#include "object/memory_object.h"
#include "object/park.h"
#include "object/scheduler_control.h"
#include "object/thread.h"
#include "object/timer.h"

namespace kern {

namespace abi = capos::abi;
using abi::Status;

void process_invoke(Call& call, Process& p);  // object/process_invoke.cpp
void thread_invoke(Call& call, UserThread& t);
void spawner_invoke(Call& call, KernelObject& o);  // boot/init_process.cpp

namespace {

// Where a transit table's slots start: right after its header.
constexpr size_t kTransitSlotsAt = (sizeof(CapTransit) + alignof(CapSlot) - 1) & ~(alignof(CapSlot) - 1);

// Empties the slots of p's table named by h[0..n): handles its owner was
// meant to receive but never did (see "Capabilities an op returns"). A slot
// already emptied or reused (another thread of p guessed the handle) reads
// stale and is left alone; a table being torn down is cleared anyway.
void drop_unposted(Process& p, const CapHandle* h, uint16_t n) {
    if (n == 0) return;
    LockGuard<SpinLockIrq> g(cap_lock());
    if (p.caps_closed()) return;
    for (uint16_t i = 0; i < n; ++i) (void)p.caps().drop(h[i]);
}

void op_free(AsyncOp* op) {
    if (op->transit != nullptr) transit_destroy(op->transit);
    (void)deadline_remove(&op->deadline);
    if (op->obj != nullptr) static_cast<KernelObject*>(op->obj)->release();
    if (op->big != nullptr) kfree(op->big);
    if (op->msg != nullptr) kfree(op->msg);
    op->~AsyncOp();
    kfree(op);
}

// Writes a completion's result bytes and caps to the owner's memory and
// returns the status to post.
int32_t write_results(int32_t status, const uint8_t* bytes, uint32_t len, uint64_t result_addr, uint32_t result_len_max,
                      const CapHandle* caps, uint16_t ncaps, uint64_t caps_addr, uint16_t caps_out_max,
                      uint32_t& posted_len, uint16_t& posted_caps) {
    posted_len = 0;
    posted_caps = 0;
    if (len != 0 && result_len_max != 0) {
        if (len > result_len_max) return static_cast<int32_t>(Status::result_too_large);
        if (!copy_to_user(result_addr, bytes, len).ok()) return static_cast<int32_t>(Status::bad_pointer);
        posted_len = len;
    }
    if (ncaps != 0) {
        if (ncaps > caps_out_max) return static_cast<int32_t>(Status::result_too_large);
        if (!copy_to_user(caps_addr, caps, sizeof(CapHandle) * ncaps).ok())
            return static_cast<int32_t>(Status::bad_pointer);
        posted_caps = ncaps;
    }
    return status;
}

// Every completed op of t, detached under its wait_lock_ (to post or free outside it).
OwnerOpQueue take_done(UserThread& t) {
    LockGuard<SpinLockIrq> g(t.wait_lock_);
    return t.done_.take_all();
}

// Posts every completed async op of t (t is the calling thread).
// irq_on: cap_enter's interrupt state; enabled here before real work
// (op_free may drop the last reference to an object, whose teardown may
// wait for other CPUs).
void deliver_done(UserThread& t, bool& irq_on) {
    // Unlocked peek (the common case: nothing finished). A completion that
    // lands right after it is found by the next call; the wait loop checks
    // again under wait_lock_ before it blocks.
    if (!t.done_.peek_unlocked()) return;
    if (!irq_on) {
        arch::irq_enable();
        irq_on = true;
    }
    OwnerOpQueue list = take_done(t);
    while (AsyncOp* op = list.pop_front()) {
        abi::Cqe c{};
        c.user_tag = op->user_tag;
        c.detail = op->detail;
        c.value = op->value;
        const uint8_t* bytes = op->big != nullptr ? op->big : op->small;
        c.status = write_results(op->status, bytes, op->result_len, op->result_addr, op->result_len_max, op->caps_out,
                                 op->caps_out_count, op->caps_addr, op->caps_out_max, c.result_len, c.caps_out_count);
        t.ring().post(c);
        drop_unposted(t.process(), op->caps_out + c.caps_out_count,
                      static_cast<uint16_t>(op->caps_out_count - c.caps_out_count));
        op_free(op);
    }
}

void post_sync(Call& call) {
    abi::Cqe c{};
    c.user_tag = call.sqe.user_tag;
    c.detail = call.detail;
    c.value = call.value;
    int32_t st = static_cast<int32_t>(call.status);
    if (call.status == Status::ok) {
        st = write_results(st, call.result, call.result_len, call.sqe.result_addr, call.sqe.result_len_max,
                           call.caps_out, call.caps_out_count, call.sqe.caps_addr, call.sqe.caps_out_max, c.result_len,
                           c.caps_out_count);
    }
    c.status = st;
    call.self.ring().post(c);
    drop_unposted(call.proc, call.caps_out + c.caps_out_count,
                  static_cast<uint16_t>(call.caps_out_count - c.caps_out_count));
}

void dispatch_object(Call& call) {
    KernelObject* o = call.object;
    switch (o->type()) {
        case ObjectType::console:
            ConsoleObject::invoke(call, *static_cast<ConsoleObject*>(o));
            return;
        case ObjectType::timer:
            TimerObject::invoke(call, *static_cast<TimerObject*>(o));
            return;
        case ObjectType::park:
            ParkObject::invoke(call, *static_cast<ParkObject*>(o));
            return;
        case ObjectType::thread:
            thread_invoke(call, *static_cast<UserThread*>(o));
            return;
        case ObjectType::process:
            process_invoke(call, *static_cast<Process*>(o));
            return;
        case ObjectType::memory_object:
            MemoryObject::invoke(call, *static_cast<MemoryObject*>(o));
            return;
        case ObjectType::endpoint:
            Endpoint::invoke(call, *static_cast<Endpoint*>(o));
            return;
        case ObjectType::boot_spawner:
            spawner_invoke(call, *o);
            return;
        case ObjectType::scheduler_control:  // issue 7: user-space placement
            SchedulerControl::invoke(call, *static_cast<SchedulerControl*>(o));
            return;
        case ObjectType::fault_injection:
            FaultInjectionObject::invoke(call, *static_cast<FaultInjectionObject*>(o));
            return;
        default:
            call.fail(Status::bad_method);
            return;
    }
}

// Process.exit and exitThread end the caller: they hold nothing the
// outstanding-call quota bounds, and a thread whose every call is pending
// must still be able to end itself (found by utest=fuzz: libcap's thread exit
// trapped on the refusal and the whole process died). On any other object,
// or another process, they fail at once like every refused call.
bool ends_caller(const abi::Sqe& sqe) {
    using P = cap::schema::Process;
    return sqe.interface_id == P::kInterfaceId &&
           (sqe.method == P::Methods::exit || sqe.method == P::Methods::exit_thread);
}

void dispatch_one(UserThread& t, const abi::Sqe& sqe) {
    if (sqe.interface_id == abi::kInterfaceKernelRing && sqe.flags == 0) {
        // Ring NOP (or a bad ring method): no object, no user memory, so no
        // Call to build (its zeroed capability arrays cost more than the op).
        abi::Cqe c{};
        c.user_tag = sqe.user_tag;
        c.status = static_cast<int32_t>(sqe.method == abi::kMethodNop && sqe.cap == abi::kNullCap ? Status::ok
                                                                                                  : Status::bad_method);
        t.ring().post(c);
        return;
    }
    Call call(t, t.process());
    call.sqe = sqe;
    call.result = t.result_buf();
    if ((sqe.flags & ~abi::kSqeFlagsKnown) != 0) {
        call.fail(Status::malformed_message);
    } else if (sqe.interface_id == abi::kInterfaceKernelRing) {
        if (sqe.method == abi::kMethodNop && sqe.cap == abi::kNullCap) call.status = Status::ok;
        else call.fail(Status::bad_method);
    } else if (t.ring().in_flight() > t.process().quotas().outstanding_calls && !ends_caller(sqe)) {
        call.fail(Status::quota_exceeded, static_cast<uint32_t>(abi::QuotaKind::outstanding_calls));
    } else if (sqe.params_len > kMaxParams || sqe.caps_in_count > kMaxCallCaps) {
        call.fail(Status::malformed_message);
    } else if (!copy_from_user(t.params_buf(), sqe.params_addr, sqe.params_len).ok() ||
               !copy_from_user(call.caps_in, sqe.caps_addr, sizeof(CapHandle) * sqe.caps_in_count).ok()) {
        call.fail(Status::bad_pointer);
    } else {
        call.params = t.params_buf();
        call.params_len = sqe.params_len;
        call.caps_in_count = sqe.caps_in_count;
        Result<CapRef> r = Error::invalid_slot;
        {
            LockGuard<SpinLockIrq> g(cap_lock());
            r = t.process().caps().lookup(sqe.cap, abi::kRightCall);
            if (r.ok()) r.value().object->add_ref();
        }
        if (!r.ok()) {
            call.fail(r.error());
        } else {
            call.object = r.value().object;
            call.rights = r.value().rights;
            dispatch_object(call);
            if (call.object != nullptr) call.object->release();
        }
    }
    if (call.async == nullptr) post_sync(call);
}

// True if t should poll before blocking (see kEnterSpinNs).
bool want_spin(UserThread& t) {
    if (sched::cpu_count() < 2) return false;
    if (sched::nr_runnable(cpu::id()) > 1) return false;  // someone else could use this CPU
    LockGuard<SpinLockIrq> g(t.wait_lock_);
    uint32_t n = 0;  // looks at the newest 16 only
    const AsyncOp* op = t.pending_.find([&](const AsyncOp& o) { return o.spin_wait || ++n >= 16; });
    return op != nullptr && op->spin_wait;
}

// Polls t's done list for up to `ns`; stops early when a thread is queued
// on this CPU or the cap_enter deadline fires. False if it timed out.
bool spin_for_completion(UserThread& t, const bool& fired, unsigned self, uint64_t ns) {
    const uint64_t start = arch::read_cycles();
    const uint64_t limit = arch::ns_to_cycles(ns);
    uint32_t k = 0;
    while (!t.done_.peek_unlocked()) {
        if (__atomic_load_n(&fired, __ATOMIC_ACQUIRE)) return true;  // not a spin failure
        arch::cpu_relax();
        if ((++k & 15) == 0) {
            if (arch::read_cycles() - start > limit) return false;
            // Preemption may have moved us; that CPU's queue is the one that counts.
            if (cpu::id() != self || sched::nr_runnable(self) > 1) return true;
        }
    }
    return true;
}

// Submissions cap_enter may dispatch with interrupts still off: the kernel
// ring NOP (no object, no user memory beyond the ring).
bool fast_sqe(const abi::Sqe& sqe) { return sqe.interface_id == abi::kInterfaceKernelRing; }

struct EnterWait {
    Deadline d;
    UserThread* t;
    bool fired;
};

void enter_wait_fire(Deadline* d) {
    auto* w = reinterpret_cast<EnterWait*>(d);
    LockGuard<SpinLockIrq> g(w->t->wait_lock_);
    __atomic_store_n(&w->fired, true, __ATOMIC_RELEASE);  // also polled by spin_for_completion
    if (w->t->waiting_) (void)sched::wake(*w->t->kthread());
}

}  // namespace

void Call::fail(Error e) {
    status = to_status(e);
    detail = 0;
    if (e == Error::quota) detail = static_cast<uint32_t>(abi::QuotaKind::cap_slots);
}

Result<CapTransit*> transit_create(uint16_t n) {
    if (n == 0 || n > kMaxCallCaps) return Error::invalid_argument;
    void* mem = TRY(kmalloc(kTransitSlotsAt + sizeof(CapSlot) * n, alignof(CapSlot)));
    auto* slots = reinterpret_cast<CapSlot*>(static_cast<uint8_t*>(mem) + kTransitSlotsAt);
    return new (mem) CapTransit(slots, n);
}

void transit_destroy(CapTransit* t) {
    // At most kMaxCallCaps slots: one bounded clear, looped only for form.
    for (;;) {
        LockGuard<SpinLockIrq> g(cap_lock());
        if (t->table.clear(4 * kMaxCallCaps)) break;
    }
    transit_free_empty(t);
}

void transit_free_empty(CapTransit* t) {
    t->~CapTransit();  // traps unless empty: its slots may be linked into other tables
    kfree(t);
}

Result<AsyncOp*> op_create(Call& call, OpUnlinkFn unlink, void* obj) {
    void* mem = TRY(kmalloc(sizeof(AsyncOp), alignof(AsyncOp)));
    auto* op = new (mem) AsyncOp();
    op->owner = &call.self;
    op->user_tag = call.sqe.user_tag;
    op->result_addr = call.sqe.result_addr;
    op->result_len_max = call.sqe.result_len_max;
    op->caps_addr = call.sqe.caps_addr;
    op->caps_out_max = call.sqe.caps_out_max;
    op->unlink = unlink;
    op->obj = obj;
    if (obj != nullptr) static_cast<KernelObject*>(obj)->add_ref();
    UserThread& t = call.self;
    {
        LockGuard<SpinLockIrq> g(t.wait_lock_);
        t.pending_.push_front(op);
        ++t.pending_count_;
    }
    call.async = op;
    return op;
}

void op_complete(AsyncOp* op) {
    UserThread* t = op->owner;
    LockGuard<SpinLockIrq> g(t->wait_lock_);
    t->pending_.erase(op);
    --t->pending_count_;
    t->done_.push_back(op);  // its head is a release store: deliver_done peeks unlocked
    if (t->waiting_ && !t->dead_) (void)sched::wake(*t->kthread());
}

void op_arm_deadline(AsyncOp* op, uint64_t at_ns, void (*fire)(Deadline*)) {
    op->deadline.at_ns = at_ns;
    op->deadline.fire = fire;
    deadline_add(&op->deadline);
}

AsyncOp* op_of(Deadline* d) {
    return reinterpret_cast<AsyncOp*>(reinterpret_cast<uint8_t*>(d) - offsetof(AsyncOp, deadline));
}

// The decode step's fixed in-cap table (cap/call_decode.cpp) holds every in-cap a call may carry.
static_assert(kMaxCallCaps == 16);

decode::CallIn decode_input(const Call& call) {
    decode::CallIn in;
    in.interface_id = call.sqe.interface_id;
    in.method = call.sqe.method;
    in.rights = call.rights;
    in.params = call.params;
    in.params_len = call.params != nullptr ? call.params_len : 0;
    in.caps_in_count = call.caps_in_count;
    in.caps_out_max = call.sqe.caps_out_max;
    return in;
}

void ops_release_all(UserThread& t) {
    {
        LockGuard<SpinLockIrq> g(t.wait_lock_);
        t.dead_ = true;
    }
    for (;;) {
        AsyncOp* op;
        {
            LockGuard<SpinLockIrq> g(t.wait_lock_);
            op = t.pending_.front();
        }
        if (op == nullptr) break;
        bool mine = false;
        if (deadline_remove(&op->deadline) && op->unlink == nullptr) mine = true;
        if (!mine && op->unlink != nullptr) mine = op->unlink(op);
        if (mine) {
            {
                LockGuard<SpinLockIrq> g(t.wait_lock_);
                t.pending_.erase(op);
                --t.pending_count_;
            }
            op_free(op);
        } else {
            sched::yield();  // a completion is under way; it moves op to the done list
        }
    }
    OwnerOpQueue list = take_done(t);
    while (AsyncOp* op = list.pop_front()) {
        drop_unposted(t.process(), op->caps_out, op->caps_out_count);  // completed, never posted
        op_free(op);
    }
}

int64_t cap_enter(uint32_t min_complete, uint64_t timeout_ns) {
    UserThread* tp = current_user_thread();
    if (tp == nullptr) return static_cast<int64_t>(Status::internal);
    UserThread& t = *tp;
    KernelRing& ring = t.ring();
    if (t.kill_requested()) t.exit_current(0, ExitReason::killed);
    if (min_complete > ring.cq_entries()) return static_cast<int64_t>(Status::invalid_argument);

    // Interrupts are still off from SYSCALL (syscall.S no longer enables
    // them): the short, bounded part of cap_enter -- delivering finished
    // ops, consuming one batch of NOPs, posting -- runs without them, so
    // its SpinLockIrq sections need no STI (expensive under TCG, where STI
    // ends the translation block twice). Anything that may run long or
    // wait for another CPU (object dispatch, a second batch, blocking,
    // thread exit) enables them first.
    bool irq_on = arch::irq_enabled();
    deliver_done(t, irq_on);
    (void)ring.flush_overflow();
    bool progress = false;
    bool stalled = false;
    for (;;) {
        abi::Sqe batch[8];
        auto pending = ring.sq_pending();
        if (!pending.ok()) return static_cast<int64_t>(to_status(pending.error()));
        if (pending.value() == 0) break;
        // Bounded work with interrupts off: the first batch only; later
        // batches run with interrupts on (preemptible).
        if (progress && !irq_on) {
            arch::irq_enable();
            irq_on = true;
        }
        auto n = ring.consume(batch, 8);
        if (!n.ok()) return static_cast<int64_t>(to_status(n.error()));
        if (n.value() == 0) {
            stalled = true;  // back-pressure: no completion place left
            break;
        }
        progress = true;
        for (uint32_t i = 0; i < n.value(); ++i) {
            if (!irq_on && !fast_sqe(batch[i])) {
                arch::irq_enable();
                irq_on = true;
            }
            dispatch_one(t, batch[i]);
            if (t.kill_requested()) t.exit_current(0, ExitReason::killed);
        }
        deliver_done(t, irq_on);
    }
    (void)ring.flush_overflow();
    // Back-pressure with completions waiting to be reaped: the user must
    // reap before anything more can be consumed (nothing was dropped).
    if (stalled && !progress && ring.cq_ready() > 0) return static_cast<int64_t>(Status::overflow);

    if (const uint32_t ready = ring.cq_ready(); ready >= min_complete || timeout_ns == 0) return ready;

    EnterWait w{};
    w.t = &t;
    w.d.fire = enter_wait_fire;
    const bool timed = timeout_ns != abi::kTimeoutInfinite;
    if (timed) {
        w.d.at_ns = deadline_after(timeout_ns);
        deadline_add(&w.d);
    }
    int64_t result = 0;
    bool spun = false;
    for (;;) {
        deliver_done(t, irq_on);
        (void)ring.flush_overflow();
        if (ring.cq_ready() >= min_complete) {
            result = ring.cq_ready();
            break;
        }
        if (t.kill_requested()) {
            if (timed) (void)deadline_remove(&w.d);
            t.exit_current(0, ExitReason::killed);
        }
        if (!spun) {
            spun = true;
            if (!irq_on) {
                arch::irq_enable();
                irq_on = true;
            }
            if (want_spin(t)) {
                (void)spin_for_completion(t, w.fired, cpu::id(), kEnterSpinNs);
                continue;
            }
        }
        arch::IrqState s = arch::irq_save();
        t.wait_lock_.lock();
        if (w.fired) {
            t.wait_lock_.unlock();
            arch::irq_restore(s);
            deliver_done(t, irq_on);
            (void)ring.flush_overflow();
            result = ring.cq_ready() >= min_complete ? static_cast<int64_t>(ring.cq_ready())
                                                     : static_cast<int64_t>(Status::timeout);
            break;
        }
        if (!t.done_.empty() || t.kill_requested()) {
            t.wait_lock_.unlock();
            arch::irq_restore(s);
            continue;
        }
        t.waiting_ = true;
        atomic_store(&t.kthread()->state_, Thread::State::blocked, MemOrder::release);
        t.wait_lock_.unlock();
        sched::block();
        t.wait_lock_.lock();
        t.waiting_ = false;
        t.wait_lock_.unlock();
        arch::irq_restore(s);
    }
    if (timed) (void)deadline_remove(&w.d);
    return result;
}

}  // namespace kern
