// boot_modules.cpp: boot module lookup, module-to-MemoryObject copy, ProcessSpawner.modules.
#include "object/boot_modules.h"

#include "arch/x86_64/paging.h"
#include "core/ring_dispatch.h"
#include "lib/capnp_wire.h"
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

void boot_modules_list(Call& call) {
    // Decode: nothing to check (no parameters). Invoke: write the list.
    BootState& b = boot_state();
    const uint32_t n = static_cast<uint32_t>(b.module_count);
    wire::Builder w(call.result, kMaxResult);
    wire::Builder::Struct root = w.root(0, 1);
    uint64_t* list = w.pointer_list(root, 0, n);
    for (uint32_t i = 0; i < n && list != nullptr; ++i) {
        uint32_t len = 0;
        while (len < sizeof b.modules[i].name && b.modules[i].name[len] != '\0') ++len;
        w.set_text_at(list + i, b.modules[i].name, len);
    }
    const uint32_t bytes = w.finish();
    if (bytes == 0 || list == nullptr) return call.fail(capos::abi::Status::result_too_large);
    call.result_len = bytes;
    call.value = n;
}

}  // namespace kern
