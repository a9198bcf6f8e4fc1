// op_queue.h - the queues async ops wait on, nameable before AsyncOp is complete.
#pragma once

#include "lib/intrusive_queue.h"

namespace kern {

struct AsyncOp;
// The two links of an AsyncOp (defined with it, ipc/ring_dispatch.h):
struct OpQueueLink;  // AsyncOp::qlink: the object queue it waits in (that object's lock)
struct OpOwnerLink;  // AsyncOp::olink: its owner's pending, then done list (owner's wait_lock_)

// An object's queue of waiting ops (Endpoint calls, Park bucket, Process
// waiters, thread joiners). Locking: the owning object's lock.
using OpQueue = IntrusiveQueue<AsyncOp, OpQueueLink>;
// A user thread's pending or done list. Locking: its wait_lock_.
using OwnerOpQueue = IntrusiveQueue<AsyncOp, OpOwnerLink>;

}  // namespace kern
