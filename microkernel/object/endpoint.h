// endpoint.h: the Endpoint kernel object (schema/endpoint.capnp): calls on
// server-implemented capabilities, with capability transfer.
//
// A root Endpoint is created by Process.createEndpoint (KERNEL method) and
// belongs to that process (the server). Its holders speak the Endpoint
// interface: receive (block until a call arrives), reply (complete one
// call), mint (a badged client capability). A client Endpoint (from mint)
// forwards every invocation, whatever its interface id and method, to the
// root's queue: the caller's submission stays pending until the server
// replies; the server's reply status, result bytes and capabilities become
// the caller's completion.
//
// Capabilities of a call. The call's in-caps (copy, or move with
// kSqeFlagMoveCaps; each needs kRightTransfer) leave the caller's table when
// the call is made and wait in the call's transit table (CapTransit,
// ipc/ring_dispatch.h: kernel-owned, part of the derivation tree, so a
// revoke still reaches them). They enter the receiving process's table only
// when a receive takes the call, and receive returns their handles in the
// receive's caps array (IncomingCall.capCount, firstCapSlot = slot of the
// first; a capability revoked in flight arrives as the null handle). A call
// that is never received -- its caller thread ended, the server died -- drops
// what it carried with its op: a client cannot fill a server's table by
// calls it abandons, and queued calls cost the server no slots. Rejected
// alternative: transfer at call time and take the slots back when the op is
// freed unreceived. That left queued calls occupying the server's slots (a
// client could hold a server's table full while its calls wait) and needed a
// cleanup on every path that can drop an op.
//
// A receive takes the oldest call only if the receiver can hold it: its
// caps_out_max, result_len_max and free slots. If not, the receive fails
// (result_too_large, or quota_exceeded with QuotaKind::cap_slots) and the call
// stays queued, first in line.
//
// Capabilities of a reply are transferred into the caller's table only if
// the caller's submission accepts them (caps_out_max, result_len_max): a
// reply the caller cannot take completes the caller with result_too_large,
// installs nothing, and answers the server's reply with result_too_large
// too (the server keeps its capabilities, moved or not). A reply status must
// be a Status the ABI defines (capos/abi/status.h); any other value is
// refused with invalid_argument and the call stays pending.
//
// Ownership. A root endpoint is on its owner's list of served endpoints,
// which holds no reference: an endpoint whose last capability (and last
// client, and last pending op) is gone is freed and leaves the list, so a
// process may create and drop endpoints without limit. When the owner is
// torn down, every endpoint still on its list shuts down: queued and
// received calls complete with Status::peer_dead, later calls fail with it.
//
// Locking: lock_ (LockRank::kobject) guards the three queues; capability
// transfers run under the cap-tree lock with lock_ not held. A call being
// handed to a receiver is on no queue (the receiver "claimed" it) and goes
// on active_ only when the receiver is done reading it, so a reply (or a
// cancel) never frees it under the receiver. The owner lists and the
// links, shutting_ and orphaned_ flags of every root endpoint are guarded by
// one global lock (endpoint.cpp, LockRank::kobject, never nested with lock_).
#pragma once

#include "cap/call_decode.h"

#include <stdint.h>

#include "cpu/spinlock.h"
#include "lib/result.h"
#include "cap/cap_table.h"
#include "ipc/op_queue.h"

namespace kern {

struct Call;
struct AsyncOp;
class Process;

class Endpoint final : public KernelObject {
public:
    // A root endpoint owned by `owner` (on its list of served endpoints).
    // Errors: out_of_memory, busy (owner is exiting).
    static Result<Endpoint*> create(Process& owner);
    static void invoke(Call& call, Endpoint& ep);

    bool is_root() const { return root_ == nullptr; }

    // Owner side (Process): puts ep on the list headed by `head` (the
    // owner's lock_ held, the owner not exiting).
    static void link_owned(Endpoint*& head, Endpoint& ep);
    // Owner teardown: shuts down every endpoint on the list (pending calls
    // fail with peer_dead) and empties it. No lock held.
    static void shutdown_owned(Endpoint*& head);

    // --- internal ------------------------------------------------------------
    SpinLockIrq lock_{LockRank::kobject, "endpoint"};
    OpQueue calls_ CAPOS_GUARDED_BY(lock_);      // queued caller ops, oldest first
    OpQueue receivers_ CAPOS_GUARDED_BY(lock_);  // waiting receive ops, oldest first
    OpQueue active_ CAPOS_GUARDED_BY(lock_);     // received calls awaiting reply
    bool dead_ = false;                          // shut down (lock_; do_call peeks at it first)

private:
    Endpoint() : KernelObject(ObjectType::endpoint) {}
    void on_last_ref() override;
    void destroy();
    // Takes ep off the list headed by `head` (the owner-list lock held).
    static void unlink_owned_locked(Endpoint*& head, Endpoint& ep);
    // Fails every pending call with peer_dead; later calls fail with it.
    void shutdown();
    static void do_call(Call& call, Endpoint& client);
    // Invoke steps of a decoded receive / reply (cap/call_decode).
    static void receive(Call& call, Endpoint& root, uint64_t timeout_ns);
    static void reply(Call& call, Endpoint& root, const decode::EndpointCall& d);

    Endpoint* root_ = nullptr;  // client: the root (a reference)
    uint64_t badge_ = 0;
    Process* owner_ = nullptr;  // root: the server process (raw: valid while on its list)
    uint64_t next_call_id_ = 1;
    // Root, under the owner-list lock: the owner's list of served endpoints.
    Endpoint* owned_next_ = nullptr;
    Endpoint* owned_prev_ = nullptr;
    bool owned_ = false;     // on the owner's list (owner_ valid)
    bool shutting_ = false;  // teardown is shutting it down: a last release leaves the free to teardown
    bool orphaned_ = false;  // its last reference went while shutting_
};

}  // namespace kern
