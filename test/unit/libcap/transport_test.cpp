// transport_test.cpp - generated client stubs (X_Client<RingTransport>) calling through a ring to the simulated kernel.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <string>

#include "capos/schema/console.capnp.h"
#include "capos/schema/process.capnp.h"
#include "libcap/transport.h"
#include "sim_kernel.h"

namespace abi = capos::abi;
namespace cp = cap::capnp;
using namespace cap::schema;

TEST_CASE("Console_Client and Process_Client over RingTransport", "[libcap][transport]") {
    sim::Kernel k(8, 8, 0);
    cap::Ring r;
    k.bind(r);
    std::string text;
    abi::CapHandle map_cap = 0;
    k.handler = [&](sim::Kernel& kk, const abi::Sqe& s) {
        cp::FlatMessageReader<4> params;
        REQUIRE(params.init_flat(reinterpret_cast<const void*>(s.params_addr), s.params_len) == cp::Error::Ok);
        if (s.interface_id == Console::kInterfaceId && s.method == Console::Methods::write) {
            REQUIRE(s.cap == abi::make_handle(1, 9));
            text += params.root<Console_WriteParams>().text().c_str();
            kk.post(s, 0, 0);
        } else if (s.interface_id == Process::kInterfaceId && s.method == Process::Methods::allocate) {
            CHECK(params.root<Process_AllocateParams>().bytes() == 8192);
            // Result: a message whose capability pointer 0 names out-cap 0.
            alignas(8) unsigned char buf[64];
            cp::MessageBuilder b(buf, sizeof buf);
            uint32_t table[1];
            b.set_cap_table(table, 1);
            REQUIRE(b.init_root<Process_AllocateResults>().set_memory(0));
            size_t n = 0;
            REQUIRE(b.write_flat(reinterpret_cast<void*>(s.result_addr), s.result_len_max, &n) == cp::Error::Ok);
            reinterpret_cast<abi::CapHandle*>(s.caps_addr)[0] = abi::make_handle(33, 2);
            abi::Cqe c{};
            c.user_tag = s.user_tag;
            c.result_len = static_cast<uint32_t>(n);
            c.caps_out_count = 1;
            kk.kring.post(c);
        } else if (s.interface_id == Process::kInterfaceId && s.method == Process::Methods::map) {
            REQUIRE(s.caps_in_count == 1);
            map_cap = reinterpret_cast<abi::CapHandle*>(s.caps_addr)[0];
            kk.post(s, 0, 0);
        } else {
            kk.post(s, static_cast<int32_t>(abi::Status::stale_slot), 0);
        }
    };

    cap::RingTransport t(r);
    const uint32_t con_id = t.bind(abi::make_handle(1, 9));
    REQUIRE(con_id != cap::RingTransport::kInvalidId);
    CHECK(t.bind(abi::make_handle(1, 9)) == con_id);  // binding twice gives the same id
    Console_Client<cap::RingTransport> console(t, con_id);
    alignas(8) unsigned char buf[256];
    {
        cp::MessageBuilder p(buf, sizeof buf);
        console.write_params(p).set_text("typed hello");
        cp::FlatMessageReader<4> res;
        REQUIRE(console.write(p, res) == cp::Error::Ok);
        CHECK(t.last_status() == cap::Status::ok);
        CHECK(text == "typed hello");
    }

    Process_Client<cap::RingTransport> proc(t, t.bind(abi::make_handle(2, 1)));
    uint32_t mem_id = 0;
    {
        cp::MessageBuilder p(buf, sizeof buf);
        proc.allocate_params(p).set_bytes(8192);
        cp::FlatMessageReader<4> res;
        REQUIRE(proc.allocate(p, res) == cp::Error::Ok);
        cp::CapSlot mem = proc.allocate_results(res).memory();
        REQUIRE(mem.valid);
        mem_id = mem.slot;
        CHECK(t.handle(mem_id) == abi::make_handle(33, 2));  // the full handle, generation included
    }
    {
        // Passing it back as a capability parameter sends the full handle.
        cp::MessageBuilder p(buf, sizeof buf);
        uint32_t table[2];
        p.set_cap_table(table, 2);
        auto mp = proc.map_params(p);
        REQUIRE(mp.set_memory(mem_id));
        mp.set_address(0x100000000000);
        mp.set_length(8192);
        cp::FlatMessageReader<4> res;
        REQUIRE(proc.map(p, res) == cp::Error::Ok);
        CHECK(map_cap == abi::make_handle(33, 2));
    }
    {
        // A failed completion: non-Ok Error, the Status kept for the caller.
        cp::MessageBuilder p(buf, sizeof buf);
        (void)proc.id_params(p);
        cp::FlatMessageReader<4> res;
        CHECK(proc.id(p, res) != cp::Error::Ok);
        CHECK(t.last_status() == cap::Status::stale_slot);
    }
    {
        // An unbound id never reaches the ring.
        Console_Client<cap::RingTransport> bogus(t, 60);
        cp::MessageBuilder p(buf, sizeof buf);
        bogus.write_params(p).set_text("x");
        cp::FlatMessageReader<4> res;
        const size_t before = k.seen.size();
        CHECK(bogus.write(p, res) != cp::Error::Ok);
        CHECK(k.seen.size() == before);
        CHECK(t.last_status() == cap::Status::invalid_slot);
    }
}

// libcap's hand-kept constants (interfaces.h) agree with the generated bindings.
#include "capos/schema/memory.capnp.h"
#include "capos/schema/park.capnp.h"
#include "capos/schema/thread.capnp.h"
#include "capos/schema/timer.capnp.h"
#include "libcap/interfaces.h"
static_assert(cap::iface::kConsole == Console::kInterfaceId);
static_assert(cap::iface::kConsoleWrite.ordinal == Console::Methods::write);
static_assert(cap::iface::kProcess == Process::kInterfaceId);
static_assert(cap::iface::kProcessExit.ordinal == Process::Methods::exit);
static_assert(cap::iface::kProcessCreateThread.ordinal == Process::Methods::create_thread);
static_assert(cap::iface::kProcessMap.ordinal == Process::Methods::map);
static_assert(cap::iface::kProcessAllocate.ordinal == Process::Methods::allocate);
static_assert(cap::iface::kProcessExitThread.ordinal == Process::Methods::exit_thread);
static_assert(cap::iface::kThread == Thread::kInterfaceId);
static_assert(cap::iface::kThreadJoin.ordinal == Thread::Methods::join);
static_assert(cap::iface::kPark == Park::kInterfaceId);
static_assert(cap::iface::kParkWait.ordinal == Park::Methods::wait);
static_assert(cap::iface::kParkWake.ordinal == Park::Methods::wake);
static_assert(cap::iface::kTimer == Timer::kInterfaceId);
static_assert(cap::iface::kMemoryObject == MemoryObject::kInterfaceId);
