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
#include <vector>

#include "libcap/calls.h"
#include "libcap/interfaces.h"
#include "sim_kernel.h"

namespace abi = capos::abi;

namespace {

struct Schemas {
  kj::Own<kj::Filesystem> fs = kj::newDiskFilesystem();
  capnp::SchemaParser parser;

  capnp::InterfaceSchema iface(const char* file, const char* name) {
    std::string path = std::string(CAPOS_SCHEMA_DIR) + "/" + file;
    auto parsed = parser.parseFromDirectory(fs->getRoot(), kj::Path::parse(path.c_str() + 1), nullptr);
    return parsed.getNested(name).asInterface();
  }
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

TEST_CASE("Process.createThread / exit / allocate / unmap params are byte-identical", "[libcap][calls]") {
  auto proc = schemas().iface("process.capnp", "Process");
  {
    capnp::MallocMessageBuilder m;
    auto p = m.initRoot<capnp::DynamicStruct>(proc.getMethodByName("createThread").getParamType());
    p.set("entry", uint64_t{0x401000});
    p.set("stackTop", uint64_t{0x7fe000000000});
    p.set("arg", uint64_t{42});
    const uint64_t w[3] = {0x401000, 0x7fe000000000, 42};
    cap::ParamMsg mine;
    REQUIRE(cap::encode_u64s(mine, w, 3));
    CHECK(ours(mine) == flat(m));
  }
  {
    capnp::MallocMessageBuilder m;
    auto p = m.initRoot<capnp::DynamicStruct>(proc.getMethodByName("exit").getParamType());
    p.set("code", int64_t{-3});
    const uint64_t w[1] = {static_cast<uint64_t>(int64_t{-3})};
    cap::ParamMsg mine;
    REQUIRE(cap::encode_u64s(mine, w, 1));
    CHECK(ours(mine) == flat(m));
  }
  {
    capnp::MallocMessageBuilder m;
    auto p = m.initRoot<capnp::DynamicStruct>(proc.getMethodByName("unmap").getParamType());
    p.set("address", uint64_t{0x100000000000});
    p.set("length", uint64_t{0x4000});
    const uint64_t w[2] = {0x100000000000, 0x4000};
    cap::ParamMsg mine;
    REQUIRE(cap::encode_u64s(mine, w, 2));
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
  CHECK(std::vector<uint8_t>(got.begin(), got.begin() + ptr0) == std::vector<uint8_t>(ref.begin(), ref.begin() + ptr0));
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
    r.set("reason", capnp::DynamicEnum(r.get("reason").as<capnp::DynamicEnum>().getSchema().getEnumerantByName("faulted")));
    auto f = flat(m);
    uint64_t code = 0;
    uint16_t reason = 0;
    REQUIRE(cap::decode_result_u64(f.data(), static_cast<uint32_t>(f.size()), 0, code));
    REQUIRE(cap::decode_result_u16(f.data(), static_cast<uint32_t>(f.size()), 4, reason));
    CHECK(static_cast<int64_t>(code) == -77);
    CHECK(reason == 2);
  }
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<capnp::DynamicStruct>(park.getMethodByName("wait").getResultType()).set("woken", true);
    auto f = flat(m);
    bool woken = false;
    REQUIRE(cap::decode_result_bool(f.data(), static_cast<uint32_t>(f.size()), 0, woken));
    CHECK(woken);
  }
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<capnp::DynamicStruct>(park.getMethodByName("wake").getResultType()).set("woken", uint32_t{3});
    auto f = flat(m);
    uint32_t woken = 0;
    REQUIRE(cap::decode_result_u32(f.data(), static_cast<uint32_t>(f.size()), 0, woken));
    CHECK(woken == 3);
  }
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<capnp::DynamicStruct>(timer.getMethodByName("now").getResultType()).set("ns", uint64_t{123456789});
    auto f = flat(m);
    uint64_t ns = 0;
    REQUIRE(cap::decode_result_u64(f.data(), static_cast<uint32_t>(f.size()), 0, ns));
    CHECK(ns == 123456789);
  }
  // Garbage is refused, not read.
  const uint8_t junk[16] = {0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4};
  uint64_t v;
  CHECK_FALSE(cap::decode_result_u64(junk, sizeof junk, 0, v));
  CHECK_FALSE(cap::decode_result_u64(junk, 4, 0, v));
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
