// elf_test.cpp - ELF64 loader: valid images (synthetic and toolchain-built) and hostile ones.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "capos/abi/layout.h"
#include "lib/elf.h"

using namespace kern;
namespace abi = capos::abi;

namespace {

// Builds an ELF64 image byte by byte, so each hostile variant is one edit away
// from a valid one.
struct Image {
    std::vector<uint8_t> bytes;

    void put16(size_t off, uint16_t v) {
        for (int i = 0; i < 2; i++) bytes[off + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
    }
    void put32(size_t off, uint32_t v) {
        for (int i = 0; i < 4; i++) bytes[off + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
    }
    void put64(size_t off, uint64_t v) {
        for (int i = 0; i < 8; i++) bytes[off + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
    }

    static constexpr size_t kPhoff = 64;
    size_t ph(int i) const { return kPhoff + 56 * static_cast<size_t>(i); }

    void set_phdr(int i, uint32_t type, uint32_t flags, uint64_t offset, uint64_t vaddr, uint64_t filesz,
                  uint64_t memsz, uint64_t align) {
        size_t o = ph(i);
        put32(o, type);
        put32(o + 4, flags);
        put64(o + 8, offset);
        put64(o + 16, vaddr);
        put64(o + 24, vaddr);  // paddr
        put64(o + 32, filesz);
        put64(o + 40, memsz);
        put64(o + 48, align);
    }
    void set_phnum(uint16_t n) { put16(56, n); }
    void set_entry(uint64_t e) { put64(24, e); }
};

constexpr uint32_t PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4, PT_TLS = 7;
constexpr uint32_t PF_X = 1, PF_W = 2, PF_R = 4;

// A valid two-segment executable: text (R+X) at 0x401000 from file offset
// 0x1000, data (R+W) at 0x402000 from 0x2000 with a bss tail.
Image valid_image() {
    Image im;
    im.bytes.assign(0x3000, 0);
    uint8_t* b = im.bytes.data();
    b[0] = 0x7f;
    b[1] = 'E';
    b[2] = 'L';
    b[3] = 'F';
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    im.put16(16, 2);   // ET_EXEC
    im.put16(18, 62);  // EM_X86_64
    im.put32(20, 1);
    im.set_entry(0x401010);
    im.put64(32, Image::kPhoff);
    im.put16(52, 64);
    im.put16(54, 56);
    im.set_phnum(2);
    im.set_phdr(0, PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x800, 0x800, 0x1000);
    im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0x402000, 0x100, 0x3000, 0x1000);
    return im;
}

ElfReject check(const Image& im, ElfPlan& plan) {
    ElfReject why = ElfReject::none;
    auto r = elf_plan(im.bytes.data(), im.bytes.size(), plan, &why);
    if (r.ok()) CHECK(why == ElfReject::none);
    else CHECK(why != ElfReject::none);
    return why;
}

ElfReject check(const Image& im) {
    ElfPlan plan;
    return check(im, plan);
}

}  // namespace

TEST_CASE("a valid synthetic image gives the expected plan", "[elf]") {
    ElfPlan plan;
    REQUIRE(check(valid_image(), plan) == ElfReject::none);
    CHECK(plan.entry == 0x401010);
    REQUIRE(plan.segment_count == 2);
    CHECK(plan.segments[0].vaddr == 0x401000);
    CHECK(plan.segments[0].file_offset == 0x1000);
    CHECK(plan.segments[0].filesz == 0x800);
    CHECK(plan.segments[0].flags == (kElfFlagR | kElfFlagX));
    CHECK(plan.segments[1].memsz == 0x3000);
    CHECK(plan.segments[1].filesz == 0x100);
    CHECK(plan.segments[1].flags == (kElfFlagR | kElfFlagW));
    CHECK(!plan.tls.present);
}

TEST_CASE("PT_TLS is described in the plan; ignorable headers are ignored", "[elf]") {
    Image im = valid_image();
    im.set_phnum(4);
    im.set_phdr(2, PT_TLS, PF_R, 0x2000, 0x402000, 0x10, 0x40, 16);
    im.set_phdr(3, PT_NOTE, PF_R, 0x10, 0, 0x10, 0x10, 4);
    ElfPlan plan;
    REQUIRE(check(im, plan) == ElfReject::none);
    REQUIRE(plan.tls.present);
    CHECK(plan.tls.file_offset == 0x2000);
    CHECK(plan.tls.filesz == 0x10);
    CHECK(plan.tls.memsz == 0x40);
    CHECK(plan.tls.align == 16);
    CHECK(plan.segment_count == 2);
}

TEST_CASE("hostile headers are refused with the precise reason", "[elf][hostile]") {
    SECTION("empty and truncated") {
        ElfPlan plan;
        ElfReject why;
        CHECK(elf_plan(nullptr, 0, plan, &why).error() == Error::truncated);
        CHECK(why == ElfReject::too_small);
        Image im = valid_image();
        for (size_t n : {size_t{0}, size_t{4}, size_t{63}}) {
            CHECK(elf_plan(im.bytes.data(), n, plan, &why).error() == Error::truncated);
            CHECK(why == ElfReject::too_small);
        }
        // Header present, program headers cut off.
        CHECK(elf_plan(im.bytes.data(), 64 + 56 + 10, plan, &why).error() == Error::truncated);
        CHECK(why == ElfReject::phdrs_outside_file);
        // Program headers present, segment bytes cut off.
        CHECK(elf_plan(im.bytes.data(), 0x2050, plan, &why).error() == Error::truncated);
        CHECK(why == ElfReject::segment_outside_file);
    }
    SECTION("identification") {
        Image im = valid_image();
        im.bytes[1] = 'X';
        CHECK(check(im) == ElfReject::bad_magic);
        im = valid_image();
        im.bytes[4] = 1;  // ELFCLASS32
        CHECK(check(im) == ElfReject::not_elf64);
        im = valid_image();
        im.bytes[5] = 2;  // big endian
        CHECK(check(im) == ElfReject::not_little_endian);
        im = valid_image();
        im.bytes[6] = 0;
        CHECK(check(im) == ElfReject::bad_version);
        im = valid_image();
        im.put32(20, 2);
        CHECK(check(im) == ElfReject::bad_version);
    }
    SECTION("type and machine") {
        Image im = valid_image();
        im.put16(16, 3);  // ET_DYN: PIE or shared object
        CHECK(check(im) == ElfReject::not_executable);
        im.put16(16, 1);  // ET_REL
        CHECK(check(im) == ElfReject::not_executable);
        im = valid_image();
        im.put16(18, 3);  // EM_386
        CHECK(check(im) == ElfReject::wrong_machine);
    }
    SECTION("header sizes and counts") {
        Image im = valid_image();
        im.put16(54, 32);
        CHECK(check(im) == ElfReject::bad_header_size);
        im = valid_image();
        im.put16(52, 52);
        CHECK(check(im) == ElfReject::bad_header_size);
        im = valid_image();
        im.set_phnum(0);
        CHECK(check(im) == ElfReject::too_many_phdrs);
        im.set_phnum(0xffff);
        CHECK(check(im) == ElfReject::too_many_phdrs);
        im.set_phnum(65);
        CHECK(check(im) == ElfReject::too_many_phdrs);
    }
    SECTION("phoff past the end or wrapping") {
        Image im = valid_image();
        im.put64(32, 0x3000);
        CHECK(check(im) == ElfReject::phdrs_outside_file);
        im.put64(32, ~uint64_t{0} - 8);  // offset + size wraps
        CHECK(check(im) == ElfReject::phdrs_outside_file);
    }
}

TEST_CASE("hostile segments are refused with the precise reason", "[elf][hostile]") {
    Image im = valid_image();
    SECTION("offset + filesz past the end") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0x402000, 0x1001, 0x3000, 0x1000);
        CHECK(check(im) == ElfReject::segment_outside_file);
    }
    SECTION("offset + filesz overflows 64 bits") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0xffff'ffff'ffff'f000ull, 0x402000, 0x2000, 0x3000, 0x1000);
        CHECK(check(im) == ElfReject::segment_outside_file);
    }
    SECTION("filesz > memsz") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0x402000, 0x200, 0x100, 0x1000);
        CHECK(check(im) == ElfReject::filesz_exceeds_memsz);
    }
    SECTION("kernel-half vaddr") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0xffff'ffff'8000'0000ull, 0x100, 0x100, 0x1000);
        CHECK(check(im) == ElfReject::segment_outside_user);
    }
    SECTION("vaddr + memsz wraps") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0x402000, 0x100, ~uint64_t{0} - 0x1000, 0x1000);
        CHECK(check(im) == ElfReject::segment_outside_user);
    }
    SECTION("below the image base (null guard)") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0x2000, 0x100, 0x100, 0x1000);
        CHECK(check(im) == ElfReject::segment_outside_user);
    }
    SECTION("ends past the image region") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, abi::kUserImageEnd - 0x1000, 0x100, 0x2000, 0x1000);
        CHECK(check(im) == ElfReject::segment_outside_user);
    }
    SECTION("alignment not a power of two") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0x402000, 0x100, 0x100, 0x3000);
        CHECK(check(im) == ElfReject::bad_alignment);
    }
    SECTION("vaddr and offset not congruent") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2010, 0x402000, 0x100, 0x100, 0x1000);
        CHECK(check(im) == ElfReject::bad_alignment);
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2010, 0x402000, 0x100, 0x100, 1);
        CHECK(check(im) == ElfReject::bad_alignment);  // page congruence even with align 1
    }
    SECTION("overlapping segments") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0x401000, 0x100, 0x100, 0x1000);
        CHECK(check(im) == ElfReject::overlapping_segments);
    }
    SECTION("segments sharing a page") {
        // text ends at 0x401800; data starts at 0x401900 in the same page.
        im.set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2900, 0x401900, 0x100, 0x100, 0x1000);
        CHECK(check(im) == ElfReject::overlapping_segments);
    }
    SECTION("W+X segment") {
        im.set_phdr(1, PT_LOAD, PF_R | PF_W | PF_X, 0x2000, 0x402000, 0x100, 0x100, 0x1000);
        CHECK(check(im) == ElfReject::writable_executable);
    }
    SECTION("entry outside text") {
        im.set_entry(0x402010);  // in the data segment
        CHECK(check(im) == ElfReject::entry_not_executable);
        im.set_entry(0x401800);  // one past text
        CHECK(check(im) == ElfReject::entry_not_executable);
        im.set_entry(0);
        CHECK(check(im) == ElfReject::entry_not_executable);
    }
    SECTION("dynamic images") {
        im.set_phdr(1, PT_INTERP, PF_R, 0x2000, 0x402000, 0x10, 0x10, 1);
        CHECK(check(im) == ElfReject::dynamic_not_supported);
        im.set_phdr(1, PT_DYNAMIC, PF_R, 0x2000, 0x402000, 0x10, 0x10, 8);
        CHECK(check(im) == ElfReject::dynamic_not_supported);
    }
    SECTION("no loadable segment") {
        im.set_phdr(0, PT_NOTE, PF_R, 0x10, 0, 0x10, 0x10, 4);
        im.set_phdr(1, PT_LOAD, PF_R, 0x2000, 0x402000, 0, 0, 0x1000);  // empty: ignored
        CHECK(check(im) == ElfReject::no_load_segments);
    }
    SECTION("bad TLS") {
        im.set_phnum(3);
        im.set_phdr(2, PT_TLS, PF_R, 0x2000, 0x402000, 0x10, 0x40, 3);
        CHECK(check(im) == ElfReject::bad_tls);
        im.set_phdr(2, PT_TLS, PF_R, 0x2000, 0x402000, 0x80, 0x40, 8);
        CHECK(check(im) == ElfReject::bad_tls);
        im.set_phdr(2, PT_TLS, PF_R, 0x2ff8, 0x402000, 0x10, 0x40, 8);
        CHECK(check(im) == ElfReject::bad_tls);
        im.set_phdr(2, PT_TLS, PF_R, 0x2000, 0x402000, 0x10, 0x100000, 8);
        CHECK(check(im) == ElfReject::bad_tls);
        im.set_phnum(4);
        im.set_phdr(2, PT_TLS, PF_R, 0x2000, 0x402000, 0x10, 0x40, 8);
        im.set_phdr(3, PT_TLS, PF_R, 0x2000, 0x402000, 0x10, 0x40, 8);
        CHECK(check(im) == ElfReject::bad_tls);
    }
}

TEST_CASE("more PT_LOADs than the plan holds are refused", "[elf][hostile]") {
    Image im = valid_image();
    im.bytes.resize(0x40000, 0);
    const int n = static_cast<int>(kElfMaxLoadSegments) + 1;
    im.set_phnum(static_cast<uint16_t>(n));
    for (int i = 0; i < n; i++) {
        const uint64_t off = 0x1000 * static_cast<uint64_t>(i + 1);
        im.set_phdr(i, PT_LOAD, i == 0 ? PF_R | PF_X : PF_R, off, 0x400000 + off, 0x10, 0x10, 0x1000);
    }
    im.set_entry(0x401000);
    CHECK(check(im) == ElfReject::too_many_segments);
    im.set_phnum(static_cast<uint16_t>(n - 1));
    ElfPlan plan;
    CHECK(check(im, plan) == ElfReject::none);
    CHECK(plan.segment_count == kElfMaxLoadSegments);
}

TEST_CASE("every single-byte corruption of a valid image is handled", "[elf][hostile]") {
    // Not every corruption is invalid; the point is that none crashes or reads
    // out of bounds (ASan) and accepted plans still satisfy the invariants.
    const Image base = valid_image();
    const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    for (size_t off = 0; off < 64 + 2 * 56; off++) {
        for (uint8_t v : values) {
            Image im = base;
            im.bytes[off] = v;
            ElfPlan plan;
            if (elf_plan(im.bytes.data(), im.bytes.size(), plan, nullptr).ok()) {
                for (uint32_t i = 0; i < plan.segment_count; i++) {
                    const ElfSegment& s = plan.segments[i];
                    REQUIRE(s.filesz <= s.memsz);
                    REQUIRE(s.file_offset + s.filesz <= im.bytes.size());
                    REQUIRE(s.vaddr >= abi::kUserImageBase);
                    REQUIRE(s.vaddr + s.memsz <= abi::kUserImageEnd);
                    REQUIRE(!((s.flags & kElfFlagW) && (s.flags & kElfFlagX)));
                }
            }
        }
    }
}

TEST_CASE("the toolchain-built static sample is accepted", "[elf]") {
    std::ifstream f(CAPOS_ELF_SAMPLE, std::ios::binary);
    REQUIRE(f.good());
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() > 64);
    ElfPlan plan;
    ElfReject why = ElfReject::none;
    auto r = elf_plan(bytes.data(), bytes.size(), plan, &why);
    INFO("reject: " << elf_reject_name(why));
    REQUIRE(r.ok());
    CHECK(plan.segment_count >= 2);
    CHECK(plan.entry >= abi::kUserImageBase);
    bool has_text = false, has_data = false;
    for (uint32_t i = 0; i < plan.segment_count; i++) {
        if (plan.segments[i].flags & kElfFlagX) has_text = true;
        if (plan.segments[i].flags & kElfFlagW) {
            has_data = true;
            CHECK(plan.segments[i].memsz > plan.segments[i].filesz);  // .bss tail
        }
    }
    CHECK(has_text);
    CHECK(has_data);
    REQUIRE(plan.tls.present);
    CHECK(plan.tls.filesz >= 8);
    CHECK(plan.tls.memsz >= plan.tls.filesz + 32);
}
