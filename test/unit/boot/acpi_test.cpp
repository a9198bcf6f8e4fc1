// acpi_test.cpp - RSDP, RSDT/XSDT and MADT parsing over a fake physical memory.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "boot/acpi.h"

using kern::Error;
namespace acpi = kern::acpi;
using Bytes = std::vector<uint8_t>;

namespace {

void put16(Bytes& b, uint16_t v) {
    for (int i = 0; i < 2; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put32(Bytes& b, uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put64(Bytes& b, uint64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void set32(Bytes& b, size_t off, uint32_t v) { std::memcpy(b.data() + off, &v, 4); }

// Sets the byte at `at` so the bytes [0, n) sum to zero.
void fix_checksum(Bytes& b, size_t at, size_t n) {
    b[at] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + b[i]);
    b[at] = static_cast<uint8_t>(-sum);
}

// An SDT: 36-byte header with the right length and checksum, then `body`.
Bytes sdt(const char* sig, const Bytes& body) {
    Bytes t(sig, sig + 4);
    put32(t, static_cast<uint32_t>(36 + body.size()));
    t.push_back(1);  // revision
    t.push_back(0);  // checksum
    const char oem[] = "CAPOS OEMTABLE";
    t.insert(t.end(), oem, oem + 14);
    put32(t, 1);
    put32(t, 0x4c505551);
    put32(t, 1);
    t.insert(t.end(), body.begin(), body.end());
    fix_checksum(t, 9, t.size());
    return t;
}

Bytes rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt) {
    Bytes r = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ', 0, 'B', 'O', 'C', 'H', 'S', ' ', revision};
    put32(r, rsdt);
    fix_checksum(r, 8, 20);
    if (revision >= 2) {
        put32(r, 36);
        put64(r, xsdt);
        r.insert(r.end(), {0, 0, 0, 0});
        fix_checksum(r, 32, 36);
    }
    return r;
}

struct MadtBuilder {
    Bytes body;
    MadtBuilder(uint32_t lapic = 0xfee00000, uint32_t flags = 1) {
        put32(body, lapic);
        put32(body, flags);
    }
    MadtBuilder& lapic(uint8_t uid, uint8_t id, uint32_t flags) {
        body.insert(body.end(), {0, 8, uid, id});
        put32(body, flags);
        return *this;
    }
    MadtBuilder& x2apic(uint32_t id, uint32_t uid, uint32_t flags) {
        body.insert(body.end(), {9, 16, 0, 0});
        put32(body, id);
        put32(body, flags);
        put32(body, uid);
        return *this;
    }
    MadtBuilder& ioapic(uint8_t id, uint32_t addr, uint32_t gsi) {
        body.insert(body.end(), {1, 12, id, 0});
        put32(body, addr);
        put32(body, gsi);
        return *this;
    }
    MadtBuilder& iso(uint8_t source, uint32_t gsi, uint16_t flags) {
        body.insert(body.end(), {2, 10, 0, source});
        put32(body, gsi);
        put16(body, flags);
        return *this;
    }
    MadtBuilder& nmi(uint8_t uid, uint16_t flags, uint8_t lint) {
        body.insert(body.end(), {4, 6, uid});
        put16(body, flags);
        body.push_back(lint);
        return *this;
    }
    MadtBuilder& x2nmi(uint32_t uid, uint16_t flags, uint8_t lint) {
        body.insert(body.end(), {10, 12});
        put16(body, flags);
        put32(body, uid);
        body.insert(body.end(), {lint, 0, 0, 0});
        return *this;
    }
    MadtBuilder& lapic_override(uint64_t addr) {
        body.insert(body.end(), {5, 12, 0, 0});
        put64(body, addr);
        return *this;
    }
    MadtBuilder& raw(const Bytes& b) {
        body.insert(body.end(), b.begin(), b.end());
        return *this;
    }
    Bytes table() const { return sdt("APIC", body); }
};

// Fake physical memory: disjoint regions; map() succeeds only inside one.
struct FakeMemory {
    std::map<uint64_t, Bytes> regions;
    void place(uint64_t pa, const Bytes& b) { regions[pa] = b; }
    static const void* map(void* ctx, uint64_t pa, size_t len) {
        auto* self = static_cast<FakeMemory*>(ctx);
        auto it = self->regions.upper_bound(pa);
        if (it == self->regions.begin()) return nullptr;
        --it;
        const uint64_t off = pa - it->first;
        if (off > it->second.size() || len > it->second.size() - off) return nullptr;
        return it->second.data() + off;
    }
    acpi::PhysReader reader() { return {&FakeMemory::map, this}; }
};

kern::Result<void> parse(const Bytes& t, acpi::Madt& m) { return acpi::parse_madt(t.data(), t.size(), &m); }

}  // namespace

TEST_CASE("acpi: RSDP v1 and v2", "[acpi]") {
    SECTION("v1") {
        Bytes r = rsdp(0, 0x7fe1000, 0);
        auto p = acpi::parse_rsdp(r.data(), r.size());
        REQUIRE(p.ok());
        CHECK(p.value().revision == 0);
        CHECK(p.value().rsdt_address == 0x7fe1000);
        CHECK(p.value().xsdt_address == 0);
        CHECK(std::string(p.value().oem_id) == "BOCHS ");
    }
    SECTION("v2 with extended checksum") {
        Bytes r = rsdp(2, 0x7fe1000, 0x7fe2000);
        auto p = acpi::parse_rsdp(r.data(), r.size());
        REQUIRE(p.ok());
        CHECK(p.value().revision == 2);
        CHECK(p.value().xsdt_address == 0x7fe2000);
    }
    SECTION("v2 copied as its 20-byte v1 part") {
        Bytes r = rsdp(2, 0x7fe1000, 0x7fe2000);
        auto p = acpi::parse_rsdp(r.data(), 20);
        REQUIRE(p.ok());
        CHECK(p.value().xsdt_address == 0);
        CHECK(p.value().rsdt_address == 0x7fe1000);
    }
    SECTION("errors") {
        Bytes r = rsdp(2, 0x7fe1000, 0x7fe2000);
        CHECK(acpi::parse_rsdp(nullptr, 36).error() == Error::invalid_argument);
        CHECK(acpi::parse_rsdp(r.data(), 19).error() == Error::truncated);
        Bytes bad_sig = r;
        bad_sig[0] = 'X';
        CHECK(acpi::parse_rsdp(bad_sig.data(), bad_sig.size()).error() == Error::malformed);
        Bytes bad_v1 = r;
        bad_v1[16] ^= 1;  // rsdt address, covered by both sums
        CHECK(acpi::parse_rsdp(bad_v1.data(), bad_v1.size()).error() == Error::bad_checksum);
        Bytes bad_ext = r;
        bad_ext[24] ^= 1;  // xsdt address, covered by the extended sum only
        CHECK(acpi::parse_rsdp(bad_ext.data(), bad_ext.size()).error() == Error::bad_checksum);
        Bytes short_len = r;
        set32(short_len, 20, 30);
        fix_checksum(short_len, 32, 36);
        CHECK(acpi::parse_rsdp(short_len.data(), short_len.size()).error() == Error::malformed);
        Bytes long_len = r;
        set32(long_len, 20, 64);
        CHECK(acpi::parse_rsdp(long_len.data(), long_len.size()).error() == Error::truncated);
    }
}

TEST_CASE("acpi: MADT with mixed entries", "[acpi]") {
    MadtBuilder b;
    b.lapic(0, 0, 1)     // BSP
        .lapic(1, 1, 1)  // AP
        .lapic(2, 2, 0)  // disabled
        .lapic(3, 3, 2)  // online-capable, not enabled
        .ioapic(0, 0xfec00000, 0)
        .iso(0, 2, 0)
        .iso(9, 9, 0xd)
        .raw({0x7f, 6, 1, 2, 3, 4})  // unknown type: skipped by length
        .x2apic(300, 4, 1)           // x2APIC-only id
        .x2apic(1, 5, 1)             // same CPU as the second xAPIC entry
        .lapic(6, 0xff, 1)           // invalid xAPIC id
        .nmi(0xff, 5, 1)
        .x2nmi(4, 0, 1)
        .lapic_override(0xfee00000ull + 0x1000);
    Bytes t = b.table();
    acpi::Madt m;
    REQUIRE(parse(t, m).ok());
    CHECK(m.lapic_address == 0xfee01000);
    CHECK(m.flags == 1);

    REQUIRE(m.cpus.count == 3);
    CHECK(m.cpus.cpus[0].apic_id == 0);
    CHECK(m.cpus.cpus[1].apic_id == 1);
    CHECK_FALSE(m.cpus.cpus[1].x2apic);
    CHECK(m.cpus.cpus[2].apic_id == 300);
    CHECK(m.cpus.cpus[2].acpi_uid == 4);
    CHECK(m.cpus.cpus[2].x2apic);
    for (unsigned i = 0; i < m.cpus.count; ++i) {
        CHECK(m.cpus.cpus[i].enabled);
        CHECK(m.cpus.cpus[i].skip == acpi::SkipReason::none);
    }

    REQUIRE(m.cpus.skipped_count == 4);
    CHECK(m.cpus.skipped[0].apic_id == 2);
    CHECK(m.cpus.skipped[0].skip == acpi::SkipReason::disabled);
    CHECK(m.cpus.skipped[1].apic_id == 3);
    CHECK(m.cpus.skipped[1].skip == acpi::SkipReason::online_capable);
    CHECK(m.cpus.skipped[1].online_capable);
    CHECK(m.cpus.skipped[2].skip == acpi::SkipReason::duplicate_id);
    CHECK(m.cpus.skipped[2].x2apic);
    CHECK(m.cpus.skipped[3].skip == acpi::SkipReason::invalid_id);
    CHECK(m.cpus.skipped_dropped == 0);
    CHECK(std::string(acpi::skip_reason_name(m.cpus.skipped[1].skip)) == "online_capable");

    REQUIRE(m.ioapic_count == 1);
    CHECK(m.ioapics[0].address == 0xfec00000);
    CHECK(m.ioapics[0].gsi_base == 0);
    REQUIRE(m.override_count == 2);
    CHECK(m.overrides[0].source == 0);
    CHECK(m.overrides[0].gsi == 2);
    CHECK(m.overrides[1].source == 9);
    CHECK(m.overrides[1].flags == 0xd);
    REQUIRE(m.nmi_count == 2);
    CHECK(m.nmis[0].acpi_uid == 0xffffffffu);
    CHECK(m.nmis[0].flags == 5);
    CHECK(m.nmis[0].lint == 1);
    CHECK(m.nmis[1].acpi_uid == 4);
    CHECK(m.unknown_entries == 1);
    CHECK(m.dropped_entries == 0);
}

TEST_CASE("acpi: more CPUs than kMaxCpus are reported, not overrun", "[acpi]") {
    MadtBuilder b;
    for (uint32_t i = 0; i < kern::kMaxCpus + 40; ++i) b.x2apic(i, i, 1);
    acpi::Madt m;
    REQUIRE(parse(b.table(), m).ok());
    CHECK(m.cpus.count == kern::kMaxCpus);
    CHECK(m.cpus.skipped_count == acpi::CpuList::kMaxSkipped);
    CHECK(m.cpus.skipped_dropped == 40 - acpi::CpuList::kMaxSkipped);
    CHECK(m.cpus.skipped[0].skip == acpi::SkipReason::over_limit);
    CHECK(m.cpus.skipped[0].apic_id == kern::kMaxCpus);
}

TEST_CASE("acpi: malformed MADTs are rejected", "[acpi]") {
    acpi::Madt m;
    MadtBuilder good;
    good.lapic(0, 0, 1).lapic(1, 1, 1);
    SECTION("bad checksum") {
        Bytes t = good.table();
        t[40] ^= 0x10;
        CHECK(parse(t, m).error() == Error::bad_checksum);
    }
    SECTION("wrong signature") {
        Bytes t = sdt("APIX", good.body);
        CHECK(parse(t, m).error() == Error::malformed);
    }
    SECTION("length field larger than the table") {
        Bytes t = good.table();
        set32(t, 4, static_cast<uint32_t>(t.size() + 8));
        fix_checksum(t, 9, t.size());
        CHECK(parse(t, m).error() == Error::truncated);
    }
    SECTION("length field below the MADT header") {
        Bytes t = good.table();
        set32(t, 4, 40);
        fix_checksum(t, 9, 40);
        CHECK(parse(t, m).error() == Error::malformed);
    }
    SECTION("buffer shorter than an SDT header") {
        Bytes t = good.table();
        CHECK(acpi::parse_madt(t.data(), 20, &m).error() == Error::truncated);
        CHECK(acpi::parse_madt(nullptr, 20, &m).error() == Error::invalid_argument);
    }
    SECTION("entry runs past the table") {
        MadtBuilder b = good;
        b.raw({0, 8, 2, 2});  // processor entry cut after 4 of its 8 bytes
        CHECK(parse(b.table(), m).error() == Error::malformed);
    }
    SECTION("zero-length entry cannot loop") {
        MadtBuilder b = good;
        b.raw({0x7f, 0, 0, 0});
        CHECK(parse(b.table(), m).error() == Error::malformed);
    }
    SECTION("one-byte entry length") {
        MadtBuilder b = good;
        b.raw({0x7f, 1});
        CHECK(parse(b.table(), m).error() == Error::malformed);
    }
    SECTION("known entry shorter than its type") {
        MadtBuilder b = good;
        b.raw({0, 6, 2, 2, 1, 0});  // processor entry of 6 bytes
        CHECK(parse(b.table(), m).error() == Error::malformed);
        MadtBuilder c = good;
        c.raw({9, 12, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0});  // x2APIC entry missing its UID
        CHECK(parse(c.table(), m).error() == Error::malformed);
    }
    SECTION("lone trailing byte") {
        MadtBuilder b = good;
        b.raw({0});
        CHECK(parse(b.table(), m).error() == Error::malformed);
    }
    SECTION("longer entries than the type needs are accepted") {
        MadtBuilder b = good;
        b.raw({0, 10, 2, 2, 1, 0, 0, 0, 0xaa, 0xbb});
        REQUIRE(parse(b.table(), m).ok());
        CHECK(m.cpus.count == 3);
    }
}

TEST_CASE("acpi: table discovery through RSDT and XSDT", "[acpi]") {
    FakeMemory mem;
    MadtBuilder b;
    b.lapic(0, 0, 1).lapic(1, 1, 1).lapic(2, 2, 1).lapic(3, 3, 0);
    const Bytes facp = sdt("FACP", Bytes(80, 0));
    mem.place(0x7fe0000, facp);
    mem.place(0x7fe1000, b.table());

    SECTION("RSDT, v1 RSDP") {
        Bytes body;
        put32(body, 0x7fe0000);
        put32(body, 0);          // null entry: skipped
        put32(body, 0x9000000);  // unmappable entry: skipped
        put32(body, 0x7fe1000);
        mem.place(0x7fe2000, sdt("RSDT", body));
        Bytes r = rsdp(0, 0x7fe2000, 0);
        auto p = acpi::parse_rsdp(r.data(), r.size());
        REQUIRE(p.ok());
        auto pa = acpi::find_table(mem.reader(), p.value(), "APIC");
        REQUIRE(pa.ok());
        CHECK(pa.value() == 0x7fe1000);
        CHECK(acpi::find_table(mem.reader(), p.value(), "HPET").error() == Error::not_found);
        acpi::Madt m;
        REQUIRE(acpi::read_madt(mem.reader(), p.value(), &m).ok());
        CHECK(m.cpus.count == 3);
        CHECK(m.cpus.skipped_count == 1);
    }
    SECTION("XSDT preferred with a v2 RSDP") {
        Bytes xbody;
        put64(xbody, 0x7fe0000);
        put64(xbody, 0x7fe1000);
        mem.place(0x7fe3000, sdt("XSDT", xbody));
        Bytes rbody;
        put32(rbody, 0x7fe0000);  // the RSDT lacks the MADT: only XSDT finds it
        mem.place(0x7fe2000, sdt("RSDT", rbody));
        Bytes r = rsdp(2, 0x7fe2000, 0x7fe3000);
        auto p = acpi::parse_rsdp(r.data(), r.size());
        REQUIRE(p.ok());
        acpi::Madt m;
        REQUIRE(acpi::read_madt(mem.reader(), p.value(), &m).ok());
        CHECK(m.cpus.count == 3);
    }
    SECTION("root table problems") {
        Bytes body;
        put32(body, 0x7fe1000);
        Bytes rsdt = sdt("RSDT", body);
        acpi::Rsdp p = acpi::parse_rsdp(rsdp(0, 0x7fe2000, 0).data(), 20).value();

        Bytes bad_sum = rsdt;
        bad_sum[36] ^= 1;
        mem.place(0x7fe2000, bad_sum);
        CHECK(acpi::find_table(mem.reader(), p, "APIC").error() == Error::bad_checksum);

        Bytes ragged = sdt("RSDT", {0x00, 0x10, 0xfe, 0x07, 0x00, 0x00});  // 1.5 entries
        mem.place(0x7fe2000, ragged);
        CHECK(acpi::find_table(mem.reader(), p, "APIC").error() == Error::malformed);

        Bytes huge = rsdt;
        set32(huge, 4, 0x10000000);
        mem.place(0x7fe2000, huge);
        CHECK(acpi::find_table(mem.reader(), p, "APIC").error() == Error::malformed);

        Bytes past = rsdt;
        set32(past, 4, 4096);  // says 4 KiB, only 40 bytes mapped
        mem.place(0x7fe2000, past);
        CHECK(acpi::find_table(mem.reader(), p, "APIC").error() == Error::out_of_range);

        mem.place(0x7fe2000, sdt("XSDT", body));
        CHECK(acpi::find_table(mem.reader(), p, "APIC").error() == Error::malformed);
    }
    SECTION("a corrupt MADT found through the RSDT is reported") {
        Bytes body;
        put32(body, 0x7fe1000);
        mem.place(0x7fe2000, sdt("RSDT", body));
        Bytes t = b.table();
        t[50] ^= 0x40;
        mem.place(0x7fe1000, t);
        acpi::Rsdp p = acpi::parse_rsdp(rsdp(0, 0x7fe2000, 0).data(), 20).value();
        acpi::Madt m;
        CHECK(acpi::read_madt(mem.reader(), p, &m).error() == Error::bad_checksum);
    }
}

TEST_CASE("acpi: random MADT corruption never reads out of bounds", "[acpi]") {
    MadtBuilder b;
    b.lapic(0, 0, 1)
        .lapic(1, 1, 1)
        .x2apic(300, 2, 1)
        .ioapic(0, 0xfec00000, 0)
        .iso(0, 2, 0)
        .nmi(0xff, 5, 1)
        .x2nmi(4, 0, 1)
        .lapic_override(0xfee00000)
        .raw({0x7f, 6, 1, 2, 3, 4});
    const Bytes good = b.table();
    std::mt19937 rng(99);
    int accepted = 0;
    for (int iter = 0; iter < 20000; ++iter) {
        Bytes t = good;
        const int flips = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < flips; ++k) {
            const size_t at = 36 + rng() % (t.size() - 36);
            t[at] = static_cast<uint8_t>(rng() % 2 ? rng() : rng() % 20);
        }
        if (rng() % 4 != 0) fix_checksum(t, 9, t.size());  // get past the checksum most times
        const size_t len = rng() % 8 == 0 ? rng() % t.size() : t.size();
        Bytes exact(t.begin(), t.begin() + static_cast<long>(len));
        acpi::Madt m;
        auto r = acpi::parse_madt(exact.empty() ? nullptr : exact.data(), exact.size(), &m);
        if (!r.ok()) continue;
        ++accepted;
        REQUIRE(m.cpus.count <= kern::kMaxCpus);
        REQUIRE(m.ioapic_count <= acpi::Madt::kMaxIoApics);
        REQUIRE(m.nmi_count <= acpi::Madt::kMaxNmis);
        for (unsigned i = 0; i < m.cpus.count; ++i) CHECK(m.cpus.cpus[i].skip == acpi::SkipReason::none);
    }
    CHECK(accepted > 0);
}
