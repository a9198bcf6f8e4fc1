// multiboot2.h - validating parser for the Multiboot2 boot information block.
//
// BootInfo::parse() walks the whole block once and rejects it if any length,
// alignment or string is inconsistent; after that every accessor reads only
// bytes the walk has proven to lie inside the block. The parser keeps
// pointers into the caller's block (no copy), so the block must stay mapped
// and unmodified while the BootInfo is used.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"

namespace kern::multiboot2 {

// Value GRUB leaves in EAX when it enters the kernel.
inline constexpr uint32_t kBootloaderMagic = 0x36d76289;

// Tag types this parser knows (Multiboot2 specification, section 3.6).
enum TagType : uint32_t {
    kTagEnd = 0,
    kTagCmdline = 1,
    kTagBootLoaderName = 2,
    kTagModule = 3,
    kTagBasicMeminfo = 4,
    kTagBootDevice = 5,
    kTagMmap = 6,
    kTagFramebuffer = 8,
    kTagElfSections = 9,
    kTagAcpiOld = 14,
    kTagAcpiNew = 15,
    kTagLoadBaseAddr = 21,
};

enum class MemoryType : uint32_t {
    available = 1,
    reserved = 2,  // also every type number the spec does not define
    acpi_reclaimable = 3,
    acpi_nvs = 4,
    bad = 5,
};

struct MemoryRegion {
    uint64_t base;
    uint64_t length;    // never 0 for a region returned by memory_region()
    MemoryType type;    // normalised: unknown raw types become reserved
    uint32_t raw_type;  // as the firmware reported it
};

struct Module {
    uint32_t start;      // physical, first byte
    uint32_t end;        // physical, one past the last byte (start <= end)
    const char* string;  // NUL-terminated inside the tag; may be ""
};

struct BasicMeminfo {
    uint32_t mem_lower_kib;  // KiB of conventional memory below 1 MiB
    uint32_t mem_upper_kib;  // KiB of memory above 1 MiB (to the first hole)
};

// An RSDP copy from tag 14/15: the bytes as the boot loader stored them.
// Not checksum-checked here; acpi::parse_rsdp() does that.
struct Bytes {
    const uint8_t* data;
    size_t size;
};

class BootInfo {
public:
    // Validates the block at `base` of at most `len` readable bytes.
    // Errors:
    //   invalid_argument  base is null
    //   misaligned        base not 8-byte aligned
    //   truncated         len < 8, or total_size > len
    //   malformed         total_size < 16 or not a multiple of 8; a tag shorter
    //                     than 8 or running past total_size; no end tag, an
    //                     end tag of size != 8 or bytes after it; a duplicate
    //                     single-instance tag; a string not NUL-terminated in
    //                     its tag; a module with start > end; an mmap tag with
    //                     entry_size < 24, not a multiple of 8, or a payload
    //                     that is not whole entries; a region whose end wraps;
    //                     a meminfo or RSDP tag too short for its fields.
    static Result<BootInfo> parse(const uint8_t* base, size_t len);

    // Bytes of the block (total_size), e.g. to reserve it in the frame allocator.
    uint32_t total_size() const { return total_size_; }

    // Kernel command line; nullptr when the tag is absent.
    const char* cmdline() const { return cmdline_; }
    // Boot loader name; nullptr when the tag is absent.
    const char* boot_loader_name() const { return loader_name_; }

    bool has_basic_meminfo() const { return has_meminfo_; }
    BasicMeminfo basic_meminfo() const { return meminfo_; }

    // Memory map, in the order the firmware gave it; 0 regions when absent.
    size_t memory_region_count() const { return mmap_count_; }
    // Region i < memory_region_count().
    Result<MemoryRegion> memory_region(size_t i) const;
    // Calls f(const MemoryRegion&) for every region.
    template <class F>
    void for_each_memory_region(F&& f) const {
        for (size_t i = 0; i < mmap_count_; ++i) f(region_at(i));
    }

    size_t module_count() const { return module_count_; }
    // Module i < module_count(), in tag order. Walks the tags (modules are few).
    Result<Module> module(size_t i) const;
    template <class F>
    void for_each_module(F&& f) const {
        for (size_t i = 0; i < module_count_; ++i) f(module_at(i));
    }

    // RSDP copies; data == nullptr when the tag is absent.
    Bytes acpi_old_rsdp() const { return acpi_old_; }
    Bytes acpi_new_rsdp() const { return acpi_new_; }

    BootInfo() = default;

private:
    MemoryRegion region_at(size_t i) const;
    Module module_at(size_t i) const;

    const uint8_t* base_ = nullptr;
    uint32_t total_size_ = 0;
    const char* cmdline_ = nullptr;
    const char* loader_name_ = nullptr;
    bool has_meminfo_ = false;
    BasicMeminfo meminfo_ = {0, 0};
    const uint8_t* mmap_entries_ = nullptr;
    uint32_t mmap_entry_size_ = 0;
    size_t mmap_count_ = 0;
    uint32_t first_module_offset_ = 0;
    size_t module_count_ = 0;
    Bytes acpi_old_ = {nullptr, 0};
    Bytes acpi_new_ = {nullptr, 0};
};

// Stable name of a memory type, for the boot log.
const char* memory_type_name(MemoryType t);

}  // namespace kern::multiboot2
