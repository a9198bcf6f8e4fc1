// endpoint.cpp: Endpoint call / receive / reply / mint.
#include "object/endpoint.h"

#include "core/kheap.h"
#include "core/ring_dispatch.h"
#include "lib/capnp_wire.h"
#include "object/kernel_object.h"
#include "object/process.h"

namespace kern {

namespace {

using capos::abi::Status;

// Caller op payload: arg[0] badge, arg[1] interface id, arg[2] method,
// arg[3] call id (once received); msg/msg_len the params; caps_out[0..n)
// the handles transferred into the server (until the reply replaces them).

void push_back(AsyncOp*& head, AsyncOp* op) {
    op->qnext = nullptr;
    AsyncOp** pp = &head;
    while (*pp != nullptr) pp = &(*pp)->qnext;
    *pp = op;
}

bool remove(AsyncOp*& head, AsyncOp* op) {
    for (AsyncOp** pp = &head; *pp != nullptr; pp = &(*pp)->qnext) {
        if (*pp == op) {
            *pp = op->qnext;
            op->qnext = nullptr;
            return true;
        }
    }
    return false;
}

bool caller_unlink(AsyncOp* op) {
    auto* ep = static_cast<Endpoint*>(op->obj);
    LockGuard<SpinLockIrq> g(ep->lock_);
    return remove(ep->calls_, op) || remove(ep->active_, op);
}

bool receiver_unlink(AsyncOp* op) {
    auto* ep = static_cast<Endpoint*>(op->obj);
    LockGuard<SpinLockIrq> g(ep->lock_);
    return remove(ep->receivers_, op);
}

// IncomingCall layout (capnp compile -ocapnp endpoint.capnp): 5 data words,
// 1 pointer: callId w0, badge w1, interfaceId w2, method u16 #12, params
// ptr0, capCount u32 #7, firstCapSlot u32 #8. receive results: 1 data
// word (timedOut bit 0), 1 pointer (call).
uint32_t build_incoming(uint8_t* buf, uint32_t cap, const AsyncOp* c, bool timed_out) {
    wire::Builder b(buf, cap);
    wire::Builder::Struct root = b.root(1, 1);
    wire::Builder::set_bit(root, 0, timed_out);
    if (c != nullptr) {
        wire::Builder::Struct ic = b.child(root, 0, 5, 1);
        wire::Builder::set_u64(ic, 0, c->arg[3]);
        wire::Builder::set_u64(ic, 1, c->arg[0]);
        wire::Builder::set_u64(ic, 2, c->arg[1]);
        wire::Builder::set_u16(ic, 12, static_cast<uint16_t>(c->arg[2]));
        b.set_data(ic, 0, c->msg, c->msg_len);
        wire::Builder::set_u32(ic, 7, c->caps_out_count);
        wire::Builder::set_u32(ic, 8, c->caps_out_count != 0 ? capos::abi::handle_slot(c->caps_out[0]) : 0);
    }
    return b.finish();
}

uint32_t incoming_size(const AsyncOp* c) { return wire::message_size(1, 1, 0) + 8 * 6 + ((c->msg_len + 7) & ~7u); }

// Fills a receiver op (async) with call c.
void deliver_to_receiver(AsyncOp* rcv, const AsyncOp* c) {
    const uint32_t need = incoming_size(c);
    auto mem = kmalloc(need, 8);
    if (!mem.ok()) {
        rcv->status = static_cast<int32_t>(Status::no_memory);
        return;
    }
    rcv->big = static_cast<uint8_t*>(mem.value());
    rcv->result_len = build_incoming(rcv->big, need, c, false);
    for (uint16_t i = 0; i < c->caps_out_count; ++i) rcv->caps_out[i] = c->caps_out[i];
    rcv->caps_out_count = c->caps_out_count;
    rcv->status = 0;
    rcv->value = c->arg[3];
}

void receive_timeout(Deadline* d) {
    AsyncOp* op = op_of(d);
    if (!receiver_unlink(op)) return;
    op->status = 0;
    op->result_len = build_incoming(op->small, sizeof op->small, nullptr, true);
    op_complete(op);
}

}  // namespace

Result<Endpoint*> Endpoint::create(Process& owner) {
    void* mem = TRY(kmalloc(sizeof(Endpoint), alignof(Endpoint)));
    auto* ep = new (mem) Endpoint();
    ep->owner_ = &owner;
    auto r = owner.own_endpoint(ep);
    if (!r.ok()) {
        ep->release();
        return r.error();
    }
    return ep;
}

void Endpoint::on_last_ref() {
    Endpoint* root = root_;
    this->~Endpoint();
    kfree(this);
    if (root != nullptr) root->release();
}

void Endpoint::shutdown() {
    AsyncOp* lists[2];
    {
        LockGuard<SpinLockIrq> g(lock_);
        dead_ = true;
        lists[0] = calls_;
        lists[1] = active_;
        calls_ = active_ = nullptr;
    }
    for (AsyncOp* list : lists) {
        while (list != nullptr) {
            AsyncOp* op = list;
            list = op->qnext;
            op->qnext = nullptr;
            op->status = static_cast<int32_t>(Status::peer_dead);
            op->caps_out_count = 0;  // those went to the dead server's table
            op->result_len = 0;
            op_complete(op);
        }
    }
}

void Endpoint::invoke(Call& call, Endpoint& ep) {
    if (!ep.is_root()) return do_call(call, ep);
    if (call.sqe.interface_id != iface::kEndpoint) return call.fail(Status::bad_method);
    switch (call.sqe.method) {
    case iface::kEndpointReceive:
        if ((call.rights & capos::abi::kRightRead) == 0) return call.fail(Status::rights);
        return receive(call, ep);
    case iface::kEndpointReply:
        if ((call.rights & capos::abi::kRightWrite) == 0) return call.fail(Status::rights);
        return reply(call, ep);
    case iface::kEndpointMint: {
        if ((call.rights & capos::abi::kRightCopy) == 0) return call.fail(Status::rights);
        if (call.sqe.caps_out_max < 1) return call.fail(Status::result_too_large);
        wire::Reader r;
        if (!r.init(call.params, call.params_len).ok()) return call.fail(Status::malformed_message);
        auto mem = kmalloc(sizeof(Endpoint), alignof(Endpoint));
        if (!mem.ok()) return call.fail(mem.error());
        auto* c = new (mem.value()) Endpoint();
        ep.add_ref();
        c->root_ = &ep;
        c->badge_ = wire::Reader::u64(r.root(), 0);
        Result<CapHandle> h = Error::quota;
        {
            LockGuard<SpinLockIrq> g(cap_lock());
            h = call.proc.caps().insert(c, kRightsObject);
        }
        c->release();
        if (!h.ok()) return call.fail(Status::quota_exceeded, static_cast<uint32_t>(capos::abi::QuotaKind::cap_slots));
        call.caps_out[0] = h.value();
        call.caps_out_count = 1;
        call.value = h.value();
        return;
    }
    default:
        return call.fail(Status::bad_method);
    }
}

void Endpoint::do_call(Call& call, Endpoint& client) {
    Endpoint& root = *client.root_;
    Process& server = *root.owner_;
    // Decode: the server must be alive; params copy; the transfer checks.
    if (__atomic_load_n(&root.dead_, __ATOMIC_ACQUIRE) || server.exiting())
        return call.fail(Status::peer_dead);
    auto op = op_create(call, caller_unlink, &root);
    if (!op.ok()) return call.fail(op.error());
    AsyncOp* o = op.value();
    o->spin_wait = true;  // the server usually answers within microseconds
    auto fail_now = [&](Status s) {
        o->status = static_cast<int32_t>(s);
        o->caps_out_count = 0;
        op_complete(o);
    };
    if (call.params_len != 0) {
        auto m = kmalloc(call.params_len, 8);
        if (!m.ok()) return fail_now(Status::no_memory);
        o->msg = static_cast<uint8_t*>(m.value());
        __builtin_memcpy(o->msg, call.params, call.params_len);
        o->msg_len = call.params_len;
    }
    o->arg[0] = client.badge_;
    o->arg[1] = call.sqe.interface_id;
    o->arg[2] = call.sqe.method;
    if (call.caps_in_count != 0) {
        const bool move = (call.sqe.flags & capos::abi::kSqeFlagMoveCaps) != 0;
        Result<void> t = Error::busy;
        bool closed = false;
        {
            LockGuard<SpinLockIrq> g(cap_lock());
            closed = server.caps_closed();
            if (!closed) t = transfer(call.proc.caps(), call.caps_in, call.caps_in_count, move, server.caps(), o->caps_out);
        }
        if (closed) return fail_now(Status::peer_dead);
        if (!t.ok()) {
            o->status = static_cast<int32_t>(to_status(t.error()));
            o->detail = t.error() == Error::quota ? static_cast<uint32_t>(capos::abi::QuotaKind::cap_slots) : 0;
            o->caps_out_count = 0;
        }
    }
    if (o->status != 0) {
        op_complete(o);
        return;
    }
    o->caps_out_count = call.caps_in_count;
    // Invoke: hand it to a waiting receiver or queue it.
    AsyncOp* rcv = nullptr;
    {
        LockGuard<SpinLockIrq> g(root.lock_);
        if (root.dead_) {
            o->status = static_cast<int32_t>(Status::peer_dead);
        } else {
            o->arg[3] = root.next_call_id_++;
            rcv = root.receivers_;
            if (rcv != nullptr) {
                root.receivers_ = rcv->qnext;
                rcv->qnext = nullptr;
                push_back(root.active_, o);
            } else {
                push_back(root.calls_, o);
            }
        }
    }
    if (o->status != 0) {
        o->caps_out_count = 0;
        op_complete(o);
        return;
    }
    if (rcv != nullptr) {
        deliver_to_receiver(rcv, o);
        op_complete(rcv);
    }
}

void Endpoint::receive(Call& call, Endpoint& root) {
    wire::Reader r;
    if (!r.init(call.params, call.params_len).ok()) return call.fail(Status::malformed_message);
    const uint64_t timeout = wire::Reader::u64(r.root(), 0);
    AsyncOp* c = nullptr;
    {
        LockGuard<SpinLockIrq> g(root.lock_);
        c = root.calls_;
        if (c != nullptr) {
            // Checked before taking it, so a refused receive leaves the call queued.
            if (call.sqe.caps_out_max < c->caps_out_count ||
                (call.sqe.result_len_max != 0 && call.sqe.result_len_max < incoming_size(c))) {
                c = nullptr;
                call.fail(Status::result_too_large);
            } else {
                root.calls_ = c->qnext;
                push_back(root.active_, c);
            }
        }
    }
    if (call.status != Status::ok) return;
    if (c != nullptr) {
        // c stays alive: it sits on active_ until reply, and only its owner
        // frees it after completion (which needs our reply).
        call.result_len = build_incoming(call.result, kMaxResult, c, false);
        if (call.result_len == 0) return call.fail(Status::result_too_large);
        for (uint16_t i = 0; i < c->caps_out_count; ++i) call.caps_out[i] = c->caps_out[i];
        call.caps_out_count = c->caps_out_count;
        call.value = c->arg[3];
        return;
    }
    auto op = op_create(call, receiver_unlink, &root);
    if (!op.ok()) return call.fail(op.error());
    op.value()->spin_wait = true;  // a busy server's next call is usually close behind
    bool queued = false;
    {
        LockGuard<SpinLockIrq> g(root.lock_);
        if (root.calls_ != nullptr) {
            // A call arrived meanwhile: take it now.
            c = root.calls_;
            root.calls_ = c->qnext;
            push_back(root.active_, c);
        } else {
            push_back(root.receivers_, op.value());
            queued = true;
        }
    }
    if (!queued) {
        deliver_to_receiver(op.value(), c);
        op_complete(op.value());
        return;
    }
    if (timeout != 0) {
        const uint64_t now = now_ns();
        op_arm_deadline(op.value(), timeout > ~uint64_t{0} - now ? ~uint64_t{0} : now + timeout, receive_timeout);
    }
}

void Endpoint::reply(Call& call, Endpoint& root) {
    wire::Reader r;
    if (!r.init(call.params, call.params_len).ok()) return call.fail(Status::malformed_message);
    const uint64_t id = wire::Reader::u64(r.root(), 0);
    const auto status = static_cast<int32_t>(wire::Reader::u32(r.root(), 2));
    auto results = r.data(r.root(), 0);
    if (!results.ok()) return call.fail(Status::malformed_message);
    if (status > 0) return call.fail(Status::invalid_argument);
    AsyncOp* c = nullptr;
    {
        LockGuard<SpinLockIrq> g(root.lock_);
        for (AsyncOp* o = root.active_; o != nullptr; o = o->qnext) {
            if (o->arg[3] == id) {
                c = o;
                break;
            }
        }
        if (c != nullptr) (void)remove(root.active_, c);
    }
    if (c == nullptr) return call.fail(Status::invalid_argument);
    // The caller's op is ours now. Results: bytes and capabilities.
    c->status = status;
    c->caps_out_count = 0;
    c->result_len = 0;
    if (results.value().size != 0) {
        auto m = kmalloc(results.value().size, 8);
        if (!m.ok()) {
            c->status = static_cast<int32_t>(Status::no_memory);
        } else {
            c->big = static_cast<uint8_t*>(m.value());
            __builtin_memcpy(c->big, results.value().data, results.value().size);
            c->result_len = results.value().size;
        }
    }
    if (call.caps_in_count != 0 && c->status >= 0) {
        Process& caller = c->owner->process();
        const bool move = (call.sqe.flags & capos::abi::kSqeFlagMoveCaps) != 0;
        LockGuard<SpinLockIrq> g(cap_lock());
        if (caller.caps_closed()) {
            c->status = static_cast<int32_t>(Status::peer_dead);
        } else {
            auto t = transfer(call.proc.caps(), call.caps_in, call.caps_in_count, move, caller.caps(), c->caps_out);
            if (!t.ok()) {
                // The reply fails; the caller learns why.
                call.fail(t.error());
                c->status = static_cast<int32_t>(to_status(t.error()));
            } else {
                c->caps_out_count = call.caps_in_count;
            }
        }
    }
    op_complete(c);
}

}  // namespace kern
