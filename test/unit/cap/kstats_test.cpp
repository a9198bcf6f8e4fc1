// kstats_test.cpp - KernelStats: the kernel's result encoding read back by the official Cap'n Proto
// library, the spinlock statistics blocks, and the coordinator's delta lines.
#include <capnp/dynamic.h>
#include <capnp/schema-parser.h>
#include <capnp/serialize.h>
#include <kj/filesystem.h>

#include <catch2/catch_test_macros.hpp>
#include <string>
#include <thread>
#include <vector>

#include "capos/schema/scheduler.capnp.h"
#include "cpu/spinlock.h"
#include "kstats_delta.h"
#include "cap/kstats_codec.h"

namespace {

using kern::kstats::CpuSample;
using kern::kstats::LockSample;

// The official library's view of KernelStats.read's results struct.
capnp::StructSchema official_results() {
    static capnp::SchemaParser parser;
    static auto fs = kj::newDiskFilesystem();
    static kj::Own<const kj::ReadableDirectory> dir =
        fs->getRoot().openSubdir(kj::Path::parse(std::string(CAPOS_SCHEMA_DIR).substr(1)));
    const kj::ReadableDirectory* imports[] = {dir.get()};
    static capnp::ParsedSchema file =
        parser.parseFromDirectory(*dir, kj::Path::parse("scheduler.capnp"), kj::arrayPtr(imports, 1));
    return file.getNested("KernelStats").asInterface().getMethodByName("read").getResultType();
}

CpuSample sample(uint32_t cpu, uint64_t base) {
    CpuSample s;
    s.cpu = cpu;
    s.ticks = base + 1;
    s.c.idle_ticks = base + 2;
    s.c.switches = base + 3;
    s.c.migrations = base + 4;
    for (unsigned k = 0; k < kern::kIpiKinds; ++k) {
        s.c.ipi_tx[k] = base + 10 + k;
        s.c.ipi_rx[k] = base + 20 + k;
    }
    s.c.shootdowns_tx = base + 30;
    s.c.shootdowns_rx = base + 31;
    s.c.cr3_loads = base + 32;
    s.c.cr3_skips = base + 33;
    s.c.keeper_scans = base + 34;
    s.c.cycles[0] = base + (1ull << 40);  // kernel
    s.c.cycles[1] = base + (2ull << 40);  // user
    s.c.cycles[2] = base + (3ull << 40);  // idle
    return s;
}

}  // namespace

TEST_CASE("kstats: read results encoded by the kernel read back by the official library", "[kstats]") {
    const CpuSample cpus[3] = {sample(0, 1000), sample(1, 2000), sample(2, 3000)};
    LockSample locks[2];
    locks[0].name = "cap_tree";
    locks[0].s = {7, 3, 12345};
    locks[1].name = "kheap";
    locks[1].s = {99, 0, 0};
    alignas(8) unsigned char out[4096], scratch[4096];
    const uint32_t n = kern::kstats::encode_read_results(out, sizeof out, scratch, sizeof scratch, 4, 2'000'000'000,
                                                         cpus, 3, locks, 2);
    REQUIRE(n > 0);
    REQUIRE(n % 8 == 0);
    std::vector<capnp::word> words(n / 8);
    memcpy(words.data(), out, n);
    capnp::FlatArrayMessageReader official(kj::arrayPtr(words.data(), words.size()));
    auto root = official.getRoot<capnp::DynamicStruct>(official_results());
    CHECK(root.get("cpuCount").as<uint32_t>() == 4);
    CHECK(root.get("tscHz").as<uint64_t>() == 2'000'000'000);
    auto l = root.get("cpus").as<capnp::DynamicList>();
    REQUIRE(l.size() == 3);
    for (unsigned i = 0; i < 3; ++i) {
        auto c = l[i].as<capnp::DynamicStruct>();
        const uint64_t b = 1000 * (i + 1);
        CHECK(c.get("cpu").as<uint32_t>() == i);
        CHECK(c.get("ticks").as<uint64_t>() == b + 1);
        CHECK(c.get("idleTicks").as<uint64_t>() == b + 2);
        CHECK(c.get("switches").as<uint64_t>() == b + 3);
        CHECK(c.get("migrations").as<uint64_t>() == b + 4);
        CHECK(c.get("ipiTxResched").as<uint64_t>() == b + 10);
        CHECK(c.get("ipiRxResched").as<uint64_t>() == b + 20);
        CHECK(c.get("ipiTxTlb").as<uint64_t>() == b + 11);
        CHECK(c.get("ipiRxTlb").as<uint64_t>() == b + 21);
        CHECK(c.get("ipiTxCall").as<uint64_t>() == b + 12);
        CHECK(c.get("ipiRxCall").as<uint64_t>() == b + 22);
        CHECK(c.get("ipiTxStop").as<uint64_t>() == b + 13);
        CHECK(c.get("ipiRxStop").as<uint64_t>() == b + 23);
        CHECK(c.get("ipiTxOther").as<uint64_t>() == b + 14);
        CHECK(c.get("ipiRxOther").as<uint64_t>() == b + 24);
        CHECK(c.get("shootdownsTx").as<uint64_t>() == b + 30);
        CHECK(c.get("shootdownsRx").as<uint64_t>() == b + 31);
        CHECK(c.get("cr3Loads").as<uint64_t>() == b + 32);
        CHECK(c.get("cr3Skips").as<uint64_t>() == b + 33);
        CHECK(c.get("keeperScans").as<uint64_t>() == b + 34);
        CHECK(c.get("kernelCycles").as<uint64_t>() == b + (1ull << 40));
        CHECK(c.get("userCycles").as<uint64_t>() == b + (2ull << 40));
        CHECK(c.get("idleCycles").as<uint64_t>() == b + (3ull << 40));
    }
    auto ll = root.get("locks").as<capnp::DynamicList>();
    REQUIRE(ll.size() == 2);
    auto l0 = ll[0].as<capnp::DynamicStruct>();
    CHECK(std::string(l0.get("name").as<capnp::Text>().cStr()) == "cap_tree");
    CHECK(l0.get("acquisitions").as<uint64_t>() == 7);
    CHECK(l0.get("contended").as<uint64_t>() == 3);
    CHECK(l0.get("waitCycles").as<uint64_t>() == 12345);
    CHECK(std::string(ll[1].as<capnp::DynamicStruct>().get("name").as<capnp::Text>().cStr()) == "kheap");
}

TEST_CASE("kstats: the largest result fits libcap's transport; too small a buffer is refused", "[kstats]") {
    std::vector<CpuSample> cpus;
    for (uint32_t i = 0; i < kern::kstats::kMaxCpusPerRead; ++i) cpus.push_back(sample(i, ~0ull >> 2));
    LockSample locks[kern::kSharedLockCount];
    for (unsigned i = 0; i < kern::kSharedLockCount; ++i) {
        locks[i].name = kern::kSharedLockNames[i];
        locks[i].s = {~0ull, ~0ull, ~0ull};
    }
    alignas(8) static unsigned char out[8192], scratch[8192];
    const uint32_t n = kern::kstats::encode_read_results(out, sizeof out, scratch, sizeof scratch, 64, 1, cpus.data(),
                                                         kern::kstats::kMaxCpusPerRead, locks, kern::kSharedLockCount);
    REQUIRE(n > 0);
    CHECK(n <= 4096);  // cap::RingTransport::kResultBytes is 4096 + 64
    CHECK(kern::kstats::encode_read_results(out, n - 8, scratch, sizeof scratch, 64, 1, cpus.data(),
                                            kern::kstats::kMaxCpusPerRead, locks, kern::kSharedLockCount) == 0);
}

TEST_CASE("kstats: params decode through the generated reader", "[kstats]") {
    alignas(8) unsigned char buf[64], flat[64];
    cap::capnp::MessageBuilder m(buf, sizeof buf);
    m.init_root<cap::schema::KernelStats::ReadParams>().set_first_cpu(17);
    size_t len = 0;
    REQUIRE(m.write_flat(flat, sizeof flat, &len) == cap::capnp::Error::Ok);
    auto r = kern::kstats::decode_read_params(flat, len);
    REQUIRE(r.ok());
    CHECK(r.value() == 17);
    CHECK(!kern::kstats::decode_read_params(flat, 4).ok());
}

namespace {
// Constant-initialised (constinit proves it), like the kernel's global locks.
constinit kern::SpinLock g_watched{kern::LockRank::none, "cap_tree"};
constinit kern::SpinLock g_unwatched{kern::LockRank::none, "some_other_lock"};
}  // namespace

TEST_CASE("spinlock statistics: opt-in by name", "[kstats]") {
    CHECK(g_watched.stats() == &kern::g_shared_lock_stats[1]);
    CHECK(std::string(kern::kSharedLockNames[1]) == "cap_tree");
    CHECK(g_unwatched.stats() == nullptr);
    // The lookup is a constant expression: global locks keep their constant
    // initialisation (the kernel uses them before global constructors run).
    static_assert(kern::shared_lock_stats("deadlines") == &kern::g_shared_lock_stats[4]);
    static_assert(kern::shared_lock_stats("deadline") == nullptr);
    static_assert(kern::shared_lock_stats("anon") == nullptr);
    const uint64_t before = kern::g_shared_lock_stats[1].acquisitions;
    g_watched.lock();
    g_watched.unlock();
    bool took = false;
    if (g_watched.try_lock()) {
        took = true;
        g_watched.unlock();
    }
    CHECK(took);
    CHECK(kern::g_shared_lock_stats[1].acquisitions == before + 2);
}

TEST_CASE("spinlock statistics: acquisitions exact, contention counted with its wait", "[kstats]") {
    kern::LockStats st;
    kern::SpinLock l{kern::LockRank::none, "test"};
    l.set_stats(&st);
    constexpr int kPerThread = 20000;
    volatile uint64_t shared = 0;
    auto body = [&] {
        for (int i = 0; i < kPerThread; ++i) {
            l.lock();
            shared = shared + 1;
            for (int k = 0; k < 50; ++k) __asm__ volatile("" ::: "memory");
            l.unlock();
        }
    };
    std::thread a(body), b(body);
    a.join();
    b.join();
    CHECK(shared == 2 * kPerThread);
    CHECK(st.acquisitions == 2 * kPerThread);
    CHECK(st.contended <= st.acquisitions);
    CHECK((st.contended == 0) == (st.wait_cycles == 0));
    // Uncontended from here on: acquisitions only.
    const kern::LockStats mid = st;
    l.lock();
    l.unlock();
    CHECK(st.acquisitions == mid.acquisitions + 1);
    CHECK(st.contended == mid.contended);
    CHECK(st.wait_cycles == mid.wait_cycles);
}

TEST_CASE("kstats delta: per-CPU differences, sums and lines", "[kstats]") {
    using namespace benchcap::kstats;
    static Snapshot a, b;
    a = Snapshot{};
    b = Snapshot{};
    a.ncpus = b.ncpus = 2;
    for (uint32_t i = 0; i < 2; ++i) {
        a.cpus[i].cpu = b.cpus[i].cpu = i;
        a.cpus[i].ticks = 100 * i;
        b.cpus[i].ticks = 100 * i + 25 + i;
        a.cpus[i].switches = 10;
        b.cpus[i].switches = 13;
        a.cpus[i].user_cycles = 5;
        b.cpus[i].user_cycles = 1005;
        a.cpus[i].idle_ticks = 9;
        b.cpus[i].idle_ticks = 7;  // a racy read that lagged: clamped to 0
    }
    a.nlocks = 1;
    __builtin_strcpy(a.locks[0].name, "cap_tree");
    a.locks[0].acquisitions = 40;
    b.nlocks = 2;
    __builtin_strcpy(b.locks[0].name, "kheap");  // not in a: counts from 0
    b.locks[0].acquisitions = 3;
    __builtin_strcpy(b.locks[1].name, "cap_tree");
    b.locks[1].acquisitions = 50;
    b.locks[1].contended = 2;
    b.locks[1].wait_cycles = 900;
    static Delta d;
    delta(a, b, d);
    REQUIRE(d.ncpus == 2);
    CHECK(d.cpus[0].ticks == 25);
    CHECK(d.cpus[1].ticks == 26);
    CHECK(d.all.ticks == 51);
    CHECK(d.all.switches == 6);
    CHECK(d.all.user_cycles == 2000);
    CHECK(d.all.idle_ticks == 0);
    REQUIRE(d.nlocks == 2);
    CHECK(d.locks[0].acquisitions == 3);
    CHECK(d.locks[1].acquisitions == 10);
    CHECK(d.locks[1].wait_cycles == 900);

    char line[1024];
    REQUIRE(format_cpu_line(line, sizeof line, "w2", 1, d.cpus[1]) < sizeof line);
    CHECK(std::string(line) ==
          "[kstats] scope=w2 cpu=1 ticks=26 idle_ticks=0 switches=3 migrations=0 ipi_tx_resched=0 ipi_rx_resched=0 "
          "ipi_tx_tlb=0 ipi_rx_tlb=0 ipi_tx_call=0 ipi_rx_call=0 ipi_tx_stop=0 ipi_rx_stop=0 ipi_tx_other=0 "
          "ipi_rx_other=0 shootdowns_tx=0 shootdowns_rx=0 cr3_loads=0 cr3_skips=0 kernel_cycles=0 user_cycles=1000 "
          "idle_cycles=0 keeper_scans=0");
    REQUIRE(format_cpu_line(line, sizeof line, "w2", -1, d.all) < sizeof line);
    CHECK(std::string(line).rfind("[kstats] scope=w2 cpu=all ticks=51 idle_ticks=0 switches=6 ", 0) == 0);
    format_lock_line(line, sizeof line, "w2", d.locks[1]);
    CHECK(std::string(line) == "[kstats] scope=w2 lock=cap_tree acquisitions=10 contended=2 wait_cycles=900");
    // A truncated line reports its full length.
    char small[16];
    CHECK(format_cpu_line(small, sizeof small, "w2", 0, d.cpus[0]) > sizeof small);
    // A CPU missing from the first snapshot has no base: left out.
    b.ncpus = 3;
    b.cpus[2].cpu = 2;
    delta(a, b, d);
    CHECK(d.ncpus == 2);
}

TEST_CASE("kstats delta: per-CPU busy share for the capos-detail line", "[kstats]") {
    using namespace benchcap::kstats;
    static Delta d;
    d = Delta{};
    d.ncpus = 3;
    d.cpus[0].cpu = 0;
    d.cpus[0].user_cycles = 900;
    d.cpus[0].kernel_cycles = 90;
    d.cpus[0].idle_cycles = 10;  // 99 %
    d.cpus[1].cpu = 1;
    d.cpus[1].user_cycles = 100;
    d.cpus[1].idle_cycles = 900;  // 10 %: not a busy CPU
    d.cpus[2].cpu = 5;            // ids, not indices
    d.cpus[2].kernel_cycles = 50;
    d.cpus[2].idle_cycles = 50;  // exactly half: busy
    char line[256];
    REQUIRE(format_busy(line, sizeof line, d) < sizeof line);
    CHECK(std::string(line) == " cpu_busy_pct=0:99,1:10,5:50 busy_cpus=2");
    d.ncpus = 0;
    REQUIRE(format_busy(line, sizeof line, d) < sizeof line);
    CHECK(std::string(line) == " cpu_busy_pct= busy_cpus=0");
}
