// thread.cpp: kernel thread creation, join, exit and destruction.
#include "object/thread.h"

#include "arch/interface/cpu.h"
#include "arch/interface/fpu.h"
#include "capos/schema/thread.capnp.h"
#include "mm/kheap.h"
#include "debug/panic.h"
#include "sched/sched.h"

namespace kern {
namespace {
uint32_t g_next_id = 1;
uint64_t g_live = 0;  // Thread objects allocated and not yet freed (leak checks)

void free_parts(Thread* t) {
    __atomic_fetch_sub(&g_live, 1, __ATOMIC_RELAXED);
    if (t->fpu_area_ != nullptr) kfree(t->fpu_area_);
    if (t->stack_ != nullptr) kfree(t->stack_);
    t->~Thread();
    kfree(t);
}
}  // namespace

Result<Thread*> Thread::create_stopped(Entry entry, void* arg, const ThreadOptions& opt) {
    if (entry == nullptr || opt.allowed.empty() || opt.weight == 0) return Error::invalid_argument;
    void* mem = TRY(kmalloc(sizeof(Thread), alignof(Thread)));
    auto* t = new (mem) Thread();
    __atomic_fetch_add(&g_live, 1, __ATOMIC_RELAXED);
    auto stack = kmalloc(kStackSize, 4096);
    if (!stack.ok()) {
        free_parts(t);
        return stack.error();
    }
    t->stack_ = static_cast<uint8_t*>(stack.value());
    if (opt.uses_fpu) {
        auto area = kmalloc(arch::fpu::area_size(), arch::fpu::kAreaAlign);
        if (!area.ok()) {
            free_parts(t);
            return area.error();
        }
        t->fpu_area_ = area.value();
        arch::fpu::init_area(t->fpu_area_);
    }
    *reinterpret_cast<uint64_t*>(t->stack_) = kStackCanary;
    // Initial frame for context_switch: r15 r14 r13(arg) r12(entry) rbx rbp,
    // then the return address thread_trampoline, at the 16-byte aligned top.
    auto* top = reinterpret_cast<uint64_t*>(t->stack_ + kStackSize);
    top[-1] = reinterpret_cast<uint64_t>(thread_trampoline);
    top[-2] = 0;                                  // rbp
    top[-3] = 0;                                  // rbx
    top[-4] = reinterpret_cast<uint64_t>(entry);  // r12
    top[-5] = reinterpret_cast<uint64_t>(arg);    // r13
    top[-6] = 0;                                  // r14
    top[-7] = 0;                                  // r15
    t->saved_rsp_ = reinterpret_cast<uint64_t>(&top[-7]);
    t->link_.entity = t;
    t->link_.weight = opt.weight;
    t->allowed_ = opt.allowed;
    t->address_space_ = opt.address_space;
    t->detached_ = opt.detached;
    t->entry_ = entry;
    t->arg_ = arg;
    t->name_ = opt.name != nullptr ? opt.name : "thread";
    t->id_ = __atomic_fetch_add(&g_next_id, 1u, __ATOMIC_RELAXED);
    t->state_ = State::blocked;  // not runnable until started
    return t;
}

Result<Thread*> Thread::create(Entry entry, void* arg, const ThreadOptions& opt) {
    Thread* t = TRY(create_stopped(entry, arg, opt));
    sched::start(*t);
    return t;
}

Thread* Thread::adopt_current(Thread* storage, const char* name) {
    auto* t = new (storage) Thread();
    t->link_.entity = t;
    t->name_ = name;
    t->state_ = State::running;
    t->on_cpu_ = true;
    t->id_ = __atomic_fetch_add(&g_next_id, 1u, __ATOMIC_RELAXED);
    return t;
}

Result<void> Thread::join() {
    Thread* me = current();
    if (me == this || detached_ || stack_ == nullptr) return Error::invalid_argument;
    arch::IrqState s = arch::irq_save();
    join_lock_.lock();
    // exit_current sets exited and takes the joiner off under join_lock_.
    while (state() != State::exited) joiner_.block_on(join_lock_);
    join_lock_.unlock();
    arch::irq_restore(s);
    sched::wait_off_cpu(*this, "join");
    destroy();
    return ok();
}

void Thread::exit() { sched::exit_current(); }

uint64_t Thread::cpu_cycles() const { return cpu_time_.read(arch::read_cycles()); }

uint32_t Thread::encode_cpu_time(void* out, size_t out_cap) const {
    alignas(8) unsigned char seg[64];
    cap::capnp::MessageBuilder m(seg, sizeof seg);
    m.init_root<cap::schema::Thread::CpuTimeResults>().set_cycles(cpu_cycles());
    size_t written = 0;
    if (m.error() != cap::capnp::Error::Ok || m.write_flat(out, out_cap, &written) != cap::capnp::Error::Ok) return 0;
    return static_cast<uint32_t>(written);
}

uint64_t Thread::live_count() { return __atomic_load_n(&g_live, __ATOMIC_RELAXED); }

Result<void> Thread::set_affinity(CpuMask allowed) {
    if (allowed.empty()) return Error::invalid_argument;
    allowed_ = allowed;
    return ok();
}

void Thread::destroy() {
    if (stack_ == nullptr) panic("destroying adopted thread '%s'", name_);
    free_parts(this);
}

bool Thread::stack_intact() const {
    return stack_ == nullptr || *reinterpret_cast<const uint64_t*>(stack_) == kStackCanary;
}

}  // namespace kern
