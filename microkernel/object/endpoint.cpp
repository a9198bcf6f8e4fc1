// endpoint.cpp: Endpoint call / receive / reply / mint, and the owner's list of served endpoints.
#include "object/endpoint.h"

#include "mm/kheap.h"
#include "ipc/ring_dispatch.h"
#include "sched/sched.h"
#include "cap/kernel_object.h"
#include "object/process.h"

namespace kern {

namespace {
// The unlocked peek at an endpoint's receivers (IntrusiveQueue::peek_unlocked:
// a snapshot the caller confirms under the lock), outside the thread-safety
// analysis because the queue is CAPOS_GUARDED_BY the lock it does not take.
bool receivers_maybe_waiting(const Endpoint& e) CAPOS_NO_THREAD_SAFETY_ANALYSIS { return e.receivers_.peek_unlocked(); }
}  // namespace

namespace {

using capos::abi::Status;

// Caller op payload: arg[0] badge, arg[1] interface id, arg[2] method,
// arg[3] call id; msg/msg_len the params; transit the carried capabilities
// (until a receive takes them). caps_out stays empty until the reply.

// Every owner list and every root endpoint's list fields (endpoint.h).
SpinLockIrq g_owner_lock{LockRank::kobject, "endpoint_owners"};

// A server loop answering each waiting receiver with an error could keep a
// caller handing its call over indefinitely; after this many refusals the
// call is queued for the next receive instead.
constexpr uint32_t kMaxHandOffTries = 8;

uint32_t quota_detail(Status s) {
    return s == Status::quota_exceeded ? static_cast<uint32_t>(capos::abi::QuotaKind::cap_slots) : 0;
}

// A claimed call (being handed to a receiver) is on no queue: false here, so
// its cancel waits until the hand-over has put it on active_ or back.
bool caller_unlink(AsyncOp* op) {
    auto* ep = static_cast<Endpoint*>(op->obj);
    LockGuard<SpinLockIrq> g(ep->lock_);
    return ep->calls_.remove(op) || ep->active_.remove(op);
}

bool receiver_unlink(AsyncOp* op) {
    auto* ep = static_cast<Endpoint*>(op->obj);
    LockGuard<SpinLockIrq> g(ep->lock_);
    return ep->receivers_.remove(op);
}

uint16_t carried(const AsyncOp* c) { return c->transit != nullptr ? c->transit->count : 0; }

// The receive results (cap/call_decode): IncomingCall of c with its
// params; caps[0..ncaps): the handles in the receiver's table.
uint32_t build_incoming(uint8_t* buf, uint32_t cap, const AsyncOp* c, const CapHandle* caps, uint16_t ncaps,
                        bool timed_out) {
    if (c == nullptr) return decode::receive_result(buf, cap, nullptr, timed_out);
    decode::Incoming in;
    in.call_id = c->arg[3];
    in.badge = c->arg[0];
    in.interface_id = c->arg[1];
    in.method = static_cast<uint16_t>(c->arg[2]);
    in.params = c->msg;
    in.params_len = c->msg_len;
    in.cap_count = ncaps;
    in.first_cap_slot = ncaps != 0 ? capos::abi::handle_slot(caps[0]) : 0;
    return decode::receive_result(buf, cap, &in, timed_out);
}

uint32_t incoming_size(const AsyncOp* c) { return decode::receive_result_size(c->msg_len); }

// Decode for a receiver asking for at most caps_out_max handles and
// result_len_max bytes (0: no byte limit): can it hold call c?
Status fits(const AsyncOp* c, uint16_t caps_out_max, uint32_t result_len_max) {
    if (carried(c) > caps_out_max) return Status::result_too_large;
    if (result_len_max != 0 && result_len_max < incoming_size(c)) return Status::result_too_large;
    return Status::ok;
}

// Moves the capabilities claimed call c carries into rp's table (their
// handles to out[0..carried(c)), kNullCap for one revoked in flight) and
// frees its transit table. All or nothing: on an error nothing moved.
// Errors: peer_dead (rp's table is being torn down), quota_exceeded (not
// enough free slots). Takes cap_lock().
Status take_caps(AsyncOp* c, Process& rp, CapHandle* out) {
    CapTransit* t = c->transit;
    if (t == nullptr) return Status::ok;
    {
        LockGuard<SpinLockIrq> g(cap_lock());
        if (rp.caps_closed()) return Status::peer_dead;
        if (rp.caps().available() < t->table.used()) return Status::quota_exceeded;
        for (uint16_t i = 0; i < t->count; ++i) {
            out[i] = capos::abi::kNullCap;
            if (!t->table.lookup(t->handles[i], 0).ok()) continue;  // revoked while in flight
            if (!transfer(t->table, &t->handles[i], 1, true, rp.caps(), &out[i]).ok())
                __builtin_trap();  // slots and rights checked under this same lock
        }
    }
    c->transit = nullptr;
    transit_free_empty(t);  // emptied under the lock: nothing links to it any more
    return Status::ok;
}

// The oldest queued call, claimed (off every queue), or null.
AsyncOp* claim_call(Endpoint& root) {
    LockGuard<SpinLockIrq> g(root.lock_);
    return root.calls_.pop_front();
}

// Ends a claim: c goes where a reply finds it (or, if the endpoint died
// meanwhile, completes with peer_dead). c must not be touched afterwards.
void publish(Endpoint& root, AsyncOp* c) {
    {
        LockGuard<SpinLockIrq> g(root.lock_);
        if (!root.dead_) {
            root.active_.push_back(c);
            return;
        }
    }
    c->status = static_cast<int32_t>(Status::peer_dead);
    c->result_len = 0;
    c->caps_out_count = 0;
    op_complete(c);
}

// Ends a claim that failed: c is first in line again (or completes with
// peer_dead if the endpoint died meanwhile).
void put_back(Endpoint& root, AsyncOp* c) {
    {
        LockGuard<SpinLockIrq> g(root.lock_);
        if (!root.dead_) {
            root.calls_.push_front(c);
            return;
        }
    }
    c->status = static_cast<int32_t>(Status::peer_dead);
    c->caps_out_count = 0;
    op_complete(c);
}

// Hands claimed call c to waiting receive op rcv and completes rcv. True if
// rcv took it (c is then published); false if rcv could not hold it (rcv
// completes with why, c stays claimed: nothing moved). `given`: a buffer of
// incoming_size(c) bytes the caller allocated (rcv's on success, still the
// caller's on failure), or null to allocate one here.
bool deliver_to_receiver(Endpoint& root, AsyncOp* rcv, AsyncOp* c, uint8_t* given = nullptr) {
    Status s = fits(c, rcv->caps_out_max, rcv->result_len_max);
    const uint32_t need = incoming_size(c);
    uint8_t* buf = given;
    if (s == Status::ok && buf == nullptr) {
        auto mem = kmalloc(need, 8);
        if (mem.ok()) buf = static_cast<uint8_t*>(mem.value());
        else s = Status::no_memory;
    }
    const uint16_t n = carried(c);
    if (s == Status::ok) s = take_caps(c, rcv->owner->process(), rcv->caps_out);
    if (s != Status::ok) {
        if (buf != nullptr && buf != given) kfree(buf);
        rcv->status = static_cast<int32_t>(s);
        rcv->detail = quota_detail(s);
        op_complete(rcv);
        return false;
    }
    rcv->big = buf;
    rcv->result_len = build_incoming(buf, need, c, rcv->caps_out, n, false);
    rcv->caps_out_count = n;
    rcv->status = 0;
    rcv->value = c->arg[3];
    publish(root, c);  // before rcv completes: its reply must find the call
    op_complete(rcv);
    return true;
}

void receive_timeout(Deadline* d) {
    AsyncOp* op = op_of(d);
    if (!receiver_unlink(op)) return;
    op->status = 0;
    op->result_len = build_incoming(op->small, sizeof op->small, nullptr, nullptr, 0, true);
    op_complete(op);
}

}  // namespace

// --- ownership -------------------------------------------------------------------

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

void Endpoint::link_owned(Endpoint*& head, Endpoint& ep) {
    LockGuard<SpinLockIrq> g(g_owner_lock);
    ep.owned_prev_ = nullptr;
    ep.owned_next_ = head;
    if (head != nullptr) head->owned_prev_ = &ep;
    head = &ep;
    ep.owned_ = true;
}

void Endpoint::unlink_owned_locked(Endpoint*& head, Endpoint& ep) {
    if (ep.owned_prev_ != nullptr) ep.owned_prev_->owned_next_ = ep.owned_next_;
    else head = ep.owned_next_;
    if (ep.owned_next_ != nullptr) ep.owned_next_->owned_prev_ = ep.owned_prev_;
    ep.owned_next_ = ep.owned_prev_ = nullptr;
    ep.owned_ = false;
}

void Endpoint::shutdown_owned(Endpoint*& head) {
    for (uint32_t n = 1;; ++n) {
        Endpoint* ep;
        {
            LockGuard<SpinLockIrq> g(g_owner_lock);
            ep = head;
            if (ep == nullptr) return;
            unlink_owned_locked(head, *ep);
            // Its count may already be zero (a release racing us waits for
            // this lock): shutting_ keeps it alive until we are done.
            ep->shutting_ = true;
        }
        ep->shutdown();
        bool orphaned;
        {
            LockGuard<SpinLockIrq> g(g_owner_lock);
            ep->shutting_ = false;
            orphaned = ep->orphaned_;
        }
        if (orphaned) ep->destroy();
        if (n % 32 == 0) sched::yield();  // a process may own any number of endpoints
    }
}

void Endpoint::on_last_ref() {
    if (is_root()) {
        LockGuard<SpinLockIrq> g(g_owner_lock);
        if (shutting_) {
            orphaned_ = true;  // shutdown_owned frees it when done
            return;
        }
        // On the list, so the owner is not torn down yet (owner_ valid).
        if (owned_) unlink_owned_locked(owner_->served_endpoints(), *this);
    }
    destroy();
}

void Endpoint::destroy() {
    Endpoint* root = root_;
    this->~Endpoint();
    kfree(this);
    if (root != nullptr) root->release();
}

void Endpoint::shutdown() {
    OpQueue dead;
    {
        LockGuard<SpinLockIrq> g(lock_);
        dead_ = true;
        dead.splice_back(calls_);
        dead.splice_back(active_);
    }
    while (AsyncOp* op = dead.pop_front()) {
        op->status = static_cast<int32_t>(Status::peer_dead);
        op->caps_out_count = 0;  // a queued call's caps go with its transit
        op->result_len = 0;
        op_complete(op);
    }
}

// --- calls ---------------------------------------------------------------------------

void Endpoint::invoke(Call& call, Endpoint& ep) {
    // A client capability: every call is forwarded to the server as it is
    // (the server decodes it); nothing of it is the kernel's to decode.
    if (!ep.is_root()) return do_call(call, ep);
    // Decode (cap/call_decode): interface, method, rights, result room, parameters.
    decode::EndpointCall d;
    const decode::Verdict v = decode::endpoint(decode_input(call), &d);
    if (!v.ok()) return call.fail(v.status, v.detail);
    switch (d.op) {
        case decode::EndpointCall::Op::receive:
            return receive(call, ep, d.timeout_ns);
        case decode::EndpointCall::Op::reply:
            return reply(call, ep, d);
        case decode::EndpointCall::Op::mint: {
            auto mem = kmalloc(sizeof(Endpoint), alignof(Endpoint));
            if (!mem.ok()) return call.fail(mem.error());
            auto* c = new (mem.value()) Endpoint();
            ep.add_ref();
            c->root_ = &ep;
            c->badge_ = d.badge;
            Result<CapHandle> h = Error::quota;
            {
                LockGuard<SpinLockIrq> g(cap_lock());
                h = call.proc.caps().insert(c, kRightsObject);
            }
            c->release();
            if (!h.ok())
                return call.fail(Status::quota_exceeded, static_cast<uint32_t>(capos::abi::QuotaKind::cap_slots));
            call.caps_out[0] = h.value();
            call.caps_out_count = 1;
            call.value = h.value();
            return;
        }
    }
    return call.fail(Status::bad_method);
}

void Endpoint::do_call(Call& call, Endpoint& client) {
    Endpoint& root = *client.root_;
    // Decode: the server must be alive; params copy; the carried caps leave
    // the caller's table for the call's transit table.
    if (__atomic_load_n(&root.dead_, __ATOMIC_ACQUIRE)) return call.fail(Status::peer_dead);
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
        auto t = transit_create(call.caps_in_count);
        if (!t.ok()) return fail_now(Status::no_memory);
        o->transit = t.value();  // freed (with whatever it holds) with the op
        const bool move = (call.sqe.flags & capos::abi::kSqeFlagMoveCaps) != 0;
        Result<void> r = Error::busy;
        {
            LockGuard<SpinLockIrq> g(cap_lock());
            r = transfer(call.proc.caps(), call.caps_in, call.caps_in_count, move, o->transit->table,
                         o->transit->handles);
        }
        if (!r.ok()) return fail_now(to_status(r.error()));
    }
    // Invoke: hand it to a waiting receiver that can hold it, or queue it.
    // The receiver's copy of the call is the caller's allocation, made before
    // a receiver is claimed: out of memory then fails this call, not the
    // waiting receive (issue 18: a client's allocation failure ended the
    // server's receive with no_memory).
    uint8_t* buf = nullptr;
    // Unlocked peek, so that the usual hand-over takes the lock once: a
    // receiver seen here is claimed below with the buffer ready; one that
    // arrives in between costs one more round (need_buf).
    if (receivers_maybe_waiting(root)) {
        auto m = kmalloc(incoming_size(o), 8);
        if (!m.ok()) return fail_now(Status::no_memory);
        buf = static_cast<uint8_t*>(m.value());
    }
    bool numbered = false;
    for (uint32_t tries = 0;;) {
        AsyncOp* rcv = nullptr;
        bool need_buf = false;
        // Decided under the lock, never read back from o: once o is queued
        // another CPU may receive, reply to and complete it (or a shutdown
        // fail it) at once, and o->status is then theirs. Reading it here
        // completed such a call a second time (found by utest=fuzz: a kfree
        // double free of the op, seed 11 -smp 4 long run).
        bool dead = false;
        {
            LockGuard<SpinLockIrq> g(root.lock_);
            if (root.dead_) {
                dead = true;
            } else {
                if (!numbered) o->arg[3] = root.next_call_id_++;
                numbered = true;
                rcv = tries < kMaxHandOffTries ? root.receivers_.front() : nullptr;
                if (rcv != nullptr && buf == nullptr) {
                    need_buf = true;
                    rcv = nullptr;
                } else if (rcv != nullptr) {
                    root.receivers_.erase(rcv);
                } else if (tries == 0) {
                    root.calls_.push_back(o);
                } else {
                    root.calls_.push_front(o);  // it was first in line all along
                }
            }
        }
        if (dead) {
            if (buf != nullptr) kfree(buf);
            return fail_now(Status::peer_dead);
        }
        if (need_buf) {
            auto m = kmalloc(incoming_size(o), 8);
            if (!m.ok()) return fail_now(Status::no_memory);
            buf = static_cast<uint8_t*>(m.value());
            continue;
        }
        if (rcv == nullptr) {
            if (buf != nullptr) kfree(buf);
            return;
        }
        if (deliver_to_receiver(root, rcv, o, buf)) return;
        // That receiver could not hold it and has its error: the next one
        // (the buffer is still ours).
        ++tries;
    }
}

void Endpoint::receive(Call& call, Endpoint& root, uint64_t timeout) {
    // A queued call small enough for the synchronous result: answered now.
    AsyncOp* c = claim_call(root);
    if (c != nullptr && incoming_size(c) <= kMaxResult) {
        const uint16_t n = carried(c);
        Status s = fits(c, call.sqe.caps_out_max, call.sqe.result_len_max);
        if (s == Status::ok) s = take_caps(c, call.proc, call.caps_out);
        if (s != Status::ok) {
            put_back(root, c);  // a refused receive leaves the call first in line
            return call.fail(s, quota_detail(s));
        }
        call.result_len = build_incoming(call.result, kMaxResult, c, call.caps_out, n, false);
        call.caps_out_count = n;
        call.value = c->arg[3];
        publish(root, c);  // read everything first: once published a reply may free it
        return;
    }
    // Otherwise an op: it waits, or takes the (large) claimed call into its own buffer.
    auto op = op_create(call, receiver_unlink, &root);
    if (!op.ok()) {
        if (c != nullptr) put_back(root, c);
        return call.fail(op.error());
    }
    op.value()->spin_wait = true;  // a busy server's next call is usually close behind
    if (c == nullptr) {
        LockGuard<SpinLockIrq> g(root.lock_);
        if (!root.calls_.empty()) {
            // A call arrived meanwhile: take it now.
            c = root.calls_.pop_front();
        } else {
            root.receivers_.push_back(op.value());
        }
    }
    if (c != nullptr) {
        if (!deliver_to_receiver(root, op.value(), c)) put_back(root, c);
        return;
    }
    if (timeout != 0) op_arm_deadline(op.value(), deadline_after(timeout), receive_timeout);
}

void Endpoint::reply(Call& call, Endpoint& root, const decode::EndpointCall& d) {
    const uint64_t id = d.call_id;
    const int32_t status = d.status;  // one the ABI defines (decode checked)
    AsyncOp* c = nullptr;
    {
        LockGuard<SpinLockIrq> g(root.lock_);
        c = root.active_.find([&](const AsyncOp& o) { return o.arg[3] == id; });
        if (c != nullptr) root.active_.erase(c);
    }
    if (c == nullptr) return call.fail(Status::invalid_argument);
    // The caller's op is ours now: it completes with the reply or with why
    // not, and the server's reply answers the same.
    const uint32_t rlen = d.results.size;
    c->caps_out_count = 0;
    c->result_len = 0;
    c->detail = 0;
    auto finish = [&](Status s) {
        c->status = static_cast<int32_t>(s);
        c->detail = quota_detail(s);
        op_complete(c);
        call.fail(s, quota_detail(s));
    };
    // Decode against the caller's submission: what it cannot take is never
    // installed (its caps would sit in its table under handles it never sees).
    if (call.caps_in_count > c->caps_out_max || (rlen != 0 && c->result_len_max != 0 && rlen > c->result_len_max))
        return finish(Status::result_too_large);
    if (rlen != 0) {
        auto m = kmalloc(rlen, 8);
        if (!m.ok()) return finish(Status::no_memory);
        c->big = static_cast<uint8_t*>(m.value());
        __builtin_memcpy(c->big, d.results.data, rlen);
        c->result_len = rlen;
    }
    if (call.caps_in_count != 0 && status == 0) {
        Process& caller = c->owner->process();
        const bool move = (call.sqe.flags & capos::abi::kSqeFlagMoveCaps) != 0;
        Status s = Status::ok;
        {
            LockGuard<SpinLockIrq> g(cap_lock());
            if (caller.caps_closed()) {
                s = Status::peer_dead;
            } else {
                auto t = transfer(call.proc.caps(), call.caps_in, call.caps_in_count, move, caller.caps(), c->caps_out);
                if (!t.ok()) s = to_status(t.error());
                else c->caps_out_count = call.caps_in_count;
            }
        }
        if (s != Status::ok) {
            c->result_len = 0;
            return finish(s);
        }
    }
    c->status = status;
    op_complete(c);
}

}  // namespace kern
