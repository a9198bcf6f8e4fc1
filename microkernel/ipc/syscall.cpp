// syscall.cpp: syscall_dispatch, user_return_prepare, user faults, and the
// per-CPU user-mode set-up.
#include "ipc/syscall.h"

#include "arch/interface/cpu.h"
#include "arch/interface/ipi.h"
#include "arch/interface/user.h"
#include "capos/abi/status.h"
#include "capos/abi/syscall.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "cpu/percpu.h"
#include "ipc/ring_dispatch.h"
#include "object/process.h"

namespace kern {
namespace {

void cpu_setup(void*) { arch::user_cpu_init(); }

}  // namespace

void userspace_init() {
    cpu_setup(nullptr);
    unsigned n = cpu::count();
    for (unsigned i = 1; i < n; ++i) {
        if (!arch::smp_call(i, cpu_setup, nullptr, true)) kprintf("[capos] cpu %u: no user-mode set-up\n", i);
    }
    arch::user_exceptions_init();
    timekeeper_init();
    reaper_init();
    const auto& f = arch::user_cpu_features();
    kprintf("[capos] user mode: syscall on %u cpus, smep %s, smap %s, umip %s\n", n, f.smep ? "on" : "off",
            f.smap ? "on" : "off", f.umip ? "on" : "off");
}

}  // namespace kern

extern "C" int64_t syscall_dispatch(uint64_t arg0, uint64_t arg1, uint64_t number) {
    using namespace kern;
    // User -> kernel boundary of the cycle accounting (cpu/cpu_stats.h).
    charge_to(cpu::current().counters, CpuMode::kernel, arch::read_cycles());
    if (number != capos::abi::kSysCapEnter) return static_cast<int64_t>(capos::abi::Status::invalid_argument);
    if (arg0 > 0xffffffffu) return static_cast<int64_t>(capos::abi::Status::invalid_argument);
    return cap_enter(static_cast<uint32_t>(arg0), arg1);
}

extern "C" void user_return_prepare() {
    using namespace kern;
    UserThread* t = current_user_thread();
    if (t == nullptr) return;
    if (t->kill_requested()) t->exit_current(0, ExitReason::killed);
    arch::set_user_kernel_stack(t->kernel_stack_top());
    arch::set_user_fs_base(t->fs_base());
    // Kernel -> user boundary (interrupts are off from here to SYSRET/IRETQ).
    charge_to(cpu::current().counters, CpuMode::user, arch::read_cycles());
}

void user_fault(kern::arch::InterruptFrame& f) {
    using namespace kern;
    UserThread* t = current_user_thread();
    if (t == nullptr) {
        arch::report_exception(f);
        stop_machine(StopReason::exception);
    }
    const arch::FaultInfo fi = arch::fault_info(f);
    kprintf("[capos] process %s (%llu) thread %u faulted: vector %llu error %#llx rip %#llx rsp %#llx addr %#llx\n",
            t->process().name(), static_cast<unsigned long long>(t->process().id()), t->index(),
            static_cast<unsigned long long>(fi.vector), static_cast<unsigned long long>(fi.error),
            static_cast<unsigned long long>(fi.ip), static_cast<unsigned long long>(fi.sp),
            static_cast<unsigned long long>(fi.addr));
    t->process().terminate(static_cast<int64_t>(fi.vector), ExitReason::faulted);
    t->exit_current(static_cast<int64_t>(fi.vector), ExitReason::faulted);
}
