// calls_test.cpp - libcap's hand-encoded kernel-object calls, byte for byte against the official Cap'n Proto library.
//
// The official library parses schema/*.capnp at test time, so a schema edit
// that renumbers an interface or moves a field makes these tests fail
// instead of silently breaking the guest.
#include <catch2/catch_test_macros.hpp>

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema-parser.h>
#include <capnp/serialize.h>
#include <kj/filesystem.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "libcap/calls.h"
#include "libcap/endpoint.h"
#include "libcap/interfaces.h"
#include "libcap/spawn.h"
#include "sim_kernel.h"

namespace abi = capos::abi;

namespace {

struct Schemas {
    kj::Own<kj::Filesystem> fs = kj::newDiskFilesystem();
    capnp::SchemaParser parser;

    capnp::ParsedSchema file(const char* name) {
        std::string path = std::string(CAPOS_SCHEMA_DIR) + "/" + name;
        return parser.parseFromDirectory(fs->getRoot(), kj::Path::parse(path.c_str() + 1), nullptr);
    }
    capnp::InterfaceSchema iface(const char* f, const char* name) { return file(f).getNested(name).asInterface(); }
    capnp::StructSchema structure(const char* f, const char* name) { return file(f).getNested(name).asStruct(); }
};

Schemas& schemas() {
    static Schemas s;
    return s;
}

std::vector<uint8_t> flat(capnp::MessageBuilder& m) {
    auto words = capnp::messageToFlatArray(m);
    auto bytes = words.asBytes();
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::vector<uint8_t> ours(const cap::ParamMsg& m) { return std::vector<uint8_t>(m.bytes, m.bytes + m.len); }

}  // namespace

TEST_CASE("interface ids and method ordinals match schema/", "[libcap][calls]") {
    struct Row {
        const char* file;
        const char* name;
        cap::iface::Method m;
        const char* method;
    };
    const Row rows[] = {
        {"console.capnp", "Console", cap::iface::kConsoleWrite, "write"},
        {"console.capnp", "Console", cap::iface::kConsoleWriteBytes, "writeBytes"},
        {"process.capnp", "Process", cap::iface::kProcessCreateThread, "createThread"},
        {"process.capnp", "Process", cap::iface::kProcessMap, "map"},
        {"process.capnp", "Process", cap::iface::kProcessUnmap, "unmap"},
        {"process.capnp", "Process", cap::iface::kProcessAllocate, "allocate"},
        {"process.capnp", "Process", cap::iface::kProcessExit, "exit"},
        {"process.capnp", "Process", cap::iface::kProcessId, "id"},
        {"thread.capnp", "Thread", cap::iface::kThreadJoin, "join"},
        {"thread.capnp", "Thread", cap::iface::kThreadId, "id"},
        {"park.capnp", "Park", cap::iface::kParkWait, "wait"},
        {"park.capnp", "Park", cap::iface::kParkWake, "wake"},
        {"timer.capnp", "Timer", cap::iface::kTimerNow, "now"},
        {"timer.capnp", "Timer", cap::iface::kTimerSleep, "sleep"},
        {"memory.capnp", "MemoryObject", cap::iface::kMemorySize, "size"},
        {"process.capnp", "Process", cap::iface::kProcessCreateEndpoint, "createEndpoint"},
        {"process.capnp", "Process", cap::iface::kProcessDropCaps, "dropCaps"},
        {"process.capnp", "ProcessHandle", cap::iface::kProcessHandleWait, "wait"},
        {"process.capnp", "ProcessHandle", cap::iface::kProcessHandleKill, "kill"},
        {"endpoint.capnp", "Endpoint", cap::iface::kEndpointReceive, "receive"},
        {"endpoint.capnp", "Endpoint", cap::iface::kEndpointReply, "reply"},
        {"endpoint.capnp", "Endpoint", cap::iface::kEndpointMint, "mint"},
        {"spawner.capnp", "ProcessSpawner", cap::iface::kSpawnerSpawn, "spawn"},
        {"spawner.capnp", "ProcessSpawner", cap::iface::kSpawnerModules, "modules"},
        {"spawner.capnp", "ProcessSpawner", cap::iface::kSpawnerStats, "freeFrames"},
    };
    for (const Row& r : rows) {
        INFO(r.name << "." << r.method);
        auto s = schemas().iface(r.file, r.name);
        CHECK(s.getProto().getId() == r.m.interface_id);
        CHECK(s.getMethodByName(r.method).getOrdinal() == r.m.ordinal);
    }
}

TEST_CASE("Park.wait / Park.wake params are byte-identical", "[libcap][calls]") {
    auto park = schemas().iface("park.capnp", "Park");
    {
        capnp::MallocMessageBuilder m;
        auto p = m.initRoot<capnp::DynamicStruct>(park.getMethodByName("wait").getParamType());
        p.set("address", uint64_t{0x00007000deadbeef});
        p.set("expected", uint32_t{0x12345678});
        p.set("timeoutNs", uint64_t{5'000'000'000});
        cap::ParamMsg mine;
        REQUIRE(cap::encode_park_wait(mine, 0x00007000deadbeef, 0x12345678, 5'000'000'000));
        CHECK(ours(mine) == flat(m));
    }
    {
        capnp::MallocMessageBuilder m;
        auto p = m.initRoot<capnp::DynamicStruct>(park.getMethodByName("wake").getParamType());
        p.set("address", uint64_t{0x1000});
        p.set("count", uint32_t{0xffffffff});
        cap::ParamMsg mine;
        REQUIRE(cap::encode_park_wake(mine, 0x1000, 0xffffffff));
        CHECK(ours(mine) == flat(m));
    }
}

TEST_CASE("Process.createThread / exit / exitThread / allocate / unmap, Timer.sleep params are byte-identical",
          "[libcap][calls]") {
    auto proc = schemas().iface("process.capnp", "Process");
    {
        capnp::MallocMessageBuilder m;
        auto p = m.initRoot<capnp::DynamicStruct>(proc.getMethodByName("createThread").getParamType());
        p.set("entry", uint64_t{0x401000});
        p.set("stackTop", uint64_t{0x7fe000000000});
        p.set("arg", uint64_t{42});
        cap::ParamMsg mine;
        REQUIRE(cap::encode_create_thread(mine, 0x401000, 0x7fe000000000, 42));
        CHECK(ours(mine) == flat(m));
    }
    {
        capnp::MallocMessageBuilder m;
        auto p = m.initRoot<capnp::DynamicStruct>(proc.getMethodByName("exit").getParamType());
        p.set("code", int64_t{-3});
        cap::ParamMsg mine;
        REQUIRE(cap::encode_exit(mine, -3));
        CHECK(ours(mine) == flat(m));
    }
    {
        capnp::MallocMessageBuilder m;
        auto p = m.initRoot<capnp::DynamicStruct>(proc.getMethodByName("unmap").getParamType());
        p.set("address", uint64_t{0x100000000000});
        p.set("length", uint64_t{0x4000});
        cap::ParamMsg mine;
        REQUIRE(cap::encode_unmap(mine, 0x100000000000, 0x4000));
        CHECK(ours(mine) == flat(m));
    }
    {
        capnp::MallocMessageBuilder m;
        auto p = m.initRoot<capnp::DynamicStruct>(proc.getMethodByName("exitThread").getParamType());
        p.set("code", int64_t{0x7fffffffffff});
        cap::ParamMsg mine;
        REQUIRE(cap::encode_exit_thread(mine, 0x7fffffffffff));
        CHECK(ours(mine) == flat(m));
    }
    {
        capnp::MallocMessageBuilder m;
        auto p = m.initRoot<capnp::DynamicStruct>(proc.getMethodByName("allocate").getParamType());
        p.set("bytes", uint64_t{3 * 4096});
        cap::ParamMsg mine;
        REQUIRE(cap::encode_allocate(mine, 3 * 4096));
        CHECK(ours(mine) == flat(m));
    }
    {
        auto timer = schemas().iface("timer.capnp", "Timer");
        capnp::MallocMessageBuilder m;
        auto p = m.initRoot<capnp::DynamicStruct>(timer.getMethodByName("sleep").getParamType());
        p.set("ns", uint64_t{1'500'000});
        cap::ParamMsg mine;
        REQUIRE(cap::encode_timer_sleep(mine, 1'500'000));
        CHECK(ours(mine) == flat(m));
    }
}

TEST_CASE("Process.map params: same data, capability pointer to cap index 0", "[libcap][calls]") {
    auto proc = schemas().iface("process.capnp", "Process");
    capnp::MallocMessageBuilder m;
    auto p = m.initRoot<capnp::DynamicStruct>(proc.getMethodByName("map").getParamType());
    p.set("address", uint64_t{0x100000010000});
    p.set("offset", uint64_t{0x2000});
    p.set("length", uint64_t{0x3000});
    p.set("writable", true);
    p.set("executable", false);
    auto ref = flat(m);  // memory left null: the official builder needs a live client to set it
    cap::ParamMsg mine;
    REQUIRE(cap::encode_process_map(mine, 0x100000010000, 0x2000, 0x3000, true, false));
    auto got = ours(mine);
    REQUIRE(got.size() == ref.size());
    // Layout: 8 header, 8 root pointer, 4 data words, then pointer 0.
    const size_t ptr0 = 8 + 8 + 4 * 8;
    CHECK(std::vector<uint8_t>(got.begin(), got.begin() + ptr0) ==
          std::vector<uint8_t>(ref.begin(), ref.begin() + ptr0));
    uint64_t capword;
    std::memcpy(&capword, got.data() + ptr0, 8);
    CHECK(capword == 3);  // "other" pointer, capability index 0
    // And the official reader sees the capability field set.
    kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(got.data()), got.size() / 8);
    capnp::FlatArrayMessageReader reader(words);
    auto root = reader.getRoot<capnp::DynamicStruct>(proc.getMethodByName("map").getParamType());
    CHECK(root.has("memory"));
    CHECK(root.get("writable").as<bool>());
    CHECK(root.get("length").as<uint64_t>() == 0x3000);
}

TEST_CASE("Console.write params are byte-identical for many lengths", "[libcap][calls]") {
    auto console = schemas().iface("console.capnp", "Console");
    for (uint32_t len : {0u, 1u, 7u, 8u, 9u, 100u, 4095u, 4096u}) {
        std::string text(len, 'x');
        for (uint32_t i = 0; i < len; ++i) text[i] = static_cast<char>('a' + i % 26);
        capnp::MallocMessageBuilder m;
        auto p = m.initRoot<capnp::DynamicStruct>(console.getMethodByName("write").getParamType());
        p.set("text", capnp::Text::Reader(text.c_str(), text.size()));
        std::vector<uint8_t> buf(len + 64);
        const uint32_t n = cap::encode_console_write(buf.data(), buf.size(), text.data(), len);
        REQUIRE(n != 0);
        INFO("len " << len);
        CHECK(std::vector<uint8_t>(buf.begin(), buf.begin() + n) == flat(m));
    }
}

TEST_CASE("result decoders read messages the official library wrote", "[libcap][calls]") {
    auto thread = schemas().iface("thread.capnp", "Thread");
    auto park = schemas().iface("park.capnp", "Park");
    auto timer = schemas().iface("timer.capnp", "Timer");
    {
        capnp::MallocMessageBuilder m;
        auto r = m.initRoot<capnp::DynamicStruct>(thread.getMethodByName("join").getResultType());
        r.set("exitCode", int64_t{-77});
        r.set("reason",
              capnp::DynamicEnum(r.get("reason").as<capnp::DynamicEnum>().getSchema().getEnumerantByName("faulted")));
        auto f = flat(m);
        cap::JoinResult j;
        REQUIRE(cap::decode_join_results(f.data(), static_cast<uint32_t>(f.size()), j));
        CHECK(j.exit_code == -77);
        CHECK(j.reason == 2);
    }
    {
        capnp::MallocMessageBuilder m;
        m.initRoot<capnp::DynamicStruct>(park.getMethodByName("wait").getResultType()).set("woken", true);
        auto f = flat(m);
        bool woken = false;
        REQUIRE(cap::decode_park_wait_results(f.data(), static_cast<uint32_t>(f.size()), woken));
        CHECK(woken);
    }
    {
        capnp::MallocMessageBuilder m;
        m.initRoot<capnp::DynamicStruct>(park.getMethodByName("wake").getResultType()).set("woken", uint32_t{3});
        auto f = flat(m);
        uint32_t woken = 0;
        REQUIRE(cap::decode_park_wake_results(f.data(), static_cast<uint32_t>(f.size()), woken));
        CHECK(woken == 3);
    }
    {
        capnp::MallocMessageBuilder m;
        m.initRoot<capnp::DynamicStruct>(timer.getMethodByName("now").getResultType()).set("ns", uint64_t{123456789});
        auto f = flat(m);
        uint64_t ns = 0;
        REQUIRE(cap::decode_timer_now_results(f.data(), static_cast<uint32_t>(f.size()), ns));
        CHECK(ns == 123456789);
    }
    // Garbage is refused, not read.
    const uint8_t junk[16] = {0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4};
    uint64_t v;
    CHECK_FALSE(cap::decode_timer_now_results(junk, sizeof junk, v));
    CHECK_FALSE(cap::decode_timer_now_results(junk, 4, v));
    cap::JoinResult j;
    CHECK_FALSE(cap::decode_join_results(junk, sizeof junk, j));
}

TEST_CASE("typed calls go through the ring and decode their results", "[libcap][calls]") {
    sim::Kernel k(8, 8, 0);
    cap::Ring r;
    k.bind(r);
    std::string console_text;
    uint64_t join_code = 0;
    k.handler = [&](sim::Kernel& kk, const abi::Sqe& s) {
        kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(s.params_addr), s.params_len / 8);
        if (s.interface_id == cap::iface::kConsole && s.method == 0) {
            capnp::FlatArrayMessageReader reader(words);
            auto root = reader.getRoot<capnp::DynamicStruct>(
                schemas().iface("console.capnp", "Console").getMethodByName("write").getParamType());
            console_text += root.get("text").as<capnp::Text>().cStr();
            kk.post(s, 0, 0);
        } else if (s.interface_id == cap::iface::kThread && s.method == 0) {
            // Results as a message in the caller's buffer.
            capnp::MallocMessageBuilder m;
            auto res = m.initRoot<capnp::DynamicStruct>(
                schemas().iface("thread.capnp", "Thread").getMethodByName("join").getResultType());
            res.set("exitCode", int64_t(join_code));
            auto f = flat(m);
            REQUIRE(f.size() <= s.result_len_max);
            std::memcpy(reinterpret_cast<void*>(s.result_addr), f.data(), f.size());
            kk.post(s, 0, 0, static_cast<uint32_t>(f.size()));
        } else if (s.interface_id == cap::iface::kTimer && s.method == 0) {
            kk.post(s, 0, 987654321);  // inline result, no message
        } else if (s.interface_id == cap::iface::kProcess && s.method == 3) {
            // allocate: one capability out.
            REQUIRE(s.caps_out_max >= 1);
            reinterpret_cast<abi::CapHandle*>(s.caps_addr)[0] = abi::make_handle(12, 5);
            abi::Cqe c{};
            c.user_tag = s.user_tag;
            c.caps_out_count = 1;
            kk.kring.post(c);
        } else {
            kk.post(s, static_cast<int32_t>(abi::Status::bad_method), 0);
        }
    };
    REQUIRE(cap::console_write(r, abi::make_handle(1, 1), "hello ring", 10).ok());
    CHECK(console_text == "hello ring");
    join_code = 99;
    auto j = cap::thread_join(r, abi::make_handle(2, 1));
    REQUIRE(j.ok());
    CHECK(j.value().exit_code == 99);
    auto now = cap::timer_now(r, abi::make_handle(3, 1));
    REQUIRE(now.ok());
    CHECK(now.value() == 987654321);
    auto mem = cap::process_allocate(r, abi::make_handle(4, 1), 8192);
    REQUIRE(mem.ok());
    CHECK(mem.value() == abi::make_handle(12, 5));
    // process_exit returning at all is an error; here the kernel refuses it.
    CHECK(cap::process_exit(r, abi::make_handle(4, 1), 0).status() == cap::Status::bad_method);
    CHECK(cap::ring_nop(r).ok());
    CHECK(cap::console_write(r, 1, "x", cap::iface::kConsoleMaxWrite + 1).status() == cap::Status::invalid_argument);
}

// ---- the spawner / ProcessHandle / Endpoint messages (libcap/spawn.h, libcap/endpoint.h) ----

namespace {

// The official library's reading of our message bytes.
struct Official {
    explicit Official(const uint8_t* bytes, uint32_t len)
        : words_(reinterpret_cast<const capnp::word*>(bytes), len / 8), reader_(words_) {}
    capnp::DynamicStruct::Reader root(capnp::StructSchema s) { return reader_.getRoot<capnp::DynamicStruct>(s); }
    kj::ArrayPtr<const capnp::word> words_;
    capnp::FlatArrayMessageReader reader_;
};

std::string text_of(capnp::DynamicValue::Reader v) { return v.as<capnp::Text>().cStr(); }

}  // namespace

TEST_CASE("ProcessSpawner.spawn params read back through the official library", "[libcap][spawn]") {
    auto params = schemas().iface("spawner.capnp", "ProcessSpawner").getMethodByName("spawn").getParamType();
    alignas(8) uint8_t buf[2048];
    const cap::SpawnGrant grants[2] = {{"console", 0, 0xffffffffu}, {"results", 0, 0x5u}};
    cap::SpawnQuotas q;
    q.frames = 1ull << 33;
    q.cap_slots = 64;
    q.threads = 4;
    q.outstanding_calls = 32;
    q.children = 3;
    const uint32_t len = cap::encode_spawn(buf, sizeof buf, "worker-1", 8, "worker", 6, "id=3 n=4", grants, 2, &q, 250);
    REQUIRE(len != 0);
    REQUIRE(len % 8 == 0);
    Official o(buf, len);
    auto root = o.root(params);
    CHECK(text_of(root.get("name")) == "worker-1");
    CHECK(text_of(root.get("module")) == "worker");
    auto args = root.get("args").as<capnp::DynamicList>();
    REQUIRE(args.size() == 1);
    CHECK(text_of(args[0]) == "id=3 n=4");
    auto caps = root.get("caps").as<capnp::DynamicList>();
    REQUIRE(caps.size() == 2);
    CHECK(text_of(caps[0].as<capnp::DynamicStruct>().get("name")) == "console");
    CHECK(caps[0].as<capnp::DynamicStruct>().get("rights").as<uint32_t>() == 0xffffffffu);
    CHECK(caps[0].as<capnp::DynamicStruct>().has("cap"));
    CHECK(text_of(caps[1].as<capnp::DynamicStruct>().get("name")) == "results");
    CHECK(caps[1].as<capnp::DynamicStruct>().get("rights").as<uint32_t>() == 0x5u);
    auto quotas = root.get("quotas").as<capnp::DynamicStruct>();
    CHECK(quotas.get("frames").as<uint64_t>() == (1ull << 33));
    CHECK(quotas.get("capSlots").as<uint32_t>() == 64);
    CHECK(quotas.get("threads").as<uint32_t>() == 4);
    CHECK(quotas.get("outstandingCalls").as<uint32_t>() == 32);
    CHECK(quotas.get("children").as<uint32_t>() == 3);
    CHECK(root.get("placementWeight").as<uint32_t>() == 250);
    // Grant i names capability-table index i: "other" pointers (low word 3), index in the high word.
    std::vector<uint64_t> cap_indices;
    for (uint32_t w = 0; w < len / 8; ++w) {
        uint64_t word;
        std::memcpy(&word, buf + w * 8, 8);
        if ((word & 0xffffffffu) == 3) cap_indices.push_back(word >> 32);
    }
    CHECK(cap_indices == std::vector<uint64_t>{0, 1});
}

TEST_CASE("ProcessSpawner.spawn params: no args, no grants, no quotas", "[libcap][spawn]") {
    auto params = schemas().iface("spawner.capnp", "ProcessSpawner").getMethodByName("spawn").getParamType();
    alignas(8) uint8_t buf[512];
    for (const char* args : {static_cast<const char*>(nullptr), ""}) {
        const uint32_t len = cap::encode_spawn(buf, sizeof buf, "m", 1, "m", 1, args, nullptr, 0, nullptr, 0);
        REQUIRE(len != 0);
        Official o(buf, len);
        auto root = o.root(params);
        CHECK(text_of(root.get("module")) == "m");
        CHECK_FALSE(root.has("args"));
        CHECK_FALSE(root.has("caps"));
        CHECK_FALSE(root.has("quotas"));
        CHECK(root.get("placementWeight").as<uint32_t>() == 0);
    }
    // With a quotas struct of zeros: present, all zero (what the spawner reads for an absent one).
    const cap::SpawnQuotas zero;
    const uint32_t len = cap::encode_spawn(buf, sizeof buf, "m", 1, "m", 1, nullptr, nullptr, 0, &zero, 0);
    Official o(buf, len);
    CHECK(o.root(params).has("quotas"));
    // Too small a buffer: 0, never a partial message.
    CHECK(cap::encode_spawn(buf, 40, "a-long-process-name", 19, "m", 1, "x=1", nullptr, 0, &zero, 0) == 0);
}

TEST_CASE("SpawnRefusal, freeFrames and ProcessHandle.wait results decode the official library's messages",
          "[libcap][spawn]") {
    {
        auto s = schemas().structure("spawner.capnp", "SpawnRefusal");
        capnp::MallocMessageBuilder m;
        auto r = m.initRoot<capnp::DynamicStruct>(s);
        r.set("quota", capnp::DynamicEnum(s.getFieldByName("quota").getType().asEnum().getEnumerantByName("capSlots")));
        r.set("used", uint64_t{60});
        r.set("limit", uint64_t{64});
        r.set("asked", uint64_t{8});
        auto bytes = flat(m);
        cap::SpawnRefusal got;
        REQUIRE(cap::decode_spawn_refusal(bytes.data(), static_cast<uint32_t>(bytes.size()), got));
        CHECK(got.quota == cap::SpawnQuota::cap_slots);
        CHECK(got.used == 60);
        CHECK(got.limit == 64);
        CHECK(got.asked == 8);
        CHECK(std::string(cap::spawn_quota_name(got.quota)) == "capSlots");
        // And ours is byte-identical to the official message.
        alignas(8) uint8_t buf[128];
        const uint32_t len = cap::encode_spawn_refusal(buf, sizeof buf, got);
        CHECK(std::vector<uint8_t>(buf, buf + len) == bytes);
        CHECK_FALSE(cap::decode_spawn_refusal(buf, 4, got));
    }
    {
        auto res = schemas().iface("spawner.capnp", "ProcessSpawner").getMethodByName("freeFrames").getResultType();
        capnp::MallocMessageBuilder m;
        auto r = m.initRoot<capnp::DynamicStruct>(res);
        // Each result field with a distinct value, and where libcap keeps it.
        const std::pair<const char*, uint64_t cap::SpawnerStats::*> fields[] = {
            {"frames", &cap::SpawnerStats::free_frames},
            {"heapBytesInUse", &cap::SpawnerStats::heap_in_use},
            {"heapBytesMapped", &cap::SpawnerStats::heap_mapped},
            {"heapAllocations", &cap::SpawnerStats::heap_allocations},
            {"liveProcesses", &cap::SpawnerStats::processes},
            {"capSlotsUsed", &cap::SpawnerStats::slots_used},
            {"liveChildren", &cap::SpawnerStats::children}};
        uint64_t v = 1000;
        for (const auto& [field, member] : fields) r.set(field, v++);
        auto bytes = flat(m);
        cap::SpawnerStats st;
        REQUIRE(cap::decode_spawner_stats(bytes.data(), static_cast<uint32_t>(bytes.size()), st));
        v = 1000;
        for (const auto& [field, member] : fields) {
            INFO(field);
            CHECK(st.*member == v++);
        }
    }
    {
        auto res = schemas().iface("process.capnp", "ProcessHandle").getMethodByName("wait").getResultType();
        capnp::MallocMessageBuilder m;
        auto r = m.initRoot<capnp::DynamicStruct>(res);
        r.set("exitCode", int64_t{-14});
        r.set("reason",
              capnp::DynamicEnum(res.getFieldByName("reason").getType().asEnum().getEnumerantByName("faulted")));
        auto bytes = flat(m);
        const cap::ProcessExit x = cap::decode_exit(bytes.data(), static_cast<uint32_t>(bytes.size()));
        CHECK(x.code == -14);
        CHECK(x.reason == 2);
        CHECK(std::string(cap::exit_reason_name(x.reason)) == "faulted");
        CHECK(std::string(cap::exit_reason_name(9)) == "unknown");
        const cap::ProcessExit bad = cap::decode_exit(bytes.data(), 4);
        CHECK(bad.code == 0);
        CHECK(bad.reason == 0);
    }
}

TEST_CASE("Endpoint.receive / reply / mint messages against the official library", "[libcap][endpoint]") {
    auto ep = schemas().iface("endpoint.capnp", "Endpoint");
    alignas(8) uint8_t buf[256];
    {
        const uint32_t len = cap::encode_receive(buf, sizeof buf, 5'000'000'000ull);
        capnp::MallocMessageBuilder m;
        m.initRoot<capnp::DynamicStruct>(ep.getMethodByName("receive").getParamType())
            .set("timeoutNs", uint64_t{5'000'000'000ull});
        CHECK(std::vector<uint8_t>(buf, buf + len) == flat(m));
        const uint64_t badge = 0xfeedull;
        const uint32_t mlen = cap::encode_mint(buf, sizeof buf, badge);
        capnp::MallocMessageBuilder mm;
        mm.initRoot<capnp::DynamicStruct>(ep.getMethodByName("mint").getParamType()).set("badge", badge);
        CHECK(std::vector<uint8_t>(buf, buf + mlen) == flat(mm));
    }
    {
        auto params = ep.getMethodByName("reply").getParamType();
        const uint8_t results[5] = {1, 2, 3, 4, 5};
        const uint32_t len = cap::encode_reply(buf, sizeof buf, 77, cap::Status::invalid_argument, results, 5);
        REQUIRE(len != 0);
        Official o(buf, len);
        auto root = o.root(params);
        CHECK(root.get("callId").as<uint64_t>() == 77);
        CHECK(root.get("status").as<int32_t>() == static_cast<int32_t>(cap::Status::invalid_argument));
        auto d = root.get("results").as<capnp::Data>();
        CHECK(std::vector<uint8_t>(d.begin(), d.end()) == std::vector<uint8_t>(results, results + 5));
        const uint32_t elen = cap::encode_reply(buf, sizeof buf, 78, cap::Status::ok, nullptr, 0);
        Official e(buf, elen);
        CHECK_FALSE(e.root(params).has("results"));
        CHECK(e.root(params).get("status").as<int32_t>() == 0);
    }
    {
        auto res = ep.getMethodByName("receive").getResultType();
        capnp::MallocMessageBuilder m;
        auto r = m.initRoot<capnp::DynamicStruct>(res);
        auto call = r.init("call").as<capnp::DynamicStruct>();
        call.set("callId", uint64_t{9});
        call.set("badge", uint64_t{0xbad6e});
        call.set("interfaceId", uint64_t{0x1234567890abcdefull});
        call.set("method", uint16_t{3});
        const uint8_t p[3] = {7, 8, 9};
        call.set("params", capnp::Data::Reader(p, 3));
        call.set("capCount", uint32_t{2});
        auto bytes = flat(m);
        abi::Cqe c{};
        c.result_len = static_cast<uint32_t>(bytes.size());
        c.caps_out_count = 2;
        cap::Incoming in;
        REQUIRE(cap::decode_receive(c, bytes.data(), in).ok());
        CHECK_FALSE(in.timed_out);
        CHECK(in.call_id == 9);
        CHECK(in.badge == (0xbad6e));
        CHECK(in.iface == 0x1234567890abcdefull);
        CHECK(in.method == 3);
        REQUIRE(in.params_len == 3);
        CHECK(std::vector<uint8_t>(in.params, in.params + 3) == std::vector<uint8_t>(p, p + 3));
        CHECK(in.cap_count == 2);
        // The kernel's count of transferred caps must agree with the message.
        c.caps_out_count = 1;
        cap::Incoming in2;
        CHECK(cap::decode_receive(c, bytes.data(), in2).status() == cap::Status::internal);
        // An error completion is its status; a timeout reads timedOut.
        c.status = static_cast<int32_t>(cap::Status::invalid_slot);
        CHECK(cap::decode_receive(c, bytes.data(), in2).status() == cap::Status::invalid_slot);
        capnp::MallocMessageBuilder t;
        t.initRoot<capnp::DynamicStruct>(res).set("timedOut", true);
        auto tb = flat(t);
        abi::Cqe tc{};
        tc.result_len = static_cast<uint32_t>(tb.size());
        cap::Incoming in3;
        REQUIRE(cap::decode_receive(tc, tb.data(), in3).ok());
        CHECK(in3.timed_out);
    }
}
