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
// Capabilities: the call's in-caps are transferred (copy, or move with
// kSqeFlagMoveCaps; each needs kRightTransfer) into the server's table when
// the call is made; receive returns their handles in the receive's caps
// array (IncomingCall.capCount, firstCapSlot = slot of the first). The
// reply's in-caps are transferred into the caller's table and returned as
// the caller's out-caps. Transfers are all or nothing (cap_table's
// decode_transfer/invoke_transfer).
//
// When the server process is torn down its endpoints shut down: queued and
// received calls complete with Status::peer_dead.
//
// Locking: lock_ (LockRank::kobject) guards the three queues; capability
// transfers run under the cap-tree lock with lock_ not held.
#pragma once

#include <stdint.h>

#include "core/spinlock.h"
#include "lib/result.h"
#include "object/cap_table.h"

namespace kern {

struct Call;
struct AsyncOp;
class Process;

class Endpoint final : public KernelObject {
public:
    // A root endpoint owned by `owner` (registered with it).
    // Errors: out_of_memory, capacity (owner has too many endpoints).
    static Result<Endpoint*> create(Process& owner);
    static void invoke(Call& call, Endpoint& ep);
    // Owner teardown: fails every pending call with peer_dead.
    void shutdown();

    bool is_root() const { return root_ == nullptr; }

    // --- internal ------------------------------------------------------------
    SpinLockIrq lock_{LockRank::kobject, "endpoint"};
    AsyncOp* calls_ = nullptr;      // queued caller ops, oldest first
    AsyncOp* receivers_ = nullptr;  // waiting receive ops, oldest first
    AsyncOp* active_ = nullptr;     // received calls awaiting reply

private:
    Endpoint() : KernelObject(ObjectType::endpoint) {}
    void on_last_ref() override;
    static void do_call(Call& call, Endpoint& client);
    static void receive(Call& call, Endpoint& root);
    static void reply(Call& call, Endpoint& root);

    Endpoint* root_ = nullptr;  // client: the root (a reference)
    uint64_t badge_ = 0;
    Process* owner_ = nullptr;  // root: the server process (raw: it shuts us down first)
    uint64_t next_call_id_ = 1;
    bool dead_ = false;
};

}  // namespace kern
