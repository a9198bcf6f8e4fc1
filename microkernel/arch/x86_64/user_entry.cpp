// user_entry.cpp: exception handlers that know about user mode.
#include "arch/x86_64/user_entry.h"

#include "arch/x86_64/asm.h"
#include "arch/x86_64/user_copy.h"
#include "debug/panic.h"
#include "arch/x86_64/implements.h"

namespace kern::arch {
namespace {

void exception_handler(InterruptFrame& f) {
    if ((f.cs & 3) != 0) user_fault(f);
    if (f.vector == 14 || f.vector == 13) {
        uint64_t fix = user_access_fixup(f.rip);
        if (fix != 0) {
            f.rip = fix;
            return;
        }
    }
    report_exception(f);
    stop_machine(StopReason::exception);
}

}  // namespace

uint64_t fault_address() { return read_cr2(); }

FaultInfo fault_info(const InterruptFrame& f) {
    return FaultInfo{f.vector, f.error, f.rip, f.rsp, f.vector == 14 ? fault_address() : 0};
}

void user_exceptions_init() {
    for (uint8_t v = 0; v < 32; ++v) {
        if (v == 2 || v == 8 || v == 18) continue;
        set_interrupt_handler(v, exception_handler);
    }
}

}  // namespace kern::arch
