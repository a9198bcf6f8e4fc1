// fault_injection.h: the FaultInjection kernel object (schema/fault.capnp):
// a test arms allocation failures for its calling thread only
// (debug/fault_inject.h). One object; the kernel grants it to a utest program
// as the named capability "faults" only when booted with fault_inject=on
// (boot/init_process.cpp), so no ordinary boot can reach it.
#pragma once

#include "cap/cap_table.h"

namespace kern {

struct Call;

class FaultInjectionObject final : public KernelObject {
public:
    static FaultInjectionObject& get();
    // arm / disarm / counts. Decode: interface, method, the Write right for
    // arm and disarm, the arm message (malformed) and its kind
    // (invalid_argument). Synchronous; takes no lock but the cap lock (counts).
    static void invoke(Call& call, FaultInjectionObject& o);
    FaultInjectionObject() : KernelObject(ObjectType::fault_injection) {}

private:
    void on_last_ref() override {}
};

}  // namespace kern
