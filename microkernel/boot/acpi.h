// acpi.h - ACPI table parsing for SMP start-up: RSDP, RSDT/XSDT, MADT.
//
// Firmware tables are untrusted input: every length is checked against what
// was mapped, every checksum is verified, and every MADT entry is bounded by
// its own length and the table's. Physical memory is read only through the
// caller's PhysReader (kernel: direct map; host tests: a fake memory blob).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"
#include "lib/result.h"

namespace kern::acpi {

// Reads physical memory: returns a pointer to `len` readable bytes at `pa`,
// or nullptr when that range cannot be mapped. The pointer stays valid for
// the whole parse.
struct PhysReader {
    const void* (*map)(void* ctx, uint64_t pa, size_t len);
    void* ctx;
};

inline constexpr size_t kRsdpV1Length = 20;
inline constexpr size_t kRsdpV2Length = 36;
inline constexpr size_t kSdtHeaderLength = 36;
// Refuse tables larger than this: no real MADT/RSDT/XSDT comes close, and it
// bounds the work a corrupt length can cause.
inline constexpr uint32_t kMaxTableLength = 1u << 20;

struct Rsdp {
    uint8_t revision;  // 0 for ACPI 1.0, 2 and above for ACPI 2.0+
    uint32_t rsdt_address;
    uint64_t xsdt_address;  // 0 when revision < 2
    char oem_id[7];         // NUL-terminated copy
};

// Parses an RSDP copy (e.g. from Multiboot2 tag 14/15).
// Errors: invalid_argument (null), truncated (len < 20, or < the v2 length
// field), malformed (bad signature, v2 length < 36), bad_checksum (v1 sum
// over 20 bytes or extended sum over `length` bytes not zero).
Result<Rsdp> parse_rsdp(const uint8_t* data, size_t len);

// Finds the table with signature `sig` (4 characters) through the XSDT
// (revision >= 2 and a non-zero address) or else the RSDT. The root table is
// length- and checksum-checked; other tables are only identified by their
// header, and the one returned is fully checked.
// Errors: not_found, malformed (root table length not header + whole
// entries, length beyond kMaxTableLength or below the header), bad_checksum,
// out_of_range (the reader cannot map a table).
Result<uint64_t> find_table(const PhysReader& reader, const Rsdp& rsdp, const char* sig);

// Maps a whole table at pa whose header says `sig`, checking its length and
// checksum; *len_out receives the table length.
Result<const uint8_t*> map_table(const PhysReader& reader, uint64_t pa, const char* sig, uint32_t* len_out);

enum class SkipReason : uint8_t {
    none = 0,
    disabled,        // neither enabled nor online-capable
    online_capable,  // not enabled now; could be hot-added (not supported)
    invalid_id,      // APIC ID 0xFF (xAPIC) or 0xFFFFFFFF (x2APIC)
    duplicate_id,    // an earlier entry already named this APIC ID
    over_limit,      // usable, but kMaxCpus CPUs were already listed
};

struct CpuInfo {
    uint32_t apic_id;
    uint32_t acpi_uid;  // processor UID (8-bit for type 0 entries)
    bool enabled;
    bool online_capable;
    bool x2apic;  // from a type 9 (x2APIC) entry
    SkipReason skip;
};

struct CpuList {
    static constexpr unsigned kMaxSkipped = 32;
    // CPUs to start, in MADT order (the boot CPU is among them, anywhere).
    CpuInfo cpus[kMaxCpus];
    unsigned count;
    // Processor entries not used, each with its reason; `skipped_dropped`
    // counts the ones that did not fit in `skipped`.
    CpuInfo skipped[kMaxSkipped];
    unsigned skipped_count;
    unsigned skipped_dropped;
};

struct IoApic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;
};

struct InterruptOverride {
    uint8_t bus;     // 0 = ISA
    uint8_t source;  // ISA IRQ
    uint32_t gsi;
    uint16_t flags;  // MPS INTI polarity (bits 0-1) and trigger mode (bits 2-3)
};

struct LapicNmi {
    uint32_t acpi_uid;  // 0xFFFFFFFF = all processors (0xFF in type 4 is widened)
    uint16_t flags;
    uint8_t lint;  // LINT0 or LINT1
};

struct Madt {
    static constexpr unsigned kMaxIoApics = 16;
    static constexpr unsigned kMaxOverrides = 32;
    static constexpr unsigned kMaxNmis = 2 * kMaxCpus;

    uint64_t lapic_address;  // after any type 5 override
    uint32_t flags;          // bit 0: PC-AT dual 8259 present
    CpuList cpus;
    IoApic ioapics[kMaxIoApics];
    unsigned ioapic_count;
    InterruptOverride overrides[kMaxOverrides];
    unsigned override_count;
    LapicNmi nmis[kMaxNmis];
    unsigned nmi_count;
    unsigned unknown_entries;  // types skipped by their length
    unsigned dropped_entries;  // IO APIC / override / NMI entries past capacity
};

// Parses a MADT already in memory (`len` readable bytes, the whole table).
// Errors: invalid_argument (null), truncated (len below the header or below
// the table's length field), malformed (signature not "APIC", length below
// 44, an entry with length < 2 or shorter than its type requires, an entry
// running past the table), bad_checksum.
Result<void> parse_madt(const uint8_t* table, size_t len, Madt* out);

// find_table("APIC") + map_table + parse_madt.
Result<void> read_madt(const PhysReader& reader, const Rsdp& rsdp, Madt* out);

const char* skip_reason_name(SkipReason r);

}  // namespace kern::acpi
