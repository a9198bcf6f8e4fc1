// elf.cpp - ELF64 image validation and mapping plan for boot modules.
#include "lib/elf.h"

#include "capos/abi/layout.h"
#include "lib/unaligned.h"

namespace kern {

namespace abi = capos::abi;

namespace {

// ELF constants (System V gABI, x86-64 psABI).
constexpr uint32_t kEhdrSize = 64;
constexpr uint32_t kPhdrSize = 56;
constexpr uint8_t kClass64 = 2;
constexpr uint8_t kData2Lsb = 1;
constexpr uint8_t kEvCurrent = 1;
constexpr uint16_t kEtExec = 2;
constexpr uint16_t kEmX86_64 = 62;
constexpr uint16_t kPnXnum = 0xffff;
constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPtDynamic = 2;
constexpr uint32_t kPtInterp = 3;
constexpr uint32_t kPtTls = 7;
constexpr uint64_t kPage = abi::kPageSize;
// The TLS block plus the thread control block and a guard page must fit the
// per-thread TLS slot of layout.h.
constexpr uint64_t kTlsMaxBlock = abi::kUserTlsStride - kPage - 64;

struct Phdr {
    uint32_t type;
    uint32_t flags;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

Phdr read_phdr(const uint8_t* p) {
    return Phdr{load_le32(p),      load_le32(p + 4),  load_le64(p + 8), load_le64(p + 16),
                load_le64(p + 32), load_le64(p + 40), load_le64(p + 48)};
}

bool add_ok(uint64_t a, uint64_t b, uint64_t* sum) { return !__builtin_add_overflow(a, b, sum); }

bool within_file(uint64_t offset, uint64_t len, size_t size) {
    uint64_t end;
    return add_ok(offset, len, &end) && end <= size;
}

bool align_ok(uint64_t align) { return align <= 1 || (align & (align - 1)) == 0; }

Result<void> reject(ElfReject r, ElfReject* why) {
    if (why != nullptr) *why = r;
    return elf_reject_error(r);
}

}  // namespace

const char* elf_reject_name(ElfReject r) {
    switch (r) {
        case ElfReject::none:
            return "none";
        case ElfReject::too_small:
            return "too_small";
        case ElfReject::bad_magic:
            return "bad_magic";
        case ElfReject::not_elf64:
            return "not_elf64";
        case ElfReject::not_little_endian:
            return "not_little_endian";
        case ElfReject::bad_version:
            return "bad_version";
        case ElfReject::not_executable:
            return "not_executable";
        case ElfReject::wrong_machine:
            return "wrong_machine";
        case ElfReject::bad_header_size:
            return "bad_header_size";
        case ElfReject::too_many_phdrs:
            return "too_many_phdrs";
        case ElfReject::phdrs_outside_file:
            return "phdrs_outside_file";
        case ElfReject::dynamic_not_supported:
            return "dynamic_not_supported";
        case ElfReject::segment_outside_file:
            return "segment_outside_file";
        case ElfReject::filesz_exceeds_memsz:
            return "filesz_exceeds_memsz";
        case ElfReject::segment_outside_user:
            return "segment_outside_user";
        case ElfReject::bad_alignment:
            return "bad_alignment";
        case ElfReject::overlapping_segments:
            return "overlapping_segments";
        case ElfReject::writable_executable:
            return "writable_executable";
        case ElfReject::too_many_segments:
            return "too_many_segments";
        case ElfReject::no_load_segments:
            return "no_load_segments";
        case ElfReject::entry_not_executable:
            return "entry_not_executable";
        case ElfReject::bad_tls:
            return "bad_tls";
    }
    return "unknown_reject";
}

Error elf_reject_error(ElfReject r) {
    switch (r) {
        case ElfReject::none:
            return Error::none;
        case ElfReject::too_small:
        case ElfReject::phdrs_outside_file:
        case ElfReject::segment_outside_file:
            return Error::truncated;
        case ElfReject::not_elf64:
        case ElfReject::not_little_endian:
        case ElfReject::not_executable:
        case ElfReject::wrong_machine:
        case ElfReject::dynamic_not_supported:
            return Error::unsupported;
        case ElfReject::segment_outside_user:
            return Error::out_of_range;
        case ElfReject::bad_alignment:
            return Error::misaligned;
        case ElfReject::too_many_segments:
            return Error::capacity;
        case ElfReject::bad_magic:
        case ElfReject::bad_version:
        case ElfReject::bad_header_size:
        case ElfReject::too_many_phdrs:
        case ElfReject::filesz_exceeds_memsz:
        case ElfReject::overlapping_segments:
        case ElfReject::writable_executable:
        case ElfReject::no_load_segments:
        case ElfReject::entry_not_executable:
        case ElfReject::bad_tls:
            return Error::malformed;
    }
    return Error::malformed;
}

Result<void> elf_plan(const uint8_t* image, size_t size, ElfPlan& plan, ElfReject* why) {
    plan = ElfPlan{};
    if (why != nullptr) *why = ElfReject::none;
    if (image == nullptr || size < kEhdrSize) return reject(ElfReject::too_small, why);

    // e_ident
    if (image[0] != 0x7f || image[1] != 'E' || image[2] != 'L' || image[3] != 'F')
        return reject(ElfReject::bad_magic, why);
    if (image[4] != kClass64) return reject(ElfReject::not_elf64, why);
    if (image[5] != kData2Lsb) return reject(ElfReject::not_little_endian, why);
    if (image[6] != kEvCurrent) return reject(ElfReject::bad_version, why);

    const uint16_t e_type = load_le16(image + 16);
    const uint16_t e_machine = load_le16(image + 18);
    const uint32_t e_version = load_le32(image + 20);
    const uint64_t e_entry = load_le64(image + 24);
    const uint64_t e_phoff = load_le64(image + 32);
    const uint16_t e_ehsize = load_le16(image + 52);
    const uint16_t e_phentsize = load_le16(image + 54);
    const uint16_t e_phnum = load_le16(image + 56);

    if (e_type != kEtExec) return reject(ElfReject::not_executable, why);
    if (e_machine != kEmX86_64) return reject(ElfReject::wrong_machine, why);
    if (e_version != kEvCurrent) return reject(ElfReject::bad_version, why);
    if (e_ehsize != kEhdrSize || e_phentsize != kPhdrSize) return reject(ElfReject::bad_header_size, why);
    if (e_phnum == 0 || e_phnum == kPnXnum || e_phnum > kElfMaxPhdrs) return reject(ElfReject::too_many_phdrs, why);
    // phnum <= 64, so the product cannot overflow; the sum can.
    if (!within_file(e_phoff, uint64_t{e_phnum} * kPhdrSize, size)) return reject(ElfReject::phdrs_outside_file, why);

    for (uint32_t i = 0; i < e_phnum; i++) {
        const Phdr ph = read_phdr(image + e_phoff + uint64_t{i} * kPhdrSize);
        if (ph.type == kPtInterp || ph.type == kPtDynamic) return reject(ElfReject::dynamic_not_supported, why);

        if (ph.type == kPtTls) {
            if (plan.tls.present) return reject(ElfReject::bad_tls, why);
            if (!align_ok(ph.align) || ph.align > kPage || ph.filesz > ph.memsz || ph.memsz > kTlsMaxBlock ||
                !within_file(ph.offset, ph.filesz, size))
                return reject(ElfReject::bad_tls, why);
            plan.tls = ElfTls{true, ph.offset, ph.filesz, ph.memsz, ph.align == 0 ? 1 : ph.align};
            continue;
        }
        if (ph.type != kPtLoad || ph.memsz == 0) continue;

        if (!within_file(ph.offset, ph.filesz, size)) return reject(ElfReject::segment_outside_file, why);
        if (ph.filesz > ph.memsz) return reject(ElfReject::filesz_exceeds_memsz, why);
        uint64_t end;
        if (!add_ok(ph.vaddr, ph.memsz, &end) || ph.vaddr < abi::kUserImageBase || end > abi::kUserImageEnd)
            return reject(ElfReject::segment_outside_user, why);
        if (!align_ok(ph.align)) return reject(ElfReject::bad_alignment, why);
        if (ph.align > 1 && ph.vaddr % ph.align != ph.offset % ph.align) return reject(ElfReject::bad_alignment, why);
        if (ph.vaddr % kPage != ph.offset % kPage) return reject(ElfReject::bad_alignment, why);
        if ((ph.flags & kElfFlagW) != 0 && (ph.flags & kElfFlagX) != 0)
            return reject(ElfReject::writable_executable, why);

        // Page-granular overlap with every earlier segment (at most 16: O(n^2) is fine).
        // `end` <= kUserImageEnd, so rounding up cannot wrap.
        const uint64_t lo = ph.vaddr & ~(kPage - 1);
        const uint64_t hi = (end + kPage - 1) & ~(kPage - 1);
        for (uint32_t j = 0; j < plan.segment_count; j++) {
            const ElfSegment& o = plan.segments[j];
            const uint64_t olo = o.vaddr & ~(kPage - 1);
            const uint64_t ohi = (o.vaddr + o.memsz + kPage - 1) & ~(kPage - 1);
            if (lo < ohi && olo < hi) return reject(ElfReject::overlapping_segments, why);
        }
        if (plan.segment_count == kElfMaxLoadSegments) return reject(ElfReject::too_many_segments, why);
        plan.segments[plan.segment_count++] =
            ElfSegment{ph.vaddr, ph.memsz, ph.offset, ph.filesz, ph.flags & (kElfFlagR | kElfFlagW | kElfFlagX)};
    }

    if (plan.segment_count == 0) return reject(ElfReject::no_load_segments, why);

    bool entry_ok = false;
    for (uint32_t j = 0; j < plan.segment_count; j++) {
        const ElfSegment& s = plan.segments[j];
        if ((s.flags & kElfFlagX) != 0 && e_entry >= s.vaddr && e_entry - s.vaddr < s.memsz) entry_ok = true;
    }
    if (!entry_ok) return reject(ElfReject::entry_not_executable, why);
    plan.entry = e_entry;
    return ok();
}

}  // namespace kern
