// multiboot2.cpp - validating parser for the Multiboot2 boot information block.
#include "boot/multiboot2.h"

#include "lib/unaligned.h"

namespace kern::multiboot2 {
namespace {

constexpr uint32_t kTagHeaderSize = 8;
constexpr uint32_t kMmapHeaderSize = 16;  // tag header + entry_size + entry_version
constexpr uint32_t kMmapMinEntrySize = 24;
constexpr uint32_t kModuleHeaderSize = 16;  // tag header + start + end
constexpr uint32_t kMeminfoSize = 16;
constexpr uint32_t kRsdpV1Size = 20;
constexpr uint32_t kRsdpV2Size = 36;

// True when [p, p+n) holds a NUL byte.
bool has_nul(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (p[i] == 0) return true;
    }
    return false;
}

// A string payload starts at `off` inside a tag of `size` bytes.
Result<const char*> tag_string(const uint8_t* tag, uint32_t size, uint32_t off) {
    if (size <= off || !has_nul(tag + off, size - off)) return Error::malformed;
    return reinterpret_cast<const char*>(tag + off);
}

MemoryType normalise(uint32_t raw) {
    switch (raw) {
        case 1:
            return MemoryType::available;
        case 3:
            return MemoryType::acpi_reclaimable;
        case 4:
            return MemoryType::acpi_nvs;
        case 5:
            return MemoryType::bad;
        default:
            return MemoryType::reserved;
    }
}

}  // namespace

Result<BootInfo> BootInfo::parse(const uint8_t* base, size_t len) {
    if (base == nullptr) return Error::invalid_argument;
    if (reinterpret_cast<uintptr_t>(base) % 8 != 0) return Error::misaligned;
    if (len < 8) return Error::truncated;
    const uint32_t total = load_le32(base);
    if (total > len) return Error::truncated;
    if (total < 8 + kTagHeaderSize || total % 8 != 0) return Error::malformed;

    BootInfo info;
    info.base_ = base;
    info.total_size_ = total;

    uint32_t off = 8;
    bool seen_end = false;
    while (!seen_end) {
        // total is a multiple of 8 and so is off, so a header fits when off < total.
        if (off >= total) return Error::malformed;  // ran out before the end tag
        const uint8_t* tag = base + off;
        const uint32_t type = load_le32(tag);
        const uint32_t size = load_le32(tag + 4);
        if (size < kTagHeaderSize || size > total - off) return Error::malformed;

        switch (type) {
            case kTagEnd:
                if (size != kTagHeaderSize || off + size != total) return Error::malformed;
                seen_end = true;
                break;
            case kTagCmdline: {
                if (info.cmdline_ != nullptr) return Error::malformed;
                info.cmdline_ = TRY(tag_string(tag, size, kTagHeaderSize));
                break;
            }
            case kTagBootLoaderName: {
                if (info.loader_name_ != nullptr) return Error::malformed;
                info.loader_name_ = TRY(tag_string(tag, size, kTagHeaderSize));
                break;
            }
            case kTagModule: {
                if (size < kModuleHeaderSize) return Error::malformed;
                if (load_le32(tag + 8) > load_le32(tag + 12)) return Error::malformed;
                (void)TRY(tag_string(tag, size, kModuleHeaderSize));
                if (info.module_count_ == 0) info.first_module_offset_ = off;
                ++info.module_count_;
                break;
            }
            case kTagBasicMeminfo:
                if (info.has_meminfo_ || size < kMeminfoSize) return Error::malformed;
                info.has_meminfo_ = true;
                info.meminfo_ = {load_le32(tag + 8), load_le32(tag + 12)};
                break;
            case kTagMmap: {
                if (info.mmap_entries_ != nullptr || size < kMmapHeaderSize) return Error::malformed;
                const uint32_t esize = load_le32(tag + 8);
                if (esize < kMmapMinEntrySize || esize % 8 != 0) return Error::malformed;
                const uint32_t payload = size - kMmapHeaderSize;
                if (payload % esize != 0) return Error::malformed;
                const uint8_t* entries = tag + kMmapHeaderSize;
                const size_t count = payload / esize;
                for (size_t i = 0; i < count; ++i) {
                    const uint64_t b = load_le64(entries + i * esize);
                    const uint64_t l = load_le64(entries + i * esize + 8);
                    if (l != 0 && b + (l - 1) < b) return Error::malformed;  // wraps
                }
                info.mmap_entries_ = entries;
                info.mmap_entry_size_ = esize;
                info.mmap_count_ = count;
                break;
            }
            case kTagAcpiOld:
                if (info.acpi_old_.data != nullptr || size < kTagHeaderSize + kRsdpV1Size) {
                    return Error::malformed;
                }
                info.acpi_old_ = {tag + kTagHeaderSize, size - kTagHeaderSize};
                break;
            case kTagAcpiNew:
                if (info.acpi_new_.data != nullptr || size < kTagHeaderSize + kRsdpV2Size) {
                    return Error::malformed;
                }
                info.acpi_new_ = {tag + kTagHeaderSize, size - kTagHeaderSize};
                break;
            default:
                break;  // tags we do not use are skipped by their size
        }
        // Cannot pass total: off + size <= total and total is 8-aligned.
        off += (size + 7) & ~7u;
    }
    return info;
}

MemoryRegion BootInfo::region_at(size_t i) const {
    const uint8_t* e = mmap_entries_ + i * mmap_entry_size_;
    const uint32_t raw = load_le32(e + 16);
    return {load_le64(e), load_le64(e + 8), normalise(raw), raw};
}

Result<MemoryRegion> BootInfo::memory_region(size_t i) const {
    if (i >= mmap_count_) return Error::out_of_range;
    return region_at(i);
}

Module BootInfo::module_at(size_t i) const {
    // Walk from the first module tag; parse() proved every tag on the way valid.
    uint32_t off = first_module_offset_;
    size_t seen = 0;
    for (;;) {
        const uint8_t* tag = base_ + off;
        const uint32_t size = load_le32(tag + 4);
        if (load_le32(tag) == kTagModule) {
            if (seen == i) {
                return {load_le32(tag + 8), load_le32(tag + 12),
                        reinterpret_cast<const char*>(tag + kModuleHeaderSize)};
            }
            ++seen;
        }
        off += (size + 7) & ~7u;
    }
}

Result<Module> BootInfo::module(size_t i) const {
    if (i >= module_count_) return Error::out_of_range;
    return module_at(i);
}

const char* memory_type_name(MemoryType t) {
    switch (t) {
        case MemoryType::available:
            return "available";
        case MemoryType::reserved:
            return "reserved";
        case MemoryType::acpi_reclaimable:
            return "acpi_reclaimable";
        case MemoryType::acpi_nvs:
            return "acpi_nvs";
        case MemoryType::bad:
            return "bad";
    }
    return "reserved";
}

}  // namespace kern::multiboot2
