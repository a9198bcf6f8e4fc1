// console.cpp: Console.write / writeBytes.
#include "object/console.h"

#include "core/console.h"
#include "core/ring_dispatch.h"
#include "lib/capnp_wire.h"
#include "object/kernel_object.h"

namespace kern {

namespace {
ConsoleObject g_console;
ConsoleObject::Observer g_observer = nullptr;
}  // namespace

ConsoleObject& ConsoleObject::get() { return g_console; }
void ConsoleObject::set_observer(Observer o) { g_observer = o; }

void ConsoleObject::invoke(Call& call, ConsoleObject&) {
    using capos::abi::Status;
    if (call.sqe.interface_id != iface::kConsole) return call.fail(Status::bad_method);
    if (call.sqe.method != iface::kConsoleWrite && call.sqe.method != iface::kConsoleWriteBytes)
        return call.fail(Status::bad_method);
    if ((call.rights & capos::abi::kRightWrite) == 0) return call.fail(Status::rights);
    // Decode: write(text :Text) / writeBytes(bytes :Data), pointer 0.
    wire::Reader r;
    if (!r.init(call.params, call.params_len).ok()) return call.fail(Status::malformed_message);
    auto b = call.sqe.method == iface::kConsoleWrite ? r.text(r.root(), 0) : r.data(r.root(), 0);
    if (!b.ok()) return call.fail(Status::malformed_message);
    if (b.value().size > iface::kConsoleMaxWrite) return call.fail(Status::invalid_argument);
    // Invoke.
    const char* s = reinterpret_cast<const char*>(b.value().data);
    console_write(s, b.value().size);
    if (g_observer != nullptr) g_observer(s, b.value().size);
    call.status = Status::ok;
}

}  // namespace kern
