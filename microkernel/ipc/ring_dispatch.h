// ring_dispatch.h: cap_enter and the dispatch of ring submissions to kernel
// objects; asynchronous operations and their completion from any CPU.
//
// Dispatch of one submission (on the submitting thread, in its address
// space): copy the parameter message and the in-caps into kernel memory
// (once), look the target capability up (cap-tree lock), then hand the
// decoded Call to the object's handler (decode, then invoke). A handler
// either completes the call at once (Call::status, value, result bytes and
// out-caps are written back and a CQE posted) or turns it into an AsyncOp
// that some other party completes later (Endpoint reply, Park wake, thread
// exit, a deadline).
//
// Asynchronous completion. An AsyncOp lives in kernel memory and belongs to
// the submitting thread. Whoever completes it (any CPU) fills its result
// fields and calls op_complete(), which moves it to the owner's done list
// and wakes the owner if it waits in cap_enter. The owner writes the
// results to user memory and posts the CQE itself (in its own address
// space, with the completion reservation the ring made at consume time) on
// its next cap_enter. Ops are freed only by their owner (after posting, or
// when it exits: pending ops are unlinked from their objects first, and the
// owner waits for any completion already under way).
//
// Capabilities an op returns (caps_out) are handles already installed in
// its owner's table once the op is completed: whatever the owner never
// receives (the completion could not be written -- result_too_large,
// bad_pointer -- or the owner thread ended first) is dropped from that table
// again, so an undelivered completion costs the owner no slots. The same
// holds for synchronous results.
//
// Capabilities in flight (CapTransit): an op that carries capabilities from
// one table to a party that takes them later (an endpoint call, until a
// receive takes it) holds them in a small kernel-owned CapTable that no
// process can name. It is part of the derivation tree like any table, so a
// revoke of the source still reaches a capability in flight; op_free clears
// it, so an op freed before its capabilities were taken drops them and
// leaves nothing in anyone's table.
//
// Deadlines: a kernel "timekeeper" thread keeps an unsorted list of
// deadlines. It sleeps on its CPU's tick until the earliest one it saw (or
// blocks while the list is empty) and is woken early only by a deadline
// earlier than that; expired ops get their object's timeout handler (which
// unlinks and completes them). Resolution: the 4 ms tick.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/ring.h"
#include "capos/abi/status.h"
#include "lib/result.h"
#include "lib/intrusive_queue.h"
#include "lib/saturating.h"
#include "ipc/op_queue.h"
#include "cap/cap_table.h"
#include "object/process.h"

namespace kern {

class UserThread;
class Process;
struct AsyncOp;

// Removes op from the object queue it waits in; true if it was there (the
// caller then owns its completion). Called with no lock held.
using OpUnlinkFn = bool (*)(AsyncOp* op);

// A deadline entry (embedded in AsyncOp, or on a waiting thread's stack).
struct Deadline {
    uint64_t at_ns = 0;
    QueueLink<Deadline> link;  // the timekeeper's list (deadline lock)
    bool linked = false;
    // Called by the timekeeper under the deadline lock (rank user_timeout)
    // once the entry is unlinked.
    void (*fire)(Deadline* d) = nullptr;
};
struct DeadlineLink {
    static QueueLink<Deadline>& of(Deadline& d) { return d.link; }
};

// See "Capabilities in flight" above. handles[i] names the i-th carried
// capability in `table` (kNullCap once taken or if none); a revoke may
// empty a slot while it is in flight (its handle then reads stale).
struct CapTransit {
    CapTable table;
    uint16_t count = 0;
    CapHandle handles[kMaxCallCaps] = {};

    CapTransit(CapSlot* storage, uint16_t n) : table(storage, n, n), count(n) {}
};

// A transit table for n (1..kMaxCallCaps) capabilities. Errors: out_of_memory.
[[nodiscard]] Result<CapTransit*> transit_create(uint16_t n);
// Drops whatever t still holds and frees it. No lock held (takes cap_lock()).
void transit_destroy(CapTransit* t);
// Frees t once it is empty (its capabilities were taken under cap_lock()).
void transit_free_empty(CapTransit* t);

struct AsyncOp {
    UserThread* owner = nullptr;  // raw: the owner outlives its ops
    // From the submission.
    uint64_t user_tag = 0;
    uint64_t result_addr = 0;
    uint32_t result_len_max = 0;
    uint64_t caps_addr = 0;
    uint16_t caps_out_max = 0;
    // Where it waits.
    OpUnlinkFn unlink = nullptr;
    void* obj = nullptr;       // the object queue (Endpoint, Park bucket, ...), owned reference if any
    QueueLink<AsyncOp> qlink;  // object queue link (object's lock): OpQueue
    Deadline deadline;         // fire = the object's timeout handler
    QueueLink<AsyncOp> olink;  // owner's pending list, then its done list (owner's wait_lock_): OwnerOpQueue
    // Result, filled by the completer before op_complete().
    int32_t status = 0;
    uint32_t detail = 0;
    uint64_t value = 0;
    uint8_t* big = nullptr;   // kmalloc'd result bytes (freed with the op), or null
    uint32_t result_len = 0;  // bytes in big, or in small when big is null
    alignas(8) uint8_t small[96];
    CapHandle caps_out[kMaxCallCaps] = {};
    uint16_t caps_out_count = 0;
    // Object-specific payload.
    uint64_t arg[4] = {};
    uint8_t* msg = nullptr;  // kmalloc'd message (Endpoint call params), freed with the op
    uint32_t msg_len = 0;
    CapTransit* transit = nullptr;  // capabilities in flight (Endpoint call), dropped with the op
    // Its completion usually comes soon from a thread on another CPU (an
    // endpoint call or receive): cap_enter polls briefly before blocking.
    bool spin_wait = false;
};

struct OpQueueLink {
    static QueueLink<AsyncOp>& of(AsyncOp& op) { return op.qlink; }
};
struct OpOwnerLink {
    static QueueLink<AsyncOp>& of(AsyncOp& op) { return op.olink; }
};

// One submission being dispatched (kernel copy).
struct Call {
    UserThread& self;
    Process& proc;
    capos::abi::Sqe sqe;
    const uint8_t* params = nullptr;  // kernel copy, 8-byte aligned
    uint32_t params_len = 0;
    CapHandle caps_in[kMaxCallCaps] = {};
    uint16_t caps_in_count = 0;
    KernelObject* object = nullptr;  // target (reference held by the dispatcher)
    Rights rights = 0;
    // Synchronous result.
    capos::abi::Status status = capos::abi::Status::ok;
    uint32_t detail = 0;
    uint64_t value = 0;
    uint8_t* result = nullptr;  // the thread's result buffer
    uint32_t result_len = 0;
    CapHandle caps_out[kMaxCallCaps] = {};
    uint16_t caps_out_count = 0;
    AsyncOp* async = nullptr;  // set by a handler that went asynchronous

    Call(UserThread& t, Process& p) : self(t), proc(p) {}
    void fail(capos::abi::Status s, uint32_t d = 0) {
        status = s;
        detail = d;
    }
    void fail(Error e);
};

// The system call (from syscall_dispatch). Returns completions in the CQ
// or a negative Status. Entered with interrupts off (syscall.S); enables
// them before anything that may run long or wait.
//
// Bounded spin before blocking: when the wait condition is not met, the
// thread has a pending spin_wait op, more than one CPU is online and
// nothing else is queued on this CPU, cap_enter first polls its done list
// for up to kEnterSpinNs (interrupts on, so it stays preemptible). A
// completion from another CPU then needs no wake-up of a halted CPU (tens
// of microseconds under TCG); if none comes it blocks as before. See
// docs/rings.md for the measured trade-off on an oversubscribed host.
inline constexpr uint64_t kEnterSpinNs = 20'000;
int64_t cap_enter(uint32_t min_complete, uint64_t timeout_ns);

// Makes call.async: a new op owned by the calling thread, registered on its
// pending list, copying the submission's result fields. Errors: out_of_memory.
[[nodiscard]] Result<AsyncOp*> op_create(Call& call, OpUnlinkFn unlink, void* obj);
// Completes op (its result fields are filled): moves it to its owner's done
// list and wakes the owner. Any CPU, any context, no lock held but the
// object's (rank below user_wait).
void op_complete(AsyncOp* op);
// Starts op's deadline: fire() runs on the timekeeper when it passes.
void op_arm_deadline(AsyncOp* op, uint64_t at_ns, void (*fire)(Deadline*));
// For fire handlers: the op that embeds d.
AsyncOp* op_of(Deadline* d);

// Deadlines for other waits (cap_enter's own timeout).
void deadline_add(Deadline* d);
// Removes d if it is still linked; true if it was.
bool deadline_remove(Deadline* d);

// Monotonic nanoseconds since boot (TSC).
uint64_t now_ns();
// The now_ns() deadline `ns` from now. Saturates: a timeout too large to add
// (a user's "almost forever") means UINT64_MAX, a deadline that never comes,
// rather than a wrapped one in the past that fires at once.
inline uint64_t deadline_after(uint64_t ns) { return saturating_add(now_ns(), ns); }

// Starts the timekeeper kernel thread (once, after sched::init).
void timekeeper_init();

// Ends the calling user thread: cancels its pending operations (and waits
// for completions under way), then frees every op.
void ops_release_all(UserThread& t);

}  // namespace kern
