// boot_modules.cpp: boot module lookup, module-to-MemoryObject copy, ProcessSpawner.modules.
#include "object/boot_modules.h"

#include "arch/interface/paging.h"
#include "ipc/ring_dispatch.h"
#include "cap/call_decode.h"
#include "object/memory_object.h"
#include "object/process.h"

namespace kern {

const BootModule* find_boot_module(const char* name, size_t len) {
    BootState& b = boot_state();
    for (size_t i = 0; i < b.module_count; ++i) {
        const char* mn = b.modules[i].name;
        size_t k = 0;
        while (k < len && mn[k] == name[k] && mn[k] != '\0') ++k;
        if (k == len && mn[k] == '\0') return &b.modules[i];
    }
    return nullptr;
}

Result<MemoryObject*> boot_module_memory(Process& owner, const BootModule& m) {
    const uint64_t size = m.end - m.start;
    if (m.end <= m.start) return Error::invalid_argument;
    MemoryObject* mo = TRY(MemoryObject::create(owner, size));
    const auto* src = arch::phys_to<const uint8_t>(m.start);
    for (uint64_t off = 0; off < size; off += 4096) {
        const uint64_t n = size - off < 4096 ? size - off : 4096;
        __builtin_memcpy(arch::phys_to<uint8_t>(mo->frame(off / 4096)), src + off, n);
    }
    return mo;
}

namespace {
const char* module_name(uint32_t i, uint32_t* len) {
    const BootModule& m = boot_state().modules[i];
    uint32_t n = 0;
    while (n < sizeof m.name && m.name[n] != '\0') ++n;
    *len = n;
    return m.name;
}
}  // namespace

void boot_modules_list(Call& call) {
    // Decode: nothing to check (no parameters; cap/call_decode checked
    // the method). Invoke: write the list.
    const uint32_t n = static_cast<uint32_t>(boot_state().module_count);
    const uint32_t bytes = decode::modules_result(call.result, kMaxResult, n, module_name);
    if (bytes == 0) return call.fail(capos::abi::Status::result_too_large);
    call.result_len = bytes;
    call.value = n;
}

}  // namespace kern
