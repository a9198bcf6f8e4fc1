// manifest.h - init's view of the boot manifest: parsed into fixed tables, then validated.
//
// The BootManifest (schema/manifest.capnp) arrives as Cap'n Proto bytes. It
// is read once with the generated readers into the plain tables below
// (bounded sizes, no heap), and validate() checks everything init must know
// before it starts anything. Each refusal names the entry and one of the
// error kinds in ManifestError, so a test (or a person) can tell them apart.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "srv.h"

namespace init {

inline constexpr uint32_t kMaxEntries = 32;
inline constexpr uint32_t kMaxCaps = 15;  // + the "init" registry cap = the kernel's 16 named caps
inline constexpr uint32_t kMaxExports = 8;
inline constexpr uint32_t kMaxDeps = 8;
inline constexpr uint32_t kNameMax = 32;     // entry names, with NUL
inline constexpr uint32_t kCapNameMax = 24;  // NamedCap::name, with NUL
inline constexpr uint32_t kImageMax = 64;    // GRUB module strings, with NUL
inline constexpr uint32_t kArgsMax = 256;

// Upper bounds of a sane quota (a larger value is a "bad quota").
inline constexpr uint64_t kMaxFrames = 262144;  // 1 GiB
inline constexpr uint32_t kMaxSlots = 4096;
inline constexpr uint32_t kMaxThreads = 64;  // the kernel's threads per process
inline constexpr uint32_t kMaxCalls = 128;   // SQ entries per ring
inline constexpr uint32_t kMaxChildren = 256;
inline constexpr uint32_t kMaxWeight = 10000;
inline constexpr uint32_t kMaxRestartLimit = 16;
inline constexpr uint32_t kMaxChannels = 8;           // distinct channel names in one manifest
inline constexpr uint32_t kMaxStartAfterMs = 600000;  // 10 minutes

// manifest.capnp KernelCap
enum class KernelCap : uint16_t {
    console = 0,
    timer = 1,
    park = 2,
    scheduler_control = 3,
    process_spawner = 4,
    boot_info = 5,
    kernel_stats = 6,
    count = 7
};
const char* kernel_cap_name(uint16_t k);

struct CapSpec {
    char name[kCapNameMax] = {};
    uint32_t rights = 0xffffffffu;
    bool kernel = true;  // else a service or a channel
    bool channel = false;
    bool serve = false;          // channel: this end receives (gets the Endpoint itself)
    uint16_t kcap = 0;           // kernel: KernelCap
    char module[kNameMax] = {};  // service: exporting entry
    char exp[kCapNameMax] = {};  // service: export name; channel: the channel's name
    uint32_t chan = 0;           // channel: index in Manifest::channels (validate())
};

struct Entry {
    char name[kNameMax] = {};
    char image[kImageMax] = {};
    char args[kArgsMax] = {};
    CapSpec caps[kMaxCaps];
    uint32_t ncaps = 0;
    char exports[kMaxExports][kCapNameMax] = {};
    uint32_t nexports = 0;
    char deps[kMaxDeps][kNameMax] = {};
    uint32_t ndeps = 0;
    srv::Quotas quotas;
    uint32_t weight = 1024;  // schema default: the kernel's kDefaultWeight
    bool restartable = false;
    uint32_t max_restarts = 3;
    uint32_t start_after_ms = 0;  // startAfterMs: a timed start
};

struct Manifest {
    uint32_t version = 1;
    Entry entries[kMaxEntries];
    uint32_t count = 0;
    srv::Quotas defaults;
    uint32_t order[kMaxEntries] = {};               // start order (validate(): dependencies first, else list order)
    char channels[kMaxChannels][kCapNameMax] = {};  // validate(): every channel name, first use first
    uint32_t nchannels = 0;
};

enum class ManifestError {
    none,
    malformed,  // not a BootManifest message, or a field over init's table limits
    bad_version,
    duplicate_entry,
    unknown_module,      // image is not a boot module
    missing_capability,  // a kernel cap init does not hold, or a service nobody exports
    unknown_dependency,  // dependsOn names no entry
    dependency_cycle,
    bad_quota,    // a quota, weight, restart limit or start delay outside the bounds above
    bad_channel,  // a channel with no serving end, two, or more channels than kMaxChannels
};
const char* error_name(ManifestError e);

struct Refusal {
    ManifestError error = ManifestError::none;
    char entry[kNameMax] = {};
    char detail[160] = {};
};

// Parses bytes[0..len) (8-byte aligned). Errors: malformed (detail says why).
ManifestError parse(const void* bytes, size_t len, Manifest& m, Refusal& why);

// What init holds, for validation: the boot module names ('\n'-separated)
// and which kernel capabilities init received.
struct Environment {
    const char* modules = "";
    bool kernel_caps[static_cast<uint32_t>(KernelCap::count)] = {};
};

// Checks every entry and computes m.order. Changes nothing else.
ManifestError validate(Manifest& m, const Environment& env, Refusal& why);

// Index of the entry named `name`, or -1.
int find_entry(const Manifest& m, const char* name);

// The kernel option placement=<k=v,...> (init's argument `placement=`):
// appends the pairs, as space-separated words, to the arguments of the
// entry named "placement" (the policy server; servers/placement/
// gen_manifest.py names it so), which hands the keys it does not know to
// its policy (Policy::configure). Errors: unknown_dependency (no such
// entry), malformed (empty pair, a space in a pair, or the arguments would
// exceed kArgsMax). Nothing changes on an error.
ManifestError add_placement_args(Manifest& m, const char* csv, Refusal& why);

}  // namespace init
