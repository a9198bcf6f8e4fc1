// panic.h: fatal errors and stopping the machine.
#pragma once

namespace kern {

enum class StopReason : unsigned char { test_pass, test_fail, panic, exception, halt };

// Stops this CPU for good. Under QEMU with isa-debug-exit the emulator exits
// with a status the harness maps back to the reason:
//   test_pass -> 33, test_fail -> 35, panic/exception -> 37, halt -> 39.
[[noreturn]] void stop_machine(StopReason why);

// Prints "[capos] PANIC: <message>" once and stops.
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// True once a CPU started panicking or stopping on an exception: lock-order
// and hold-time checks stand down so the report can be printed.
bool panic_in_progress();

// Hook that SMP bring-up installs so that stopping one CPU stops them all.
using StopOthersHook = void (*)();
void set_stop_others_hook(StopOthersHook hook);

}  // namespace kern

#define KASSERT(cond)                                                                           \
    do {                                                                                        \
        if (!(cond)) ::kern::panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__); \
    } while (0)
