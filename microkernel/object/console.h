// console.h: the Console kernel object (schema/console.capnp): writes to the
// serial console, each call's bytes unbroken by other writers.
#pragma once

#include "cap/cap_table.h"

namespace kern {

struct Call;

class ConsoleObject final : public KernelObject {
public:
    // The one Console (static; never freed).
    static ConsoleObject& get();
    static void invoke(Call& call, ConsoleObject& c);

    // Observer of everything user space writes (the utest runner watches for
    // the test summary line). Called after the bytes were written.
    using Observer = void (*)(const char* s, size_t n);
    static void set_observer(Observer o);

    ConsoleObject() : KernelObject(ObjectType::console) {}

private:
    void on_last_ref() override {}
};

}  // namespace kern
