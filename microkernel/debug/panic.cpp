// panic.cpp: panic() and stop_machine(). Only the first CPU to panic prints;
// later ones stop silently, so a panic is reported exactly once.
#include "debug/panic.h"

#include <stdarg.h>

#include "arch/interface/cpu.h"
#include "arch/interface/machine.h"
#include "debug/console.h"

namespace kern {
namespace {
int g_panicking = 0;
StopOthersHook g_stop_others = nullptr;
}  // namespace

void set_stop_others_hook(StopOthersHook hook) { g_stop_others = hook; }
bool panic_in_progress() { return __atomic_load_n(&g_panicking, __ATOMIC_ACQUIRE) != 0; }

void stop_machine(StopReason why) {
    arch::irq_disable();
    if (why == StopReason::panic || why == StopReason::exception) {
        __atomic_store_n(&g_panicking, 1, __ATOMIC_RELEASE);
        if (g_stop_others != nullptr) g_stop_others();
    }
    uint8_t code = 0x13;
    switch (why) {
        case StopReason::test_pass:
            code = 0x10;
            break;
        case StopReason::test_fail:
            code = 0x11;
            break;
        case StopReason::panic:
        case StopReason::exception:
            code = 0x12;
            break;
        case StopReason::halt:
            code = 0x13;
            break;
    }
    arch::qemu_exit(code);
    arch::halt_forever_cpu();
}

void panic(const char* fmt, ...) {
    arch::irq_disable();
    if (__atomic_exchange_n(&g_panicking, 1, __ATOMIC_ACQ_REL) != 0) {
        arch::halt_forever_cpu();  // another CPU is already reporting
    }
    if (g_stop_others != nullptr) g_stop_others();
    console_force_unlock();
    va_list ap;
    va_start(ap, fmt);
    kprintf("[capos] PANIC: ");
    vkprintf(fmt, ap);
    kprintf("\n");
    va_end(ap);
    arch::qemu_exit(0x12);
    arch::halt_forever_cpu();
}

}  // namespace kern
