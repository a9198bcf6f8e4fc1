// console.cpp: Console.write / writeBytes.
#include "object/console.h"

#include "debug/console.h"
#include "ipc/ring_dispatch.h"
#include "cap/call_decode.h"
#include "cap/kernel_object.h"

namespace kern {

namespace {
ConsoleObject g_console;
ConsoleObject::Observer g_observer = nullptr;
}  // namespace

ConsoleObject& ConsoleObject::get() { return g_console; }
void ConsoleObject::set_observer(Observer o) { g_observer = o; }

void ConsoleObject::invoke(Call& call, ConsoleObject&) {
    // Decode (cap/call_decode): interface, method, Write right, the text or data, its size.
    decode::ConsoleCall d;
    const decode::Verdict v = decode::console(decode_input(call), &d);
    if (!v.ok()) return call.fail(v.status, v.detail);
    // Invoke.
    const char* s = reinterpret_cast<const char*>(d.bytes.data);
    console_write(s, d.bytes.size);
    if (g_observer != nullptr) g_observer(s, d.bytes.size);
    call.status = capos::abi::Status::ok;
}

}  // namespace kern
