// boot_info.h: what the boot path learned, for the rest of the kernel.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mm/frame_allocator.h"
#include "boot/multiboot2.h"

namespace kern {

// Servers, manifests and test programs. iso/mkiso.py reads this line and
// refuses to build an ISO with more, so the kernel never has to drop one.
inline constexpr size_t kMaxBootModules = 256;

struct BootModule {
    uint64_t start;  // physical
    uint64_t end;
    char name[64];
};

struct BootState {
    multiboot2::BootInfo info;  // points into the direct map after paging
    uint64_t usable_bytes = 0;  // RAM the firmware called available
    uint64_t phys_end = 0;      // highest usable physical address
    size_t module_count = 0;
    BootModule modules[kMaxBootModules];
    uint64_t rsdp_phys = 0;  // 0 when the loader gave none
    const uint8_t* rsdp = nullptr;
    size_t rsdp_len = 0;
    char test_name[64] = {};
    char manifest_name[64] = {};
};

BootState& boot_state();

}  // namespace kern
