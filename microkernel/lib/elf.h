// elf.h - validate an ELF64 boot-module image and plan its user mappings.
//
// elf_plan() reads an untrusted image (a boot module, later a file a
// process hands to the spawner) and either produces an ElfPlan the kernel can
// map without further checks, or refuses it with one ElfReject reason.
// Accepted images are: ELF64, little endian, version 1, ET_EXEC (static,
// non-PIE), EM_X86_64, with 1..kElfMaxLoadSegments non-empty PT_LOAD segments.
// Policy decisions (documented in docs/rings.md):
//  - every segment lies in [kUserImageBase, kUserImageEnd) (layout.h);
//  - segments do not overlap even at page granularity (each page gets exactly
//    one set of permissions);
//  - W^X: a segment that is both writable and executable is refused;
//  - p_align is 0, 1 or a power of two, and vaddr and offset are congruent
//    modulo both p_align and the page size (the file page maps 1:1);
//  - the entry point lies inside an executable segment's memory;
//  - PT_INTERP and PT_DYNAMIC are refused (no dynamic linking); at most one
//    PT_TLS, whose image lies inside the file and whose block fits the
//    per-thread TLS slot;
//  - other program header types (NOTE, GNU_STACK, GNU_PROPERTY, PHDR,
//    GNU_RELRO, GNU_EH_FRAME) are ignored.
// All arithmetic on header values is overflow-checked. Pure function: no
// allocation, reads only image[0..size).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"

namespace kern {

inline constexpr uint32_t kElfMaxLoadSegments = 16;
inline constexpr uint32_t kElfMaxPhdrs = 64;

// Segment permission bits (same values as ELF p_flags).
inline constexpr uint32_t kElfFlagX = 1;
inline constexpr uint32_t kElfFlagW = 2;
inline constexpr uint32_t kElfFlagR = 4;

struct ElfSegment {
    uint64_t vaddr;        // first byte's user address
    uint64_t memsz;        // bytes of memory (filesz bytes from the file, the rest zero)
    uint64_t file_offset;  // where the file bytes start in the image
    uint64_t filesz;       // file bytes to copy (<= memsz)
    uint32_t flags;        // kElfFlag{R,W,X}
};

struct ElfTls {
    bool present;
    uint64_t file_offset;  // initialisation image in the file
    uint64_t filesz;       // .tdata bytes
    uint64_t memsz;        // .tdata + .tbss bytes
    uint64_t align;        // power of two (1 if the file said 0)
};

struct ElfPlan {
    uint64_t entry;
    uint32_t segment_count;
    ElfSegment segments[kElfMaxLoadSegments];  // in program-header order
    ElfTls tls;
};

// The precise reason an image was refused.
enum class ElfReject : uint8_t {
    none = 0,
    too_small,  // shorter than the ELF header
    bad_magic,
    not_elf64,
    not_little_endian,
    bad_version,
    not_executable,         // e_type is not ET_EXEC (relocatable, shared/PIE, core)
    wrong_machine,          // not EM_X86_64
    bad_header_size,        // e_ehsize or e_phentsize unexpected
    too_many_phdrs,         // e_phnum 0, PN_XNUM or above kElfMaxPhdrs
    phdrs_outside_file,     // phoff + phnum * phentsize beyond the image (or wraps)
    dynamic_not_supported,  // PT_INTERP or PT_DYNAMIC present
    segment_outside_file,   // p_offset + p_filesz beyond the image (or wraps)
    filesz_exceeds_memsz,
    segment_outside_user,  // vaddr range not inside [kUserImageBase, kUserImageEnd) or wraps
    bad_alignment,         // p_align not 0/1/power of two, or vaddr/offset not congruent
    overlapping_segments,  // two PT_LOADs share a page
    writable_executable,   // W+X segment (W^X policy)
    too_many_segments,     // more than kElfMaxLoadSegments non-empty PT_LOADs
    no_load_segments,
    entry_not_executable,  // entry point not inside an executable segment
    bad_tls,               // second PT_TLS, bad align, image outside file, too large
};

const char* elf_reject_name(ElfReject r);

// Kernel Error for a reject reason (truncated, malformed, unsupported, ...).
Error elf_reject_error(ElfReject r);

// Validates image[0..size) and fills `plan`. On failure returns the matching
// Error and, if `why` is not null, the precise ElfReject.
[[nodiscard]] Result<void> elf_plan(const uint8_t* image, size_t size, ElfPlan& plan, ElfReject* why);

}  // namespace kern
