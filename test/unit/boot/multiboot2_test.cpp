// multiboot2_test.cpp - Multiboot2 parser on built-up valid and malformed blobs.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "boot/multiboot2.h"

using kern::Error;
namespace mb = kern::multiboot2;

namespace {

// Builds a boot information block the way GRUB lays it out.
class Blob {
public:
    Blob() { put32(0), put32(0); }

    Blob& tag(uint32_t type, const std::vector<uint8_t>& payload) {
        align8();
        put32(type);
        put32(static_cast<uint32_t>(8 + payload.size()));
        bytes_.insert(bytes_.end(), payload.begin(), payload.end());
        return *this;
    }
    Blob& string_tag(uint32_t type, const std::string& s) {
        std::vector<uint8_t> p(s.begin(), s.end());
        p.push_back(0);
        return tag(type, p);
    }
    Blob& module(uint32_t start, uint32_t end, const std::string& s) {
        std::vector<uint8_t> p;
        le32(p, start);
        le32(p, end);
        p.insert(p.end(), s.begin(), s.end());
        p.push_back(0);
        return tag(mb::kTagModule, p);
    }
    struct Entry {
        uint64_t base, length;
        uint32_t type;
    };
    Blob& mmap(const std::vector<Entry>& entries, uint32_t entry_size = 24) {
        std::vector<uint8_t> p;
        le32(p, entry_size);
        le32(p, 0);
        for (const Entry& e : entries) {
            le64(p, e.base);
            le64(p, e.length);
            le32(p, e.type);
            le32(p, 0);
            p.resize(p.size() + entry_size - 24, 0);
        }
        return tag(mb::kTagMmap, p);
    }
    Blob& meminfo(uint32_t lower, uint32_t upper) {
        std::vector<uint8_t> p;
        le32(p, lower);
        le32(p, upper);
        return tag(mb::kTagBasicMeminfo, p);
    }
    Blob& end() {
        tag(mb::kTagEnd, {});
        fix_size();
        return *this;
    }
    void fix_size() {
        const uint32_t n = static_cast<uint32_t>(bytes_.size());
        std::memcpy(bytes_.data(), &n, 4);
    }
    void set32(size_t off, uint32_t v) { std::memcpy(bytes_.data() + off, &v, 4); }
    uint32_t get32(size_t off) const {
        uint32_t v;
        std::memcpy(&v, bytes_.data() + off, 4);
        return v;
    }
    std::vector<uint8_t>& bytes() { return bytes_; }

    // Copies into 8-aligned storage (a vector<uint64_t>) and parses `len` bytes.
    kern::Result<mb::BootInfo> parse(size_t len) {
        storage_.assign((bytes_.size() + 7) / 8 + 1, 0);
        std::memcpy(storage_.data(), bytes_.data(), bytes_.size());
        return mb::BootInfo::parse(reinterpret_cast<const uint8_t*>(storage_.data()), len);
    }
    kern::Result<mb::BootInfo> parse() { return parse(bytes_.size()); }

private:
    static void le32(std::vector<uint8_t>& p, uint32_t v) {
        for (int i = 0; i < 4; ++i) p.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    static void le64(std::vector<uint8_t>& p, uint64_t v) {
        for (int i = 0; i < 8; ++i) p.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void put32(uint32_t v) { le32(bytes_, v); }
    void align8() {
        while (bytes_.size() % 8 != 0) bytes_.push_back(0);
    }

    std::vector<uint8_t> bytes_;
    std::vector<uint64_t> storage_;
};

std::vector<uint8_t> rsdp_bytes(size_t n) {
    std::vector<uint8_t> p(n, 0);
    std::memcpy(p.data(), "RSD PTR ", 8);
    return p;
}

Blob full_blob() {
    Blob b;
    b.string_tag(mb::kTagCmdline, "test=boot serial=1")
        .string_tag(mb::kTagBootLoaderName, "GRUB 2.06")
        .meminfo(639, 130048)
        .module(0x200000, 0x201000, "init")
        .tag(5, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})  // boot device: skipped
        .module(0x300000, 0x300000, "")
        .mmap({{0, 0x9fc00, 1},
               {0x9fc00, 0x400, 2},
               {0x100000, 0x7ee0000, 1},
               {0x7fe0000, 0x20000, 3},
               {0xfffc0000, 0x40000, 4},
               {0xfd00000000, 0x1000, 5},
               {0xfe00000000, 0x1000, 12}})
        .tag(mb::kTagAcpiOld, rsdp_bytes(20))
        .tag(mb::kTagAcpiNew, rsdp_bytes(36))
        .end();
    return b;
}

}  // namespace

TEST_CASE("multiboot2: full valid blob exposes every tag", "[multiboot2]") {
    Blob b = full_blob();
    auto r = b.parse();
    REQUIRE(r.ok());
    const mb::BootInfo& info = r.value();
    CHECK(info.total_size() == b.bytes().size());
    REQUIRE(info.cmdline() != nullptr);
    CHECK(std::string(info.cmdline()) == "test=boot serial=1");
    REQUIRE(info.boot_loader_name() != nullptr);
    CHECK(std::string(info.boot_loader_name()) == "GRUB 2.06");
    REQUIRE(info.has_basic_meminfo());
    CHECK(info.basic_meminfo().mem_lower_kib == 639);
    CHECK(info.basic_meminfo().mem_upper_kib == 130048);

    REQUIRE(info.module_count() == 2);
    auto m0 = info.module(0);
    REQUIRE(m0.ok());
    CHECK(m0.value().start == 0x200000);
    CHECK(m0.value().end == 0x201000);
    CHECK(std::string(m0.value().string) == "init");
    auto m1 = info.module(1);
    REQUIRE(m1.ok());
    CHECK(m1.value().start == 0x300000);
    CHECK(std::string(m1.value().string).empty());
    CHECK(info.module(2).error() == Error::out_of_range);
    int seen = 0;
    info.for_each_module([&](const mb::Module& m) {
        CHECK(m.start <= m.end);
        ++seen;
    });
    CHECK(seen == 2);

    REQUIRE(info.memory_region_count() == 7);
    const mb::MemoryType want[] = {mb::MemoryType::available, mb::MemoryType::reserved,
                                   mb::MemoryType::available, mb::MemoryType::acpi_reclaimable,
                                   mb::MemoryType::acpi_nvs,  mb::MemoryType::bad,
                                   mb::MemoryType::reserved};
    for (size_t i = 0; i < 7; ++i) {
        auto reg = info.memory_region(i);
        REQUIRE(reg.ok());
        CHECK(reg.value().type == want[i]);
    }
    CHECK(info.memory_region(2).value().base == 0x100000);
    CHECK(info.memory_region(2).value().length == 0x7ee0000);
    CHECK(info.memory_region(6).value().raw_type == 12);
    CHECK(info.memory_region(7).error() == Error::out_of_range);
    uint64_t available = 0;
    info.for_each_memory_region([&](const mb::MemoryRegion& reg) {
        if (reg.type == mb::MemoryType::available) available += reg.length;
    });
    CHECK(available == 0x9fc00 + 0x7ee0000);

    REQUIRE(info.acpi_old_rsdp().data != nullptr);
    CHECK(info.acpi_old_rsdp().size == 20);
    CHECK(std::memcmp(info.acpi_old_rsdp().data, "RSD PTR ", 8) == 0);
    REQUIRE(info.acpi_new_rsdp().data != nullptr);
    CHECK(info.acpi_new_rsdp().size == 36);
    CHECK(std::string(mb::memory_type_name(mb::MemoryType::acpi_nvs)) == "acpi_nvs");
}

TEST_CASE("multiboot2: minimal blob has nothing optional", "[multiboot2]") {
    Blob b;
    b.end();
    auto r = b.parse();
    REQUIRE(r.ok());
    CHECK(r.value().total_size() == 16);
    CHECK(r.value().cmdline() == nullptr);
    CHECK(r.value().boot_loader_name() == nullptr);
    CHECK_FALSE(r.value().has_basic_meminfo());
    CHECK(r.value().memory_region_count() == 0);
    CHECK(r.value().module_count() == 0);
    CHECK(r.value().acpi_old_rsdp().data == nullptr);
    CHECK(r.value().acpi_new_rsdp().data == nullptr);
}

TEST_CASE("multiboot2: larger mmap entry size is honoured", "[multiboot2]") {
    Blob b;
    b.mmap({{0x100000, 0x1000, 1}, {0x200000, 0x2000, 2}}, 32).end();
    auto r = b.parse();
    REQUIRE(r.ok());
    REQUIRE(r.value().memory_region_count() == 2);
    CHECK(r.value().memory_region(1).value().base == 0x200000);
    CHECK(r.value().memory_region(1).value().length == 0x2000);
    CHECK(r.value().memory_region(1).value().type == mb::MemoryType::reserved);
}

TEST_CASE("multiboot2: header problems", "[multiboot2]") {
    SECTION("null base") { CHECK(mb::BootInfo::parse(nullptr, 64).error() == Error::invalid_argument); }
    SECTION("misaligned base") {
        Blob b = full_blob();
        std::vector<uint64_t> buf(b.bytes().size() / 8 + 2, 0);
        uint8_t* p = reinterpret_cast<uint8_t*>(buf.data()) + 4;
        std::memcpy(p, b.bytes().data(), b.bytes().size());
        CHECK(mb::BootInfo::parse(p, b.bytes().size()).error() == Error::misaligned);
    }
    SECTION("buffer shorter than header") {
        Blob b = full_blob();
        CHECK(b.parse(4).error() == Error::truncated);
    }
    SECTION("total_size larger than the buffer") {
        Blob b = full_blob();
        CHECK(b.parse(b.bytes().size() - 8).error() == Error::truncated);
    }
    SECTION("total_size smaller than one end tag") {
        Blob b;
        b.end();
        b.set32(0, 8);
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("total_size not a multiple of 8") {
        Blob b;
        b.end();
        b.bytes().resize(b.bytes().size() + 4, 0);
        b.fix_size();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("truncated total_size cuts a tag") {
        Blob b = full_blob();
        b.set32(0, 48);  // inside the boot loader name tag
        CHECK(b.parse().error() == Error::malformed);
    }
}

TEST_CASE("multiboot2: tag structure problems", "[multiboot2]") {
    SECTION("tag runs past total_size") {
        Blob b;
        b.string_tag(mb::kTagCmdline, "abc").end();
        b.set32(12, 4096);  // cmdline tag size
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("tag size below the header size") {
        Blob b;
        b.string_tag(mb::kTagCmdline, "abc").end();
        b.set32(12, 4);
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("zero tag size is not an endless loop") {
        Blob b;
        b.tag(77, {}).end();
        b.set32(12, 0);
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("missing end tag") {
        Blob b;
        b.string_tag(mb::kTagCmdline, "abcdefg");
        b.fix_size();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("end tag with wrong size") {
        Blob b;
        b.tag(mb::kTagEnd, {0, 0, 0, 0, 0, 0, 0, 0});
        b.fix_size();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("bytes after the end tag") {
        Blob b;
        b.end();
        b.tag(mb::kTagCmdline, {'x', 0});
        b.bytes().resize(32, 0);
        b.fix_size();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("duplicate command line") {
        Blob b;
        b.string_tag(mb::kTagCmdline, "a").string_tag(mb::kTagCmdline, "b").end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("duplicate memory map") {
        Blob b;
        b.mmap({{0, 0x1000, 1}}).mmap({{0, 0x1000, 1}}).end();
        CHECK(b.parse().error() == Error::malformed);
    }
}

TEST_CASE("multiboot2: payload problems", "[multiboot2]") {
    SECTION("unterminated command line") {
        Blob b;
        b.tag(mb::kTagCmdline, {'a', 'b', 'c'}).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("NUL in the padding does not count") {
        // The tag says 3 bytes of string; the zero padding after it is not in the tag.
        Blob b;
        b.tag(mb::kTagBootLoaderName, {'G', 'R', 'B'}).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("empty string tag") {
        Blob b;
        b.tag(mb::kTagCmdline, {}).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("unterminated module string") {
        Blob b;
        b.tag(mb::kTagModule, {0, 0, 0x20, 0, 0, 0x10, 0x20, 0, 'x'}).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("module shorter than its fields") {
        Blob b;
        b.tag(mb::kTagModule, {0, 0, 0x20, 0}).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("module start after end") {
        Blob b;
        b.module(0x300000, 0x200000, "bad").end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("mmap entry size below 24") {
        Blob b;
        b.mmap({}, 16).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("mmap entry size zero") {
        Blob b;
        b.mmap({}, 0).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("mmap entry size not a multiple of 8") {
        Blob b;
        b.mmap({{0, 0x1000, 1}}, 28).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("mmap payload not whole entries") {
        Blob b;
        b.mmap({{0, 0x1000, 1}});
        // Append 8 stray bytes inside the mmap tag.
        b.bytes().insert(b.bytes().end(), 8, 0);
        b.set32(12, b.get32(12) + 8);
        b.end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("mmap tag shorter than its header") {
        Blob b;
        b.tag(mb::kTagMmap, {24, 0, 0, 0}).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("mmap region wraps the address space") {
        Blob b;
        b.mmap({{0xfffffffffffff000ull, 0x2000, 1}}).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("meminfo too short") {
        Blob b;
        b.tag(mb::kTagBasicMeminfo, {1, 0, 0, 0}).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("old RSDP too short") {
        Blob b;
        b.tag(mb::kTagAcpiOld, rsdp_bytes(19)).end();
        CHECK(b.parse().error() == Error::malformed);
    }
    SECTION("new RSDP too short") {
        Blob b;
        b.tag(mb::kTagAcpiNew, rsdp_bytes(20)).end();
        CHECK(b.parse().error() == Error::malformed);
    }
}

TEST_CASE("multiboot2: every truncation of a valid blob is rejected cleanly", "[multiboot2]") {
    // Shrinking total_size to any smaller multiple of 8 must fail, never read past it.
    Blob b = full_blob();
    const size_t n = b.bytes().size();
    for (size_t cut = 8; cut < n; cut += 8) {
        Blob c = b;
        c.bytes().resize(cut);
        c.fix_size();
        INFO("cut=" << cut);
        CHECK_FALSE(c.parse().ok());
    }
}

TEST_CASE("multiboot2: random corruption never reads out of bounds", "[multiboot2]") {
    // Exact-size buffers under ASan: any read past the block aborts the test.
    const Blob base = full_blob();
    std::mt19937 rng(2024);
    int accepted = 0;
    for (int iter = 0; iter < 20000; ++iter) {
        std::vector<uint8_t> bytes = Blob(base).bytes();
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            const size_t at = rng() % bytes.size();
            // Bias towards small values so sizes and types stay plausible.
            bytes[at] = static_cast<uint8_t>(rng() % 3 == 0 ? rng() : rng() % 40);
        }
        // Whole words only, so the 8-aligned copy below is exactly len bytes and
        // ASan flags a read of even one byte past it.
        const size_t len = rng() % 8 == 0 ? (rng() % bytes.size()) & ~size_t{7} : bytes.size();
        std::vector<uint64_t> storage(len / 8);
        if (len != 0) std::memcpy(storage.data(), bytes.data(), len);
        auto r = mb::BootInfo::parse(len == 0 ? nullptr : reinterpret_cast<const uint8_t*>(storage.data()), len);
        if (!r.ok()) continue;
        ++accepted;
        const mb::BootInfo& info = r.value();
        REQUIRE(info.total_size() <= len);
        if (info.cmdline() != nullptr) CHECK(std::strlen(info.cmdline()) < len);
        if (info.boot_loader_name() != nullptr) CHECK(std::strlen(info.boot_loader_name()) < len);
        info.for_each_memory_region(
            [&](const mb::MemoryRegion& reg) { CHECK(reg.base + (reg.length ? reg.length - 1 : 0) >= reg.base); });
        info.for_each_module([&](const mb::Module& m) {
            CHECK(m.start <= m.end);
            CHECK(std::strlen(m.string) < len);
        });
    }
    CHECK(accepted > 0);  // some mutations only touch payload bytes
}
