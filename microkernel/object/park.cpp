// park.cpp: Park.wait / wake.
#include "object/park.h"

#include "capos/abi/layout.h"
#include "ipc/ring_dispatch.h"
#include "cpu/spinlock.h"
#include "ipc/user_copy.h"
#include "cap/kernel_object.h"

namespace kern {

namespace {

ParkObject g_park;

struct Bucket {
    SpinLockIrq lock{LockRank::kobject, "park"};
    OpQueue waiters CAPOS_GUARDED_BY(lock);  // oldest first
};
constexpr uint32_t kBuckets = 64;
Bucket g_buckets[kBuckets];

Bucket& bucket_of(uint64_t key, uint64_t addr) {
    uint64_t h = (key * 0x9e3779b97f4a7c15ull) ^ (addr >> 2) * 0xff51afd7ed558ccdull;
    return g_buckets[(h >> 32) % kBuckets];
}

// op->arg[0] = key (process), arg[1] = address.
bool park_unlink(AsyncOp* op) {
    Bucket& b = bucket_of(op->arg[0], op->arg[1]);
    LockGuard<SpinLockIrq> g(b.lock);
    return b.waiters.remove(op);
}

void set_woken(AsyncOp* op, bool woken) {
    op->status = 0;
    op->value = woken ? 1 : 0;
    op->result_len = decode::park_wait_result(op->small, sizeof op->small, woken);
}

void park_timeout(Deadline* d) {
    AsyncOp* op = op_of(d);
    if (!park_unlink(op)) return;  // a wake() got there first
    set_woken(op, false);
    op_complete(op);
}

}  // namespace

ParkObject& ParkObject::get() { return g_park; }

void ParkObject::invoke(Call& call, ParkObject&) {
    using capos::abi::Status;
    // Decode (cap/call_decode): interface, method, the address (aligned,
    // in user range), expected value / count, timeout.
    decode::ParkCall d;
    const decode::Verdict verdict = decode::park(decode_input(call), &d);
    if (!verdict.ok()) return call.fail(verdict.status, verdict.detail);
    // Invoke.
    const uint64_t addr = d.address;
    const uint64_t key = reinterpret_cast<uint64_t>(&call.proc);
    Bucket& b = bucket_of(key, addr);
    if (d.wait) {
        const uint32_t expected = d.expected;
        const uint64_t timeout = d.timeout_ns;
        // Allocate first: nothing may fail after the word was compared.
        auto op = op_create(call, park_unlink, nullptr);
        if (!op.ok()) return call.fail(op.error());
        AsyncOp* o = op.value();
        o->arg[0] = key;
        o->arg[1] = addr;
        bool queued = false;
        {
            LockGuard<SpinLockIrq> g(b.lock);
            auto v = load_user_u32(addr);
            if (!v.ok()) {
                o->status = static_cast<int32_t>(Status::bad_pointer);
            } else if (v.value() != expected) {
                set_woken(o, false);
            } else {
                b.waiters.push_back(o);
                queued = true;
            }
        }
        if (!queued) {
            op_complete(o);  // posted on this same cap_enter
            return;
        }
        if (timeout != 0) op_arm_deadline(o, deadline_after(timeout), park_timeout);
        return;
    }
    const uint32_t count = d.count;
    OpQueue woken;
    uint32_t n = 0;
    {
        LockGuard<SpinLockIrq> g(b.lock);
        // Runs inside for_each under b.lock (clang's analysis does not follow
        // a lock into a lambda, hence the attribute).
        b.waiters.for_each([&](AsyncOp& o) CAPOS_NO_THREAD_SAFETY_ANALYSIS {
            if (n < count && o.arg[0] == key && o.arg[1] == addr) {
                b.waiters.erase(&o);
                woken.push_front(&o);  // completed newest first, as they always were
                ++n;
            }
        });
    }
    while (AsyncOp* o = woken.pop_front()) {
        set_woken(o, true);
        op_complete(o);
    }
    call.value = n;
    call.result_len = decode::park_wake_result(call.result, kMaxResult, n);
}

}  // namespace kern
