// manifest_test.cpp - host tests of init's manifest parsing and validation over
// the manifests the build encodes (the shipped ones and servers/tests/manifests/).
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "manifest.h"

namespace {

// Every boot module the ISO holds that the manifests name.
const char* const kModules =
    "init\nspawner\nspawn-child\nhello\nstest-nospawn\nstest-spawn\nstest-loop\nstest-nocaps\nbench-coordinator\n"
    "bench-worker\nplacement-fair-share\nplacement-pinning\n";

struct Outcome {
    init::ManifestError error;
    init::Refusal why;
    init::Manifest* m;
};

std::vector<uint64_t> load(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    REQUIRE(f.good());
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<uint64_t> words((bytes.size() + 7) / 8);
    std::memcpy(words.data(), bytes.data(), bytes.size());
    words.push_back(bytes.size());  // the length, last
    return words;
}

Outcome check(const std::string& path, bool with_console = true) {
    static init::Manifest m;
    m = init::Manifest{};
    std::vector<uint64_t> w = load(path);
    const size_t len = w.back();
    Outcome o{init::ManifestError::none, {}, &m};
    o.error = init::parse(w.data(), len, m, o.why);
    if (o.error != init::ManifestError::none) return o;
    init::Environment env;
    env.modules = kModules;
    for (bool& k : env.kernel_caps) k = true;
    env.kernel_caps[static_cast<uint32_t>(init::KernelCap::boot_info)] = false;  // the kernel has none yet
    env.kernel_caps[static_cast<uint32_t>(init::KernelCap::console)] = with_console;
    o.error = init::validate(m, env, o.why);
    return o;
}

std::string shipped(const char* name) { return std::string(SERVERS_BUILD_DIR) + "/manifest-" + name + ".bin"; }
std::string extra(const char* name) { return std::string(SERVERS_BUILD_DIR) + "/test-manifest-" + name + ".bin"; }

}  // namespace

TEST_CASE("shipped good manifests validate and start dependencies first", "[manifest]") {
    for (const char* n : {"default", "process-scale", "thread-scale", "bench-smoke", "spawner-test", "spawner-loop",
                          "restart-test", "caps-test", "placement-swap"}) {
        INFO(n);
        Outcome o = check(shipped(n));
        CHECK(o.error == init::ManifestError::none);
        CHECK(o.m->count >= 1);
    }
    Outcome d = check(shipped("default"));
    REQUIRE(d.error == init::ManifestError::none);
    REQUIRE(d.m->count == 2);
    const init::Entry& sp = d.m->entries[0];
    CHECK(std::string(sp.name) == "spawner");
    // Explicit capabilities only (issue 6): the kernel spawner and the console.
    CHECK(sp.ncaps == 2);
    CHECK(sp.caps[0].kernel);
    CHECK(sp.caps[0].kcap == static_cast<uint16_t>(init::KernelCap::process_spawner));
    CHECK(sp.caps[1].kernel);
    CHECK(sp.caps[1].kcap == static_cast<uint16_t>(init::KernelCap::console));
    CHECK(std::string(sp.caps[1].name) == "console");
    CHECK(sp.nexports == 1);
    CHECK(sp.restartable);
    CHECK(sp.max_restarts == 3);
    CHECK(sp.weight == 2048);  // twice the default
    CHECK(std::string(sp.args) == "children=16 frames=65536 slots=4096");
    CHECK(sp.quotas.frames == 8192);
    CHECK(d.m->defaults.cap_slots == 256);
    const init::Entry& h = d.m->entries[1];
    CHECK(!h.caps[0].kernel);
    CHECK(std::string(h.caps[0].module) == "spawner");
    CHECK(std::string(h.caps[0].exp) == "spawner");
    CHECK(h.caps[0].rights == 0xffffffffu);
    CHECK(h.weight == 1024);  // the schema default: the kernel's kDefaultWeight
    CHECK(!h.restartable);
}

TEST_CASE("placement= arguments go to the entry named placement, or are refused", "[manifest]") {
    init::Manifest m;
    m.count = 2;
    std::strcpy(m.entries[0].name, "hello");
    std::strcpy(m.entries[1].name, "placement");
    std::strcpy(m.entries[1].args, "deadline_us=1000000");
    init::Refusal why;
    REQUIRE(init::add_placement_args(m, "slice_ms=2,x=1", why) == init::ManifestError::none);
    CHECK(std::string(m.entries[1].args) == "deadline_us=1000000 slice_ms=2 x=1");
    CHECK(std::string(m.entries[0].args).empty());
    for (const char* bad : {"a=1,,b=2", ",a=1", "a=1,", "a=1 b=2"}) {
        init::Refusal w;
        CHECK(init::add_placement_args(m, bad, w) == init::ManifestError::malformed);
        CHECK(std::string(w.detail).find(bad) != std::string::npos);
    }
    CHECK(std::string(m.entries[1].args) == "deadline_us=1000000 slice_ms=2 x=1");  // unchanged by refusals
    std::string huge(300, 'k');
    CHECK(init::add_placement_args(m, (huge + "=1").c_str(), why) == init::ManifestError::malformed);
    CHECK(std::string(why.detail).find("longer than") != std::string::npos);
    init::Manifest none;
    none.count = 1;
    std::strcpy(none.entries[0].name, "hello");
    init::Refusal w;
    CHECK(init::add_placement_args(none, "slice_ms=2", w) == init::ManifestError::unknown_dependency);
    CHECK(std::string(w.detail) == "placement=slice_ms=2 given, but the manifest has no entry named placement");
}

TEST_CASE("start order is topological, then list order", "[manifest]") {
    Outcome o = check(extra("order"));
    REQUIRE(o.error == init::ManifestError::none);
    std::string order;
    for (uint32_t i = 0; i < o.m->count; ++i) order += o.m->entries[o.m->order[i]].name;
    CHECK(order == "abcd");
}

TEST_CASE("channels: one Endpoint per name, one serving end, calling ends minted; timed starts", "[manifest]") {
    Outcome o = check(extra("channel"));
    REQUIRE(o.error == init::ManifestError::none);
    REQUIRE(o.m->nchannels == 2);
    CHECK(std::string(o.m->channels[0]) == "x");
    CHECK(std::string(o.m->channels[1]) == "y");
    const init::Entry& a = o.m->entries[0];
    const init::Entry& b = o.m->entries[1];
    const init::Entry& c = o.m->entries[2];
    CHECK((a.caps[0].channel && a.caps[0].serve && a.caps[0].chan == 0 && !a.caps[0].kernel));
    CHECK((b.caps[0].channel && !b.caps[0].serve && b.caps[0].chan == 0 && b.caps[0].rights == 1));
    CHECK((c.caps[0].chan == 0 && !c.caps[0].serve && c.caps[1].chan == 1 && c.caps[1].serve));
    CHECK(std::string(c.caps[1].name) == "own");
    CHECK(a.start_after_ms == 0);
    CHECK(c.start_after_ms == 250);
    // A channel is no dependency: list order stays.
    std::string order;
    for (uint32_t i = 0; i < o.m->count; ++i) order += o.m->entries[o.m->order[i]].name;
    CHECK(order == "abc");
}

TEST_CASE("each bad manifest is refused with its error and entry", "[manifest]") {
    struct Case {
        std::string path;
        init::ManifestError error;
        const char* entry;
        const char* detail;
    };
    const Case cases[] = {
        {shipped("bad-unknown-module"), init::ManifestError::unknown_module, "ghost", "no-such-server"},
        {shipped("bad-missing-cap"), init::ManifestError::missing_capability, "client", "exports no 'placement'"},
        {shipped("bad-cycle"), init::ManifestError::dependency_cycle, "alpha", "alpha -> gamma -> beta -> alpha"},
        {shipped("bad-quota"), init::ManifestError::bad_quota, "greedy", "threads=1000"},
        {extra("duplicate"), init::ManifestError::duplicate_entry, "twin", "entry 0"},
        {extra("version2"), init::ManifestError::bad_version, "", "version 2"},
        {extra("no-bootinfo"), init::ManifestError::missing_capability, "reader", "bootInfo"},
        {extra("self-export"), init::ManifestError::dependency_cycle, "loop", "own export"},
        {extra("unknown-dep"), init::ManifestError::unknown_dependency, "a", "nobody"},
        {extra("weight0"), init::ManifestError::bad_quota, "a", "placementWeight=0"},
        {extra("reserved-name"), init::ManifestError::missing_capability, "a", "reserved"},
        {extra("too-many-restarts"), init::ManifestError::bad_quota, "a", "maxRestarts=1000"},
        {extra("channel-no-server"), init::ManifestError::bad_channel, "", "channel 'x': no serving end"},
        {extra("channel-two-servers"), init::ManifestError::bad_channel, "b", "a second serving end"},
        {extra("serve-kernel"), init::ManifestError::bad_channel, "a", "serve is for channel capabilities only"},
        {extra("start-after-too-long"), init::ManifestError::bad_quota, "a", "startAfterMs=600001"},
    };
    for (const Case& c : cases) {
        INFO(c.path);
        Outcome o = check(c.path);
        CHECK(o.error == c.error);
        CHECK(std::string(o.why.entry) == c.entry);
        CHECK(std::string(o.why.detail).find(c.detail) != std::string::npos);
    }
}

TEST_CASE("a kernel capability init lacks is a missing capability", "[manifest]") {
    Outcome o = check(shipped("spawner-test"), /*with_console=*/false);
    CHECK(o.error == init::ManifestError::missing_capability);
    // The spawner entry, first in start order, lists the console.
    CHECK(std::string(o.why.entry) == "spawner");
}

TEST_CASE("garbage and truncated messages are malformed, never read out of bounds", "[manifest]") {
    std::vector<uint64_t> w = load(shipped("default"));
    const size_t len = w.back();
    static init::Manifest m;
    init::Refusal why;
    for (size_t cut = 0; cut < len; cut += 8) {
        m = init::Manifest{};
        std::vector<uint64_t> part(w.begin(), w.begin() + static_cast<long>(cut / 8));
        part.push_back(0);
        const init::ManifestError e = init::parse(part.data(), cut, m, why);
        CHECK(e == init::ManifestError::malformed);
    }
    // Every single-bit flip: parse may accept or refuse, but must stay in bounds (ASan).
    for (size_t bit = 0; bit < len * 8; ++bit) {
        std::vector<uint64_t> f(w.begin(), w.end() - 1);
        reinterpret_cast<uint8_t*>(f.data())[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        m = init::Manifest{};
        (void)init::parse(f.data(), len, m, why);
    }
}
