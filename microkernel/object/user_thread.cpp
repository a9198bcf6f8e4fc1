// user_thread.cpp: UserThread, a kernel Thread running user code: its entry,
// kill requests, joiners, exit and the release of its buffers.
#include "object/process.h"

#include "arch/interface/cpu.h"
#include "arch/interface/user.h"  // enter_user, user_return_prepare: the first return to ring 3
#include "mm/frames.h"            // frame_free_contiguous
#include "cap/kernel_object.h"
#include "capos/abi/layout.h"
#include "ipc/ring_dispatch.h"
#include "mm/kheap.h"
#include "object/address_space.h"
#include "object/thread.h"
#include "sched/sched.h"

namespace kern {

namespace abi = capos::abi;

namespace {
constexpr uint64_t kPage = 4096;
}  // namespace

// --- UserThread -----------------------------------------------------------------

void UserThread::on_last_ref() {
    Process* p = process_;
    this->~UserThread();
    kfree(this);
    if (p != nullptr) p->release();
}

void UserThread::kernel_entry(void* arg) {
    auto* t = static_cast<UserThread*>(arg);
    arch::irq_disable();
    user_return_prepare();
    arch::UserEntry e{t->entry_, t->stack_top_, t->arg0_, t->arg1_};
    arch::enter_user(e);
}

void UserThread::request_kill() {
    __atomic_store_n(&kill_, true, __ATOMIC_RELEASE);
    LockGuard<SpinLockIrq> g(wait_lock_);
    if (waiting_ && !dead_) (void)sched::wake(*kthread_);
}

bool UserThread::add_joiner(AsyncOp* op) {
    {
        LockGuard<SpinLockIrq> g(process_->lock_);
        if (!exited_) {
            joiners_.push_front(op);
            return true;
        }
    }
    op->value = static_cast<uint64_t>(exit_code_);
    op->result_len = decode::exit_result(op->small, sizeof op->small, exit_code_, static_cast<uint16_t>(exit_reason_));
    return false;
}

void UserThread::exit_current(int64_t code, ExitReason reason) {
    arch::irq_enable();
    ops_release_all(*this);
    OpQueue joiners;
    {
        LockGuard<SpinLockIrq> g(process_->lock_);
        exited_ = true;
        exit_code_ = code;
        exit_reason_ = reason;
        joiners.splice_back(joiners_);
    }
    while (AsyncOp* op = joiners.pop_front()) {
        op->status = 0;
        op->value = static_cast<uint64_t>(code);
        op->result_len = decode::exit_result(op->small, sizeof op->small, code, static_cast<uint16_t>(reason));
        op_complete(op);
    }
    if (__atomic_sub_fetch(&process_->live_threads_, 1, __ATOMIC_ACQ_REL) == 0) process_->terminate(code, reason);
    reap(this);
    Thread::exit();
}

void UserThread::release_memory() {
    AddressSpace* as = process_->as_;
    if (ring_pages_ != 0) {
        if (as != nullptr) {
            for (uint32_t i = 0; i < ring_pages_; ++i) (void)as->unmap(abi::user_ring_addr(index_) + i * kPage);
        }
        frame_free_contiguous(ring_pa_, ring_pages_);
        process_->uncharge_frames(ring_pages_);
        ring_pages_ = 0;
    }
    if (tls_pages_ != 0 && as != nullptr) {
        process_->uncharge_frames(as->unmap_and_free(abi::user_tls_addr(index_), tls_pages_));
        tls_pages_ = 0;
    }
    if (params_buf_ != nullptr) kfree(params_buf_);
    if (result_buf_ != nullptr) kfree(result_buf_);
    params_buf_ = result_buf_ = nullptr;
}

}  // namespace kern
