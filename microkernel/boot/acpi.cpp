// acpi.cpp - ACPI table parsing for SMP start-up: RSDP, RSDT/XSDT, MADT.
#include "boot/acpi.h"

#include "lib/unaligned.h"

namespace kern::acpi {
namespace {

constexpr size_t kMadtEntriesOffset = 44;  // header + LAPIC address + flags

bool bytes_equal(const uint8_t* a, const char* b, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (a[i] != static_cast<uint8_t>(b[i])) return false;
    }
    return true;
}

// ACPI checksums: all bytes of the structure sum to 0 modulo 256.
bool checksum_ok(const uint8_t* p, size_t n) {
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + p[i]);
    return sum == 0;
}

const uint8_t* map_bytes(const PhysReader& reader, uint64_t pa, size_t len) {
    if (reader.map == nullptr) return nullptr;
    return static_cast<const uint8_t*>(reader.map(reader.ctx, pa, len));
}

// Minimum entry length per MADT type this parser reads; 0 = not read.
uint8_t min_entry_length(uint8_t type) {
    switch (type) {
        case 0:
            return 8;  // processor local APIC
        case 1:
            return 12;  // IO APIC
        case 2:
            return 10;  // interrupt source override
        case 4:
            return 6;  // local APIC NMI
        case 5:
            return 12;  // local APIC address override
        case 9:
            return 16;  // processor local x2APIC
        case 10:
            return 12;  // local x2APIC NMI
        default:
            return 0;
    }
}

void add_skipped(CpuList& list, const CpuInfo& cpu) {
    if (list.skipped_count < CpuList::kMaxSkipped) list.skipped[list.skipped_count++] = cpu;
    else ++list.skipped_dropped;
}

void add_processor(CpuList& list, uint32_t apic_id, uint32_t uid, uint32_t flags, bool x2apic) {
    CpuInfo cpu = {apic_id, uid, (flags & 1) != 0, (flags & 2) != 0, x2apic, SkipReason::none};
    if (!cpu.enabled) {
        cpu.skip = cpu.online_capable ? SkipReason::online_capable : SkipReason::disabled;
    } else if ((!x2apic && apic_id == 0xff) || apic_id == 0xffffffffu) {
        cpu.skip = SkipReason::invalid_id;
    } else {
        for (unsigned i = 0; i < list.count; ++i) {
            if (list.cpus[i].apic_id == apic_id) cpu.skip = SkipReason::duplicate_id;
        }
        if (cpu.skip == SkipReason::none && list.count >= kMaxCpus) cpu.skip = SkipReason::over_limit;
    }
    if (cpu.skip == SkipReason::none) list.cpus[list.count++] = cpu;
    else add_skipped(list, cpu);
}

}  // namespace

Result<Rsdp> parse_rsdp(const uint8_t* data, size_t len) {
    if (data == nullptr) return Error::invalid_argument;
    if (len < kRsdpV1Length) return Error::truncated;
    if (!bytes_equal(data, "RSD PTR ", 8)) return Error::malformed;
    if (!checksum_ok(data, kRsdpV1Length)) return Error::bad_checksum;
    Rsdp r;
    r.revision = data[15];
    for (size_t i = 0; i < 6; ++i) r.oem_id[i] = static_cast<char>(data[9 + i]);
    r.oem_id[6] = '\0';
    r.rsdt_address = load_le32(data + 16);
    r.xsdt_address = 0;
    // A revision-2 RSDP copied as only its 20-byte v1 part (GRUB's tag 14 does
    // this) is used as v1: the RSDT is still valid.
    if (r.revision >= 2 && len >= kRsdpV2Length) {
        const uint32_t length = load_le32(data + 20);
        if (length < kRsdpV2Length) return Error::malformed;
        if (length > len) return Error::truncated;
        if (!checksum_ok(data, length)) return Error::bad_checksum;
        r.xsdt_address = load_le64(data + 24);
    }
    return r;
}

Result<const uint8_t*> map_table(const PhysReader& reader, uint64_t pa, const char* sig, uint32_t* len_out) {
    const uint8_t* h = map_bytes(reader, pa, kSdtHeaderLength);
    if (h == nullptr) return Error::out_of_range;
    if (!bytes_equal(h, sig, 4)) return Error::malformed;
    const uint32_t length = load_le32(h + 4);
    if (length < kSdtHeaderLength || length > kMaxTableLength) return Error::malformed;
    const uint8_t* t = map_bytes(reader, pa, length);
    if (t == nullptr) return Error::out_of_range;
    // Re-check through the full mapping: the table is read through `t` only.
    if (!bytes_equal(t, sig, 4) || load_le32(t + 4) != length) return Error::malformed;
    if (!checksum_ok(t, length)) return Error::bad_checksum;
    if (len_out != nullptr) *len_out = length;
    return t;
}

Result<uint64_t> find_table(const PhysReader& reader, const Rsdp& rsdp, const char* sig) {
    if (sig == nullptr) return Error::invalid_argument;
    const bool use_xsdt = rsdp.revision >= 2 && rsdp.xsdt_address != 0;
    const uint64_t root_pa = use_xsdt ? rsdp.xsdt_address : rsdp.rsdt_address;
    const size_t esize = use_xsdt ? 8 : 4;
    if (root_pa == 0) return Error::not_found;
    uint32_t root_len = 0;
    const uint8_t* root = TRY(map_table(reader, root_pa, use_xsdt ? "XSDT" : "RSDT", &root_len));
    if ((root_len - kSdtHeaderLength) % esize != 0) return Error::malformed;
    const size_t n = (root_len - kSdtHeaderLength) / esize;
    for (size_t i = 0; i < n; ++i) {
        const uint8_t* e = root + kSdtHeaderLength + i * esize;
        const uint64_t pa = use_xsdt ? load_le64(e) : load_le32(e);
        if (pa == 0) continue;
        const uint8_t* h = map_bytes(reader, pa, kSdtHeaderLength);
        if (h == nullptr || !bytes_equal(h, sig, 4)) continue;  // an unreadable or other table
        (void)TRY(map_table(reader, pa, sig, nullptr));
        return pa;
    }
    return Error::not_found;
}

Result<void> parse_madt(const uint8_t* t, size_t len, Madt* out) {
    if (t == nullptr || out == nullptr) return Error::invalid_argument;
    if (len < kSdtHeaderLength) return Error::truncated;
    if (!bytes_equal(t, "APIC", 4)) return Error::malformed;
    const uint32_t length = load_le32(t + 4);
    if (length > len) return Error::truncated;
    if (length < kMadtEntriesOffset) return Error::malformed;
    if (!checksum_ok(t, length)) return Error::bad_checksum;

    Madt& m = *out;
    m.lapic_address = load_le32(t + 36);
    m.flags = load_le32(t + 40);
    m.cpus.count = 0;
    m.cpus.skipped_count = 0;
    m.cpus.skipped_dropped = 0;
    m.ioapic_count = 0;
    m.override_count = 0;
    m.nmi_count = 0;
    m.unknown_entries = 0;
    m.dropped_entries = 0;

    size_t off = kMadtEntriesOffset;
    while (off < length) {
        if (length - off < 2) return Error::malformed;  // no room for type + length
        const uint8_t* e = t + off;
        const uint8_t type = e[0];
        const uint8_t elen = e[1];
        // A zero or one-byte length would never advance: reject, do not loop.
        if (elen < 2 || elen > length - off) return Error::malformed;
        const uint8_t need = min_entry_length(type);
        if (elen < need) return Error::malformed;
        switch (type) {
            case 0:
                add_processor(m.cpus, e[3], e[2], load_le32(e + 4), false);
                break;
            case 9:
                add_processor(m.cpus, load_le32(e + 4), load_le32(e + 12), load_le32(e + 8), true);
                break;
            case 1:
                if (m.ioapic_count < Madt::kMaxIoApics) {
                    m.ioapics[m.ioapic_count++] = {e[2], load_le32(e + 4), load_le32(e + 8)};
                } else {
                    ++m.dropped_entries;
                }
                break;
            case 2:
                if (m.override_count < Madt::kMaxOverrides) {
                    m.overrides[m.override_count++] = {e[2], e[3], load_le32(e + 4), load_le16(e + 8)};
                } else {
                    ++m.dropped_entries;
                }
                break;
            case 4:
            case 10: {
                LapicNmi nmi;
                if (type == 4) nmi = {e[2] == 0xff ? 0xffffffffu : e[2], load_le16(e + 3), e[5]};
                else nmi = {load_le32(e + 4), load_le16(e + 2), e[8]};
                if (m.nmi_count < Madt::kMaxNmis) m.nmis[m.nmi_count++] = nmi;
                else ++m.dropped_entries;
                break;
            }
            case 5:
                m.lapic_address = load_le64(e + 4);
                break;
            default:
                ++m.unknown_entries;
                break;
        }
        off += elen;
    }
    return ok();
}

Result<void> read_madt(const PhysReader& reader, const Rsdp& rsdp, Madt* out) {
    const uint64_t pa = TRY(find_table(reader, rsdp, "APIC"));
    uint32_t len = 0;
    const uint8_t* t = TRY(map_table(reader, pa, "APIC", &len));
    return parse_madt(t, len, out);
}

const char* skip_reason_name(SkipReason r) {
    switch (r) {
        case SkipReason::none:
            return "none";
        case SkipReason::disabled:
            return "disabled";
        case SkipReason::online_capable:
            return "online_capable";
        case SkipReason::invalid_id:
            return "invalid_id";
        case SkipReason::duplicate_id:
            return "duplicate_id";
        case SkipReason::over_limit:
            return "over_limit";
    }
    return "unknown";
}

}  // namespace kern::acpi
