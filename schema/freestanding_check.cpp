// Freestanding build proof: includes every generated header and instantiates readers, builders, stubs and dispatch.
//
// Built with user_cpp_args + -nostdinc++ (no C++ library headers exist on the
// include path), so anything in the runtime or generated code that needs
// libstdc++ fails the build here first.
#include "capos/schema/console.capnp.h"
#include "capos/schema/coordinator.capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "capos/schema/manifest.capnp.h"
#include "capos/schema/memory.capnp.h"
#include "capos/schema/park.capnp.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "capos/schema/test.capnp.h"
#include "capos/schema/thread.capnp.h"
#include "capos/schema/timer.capnp.h"

namespace {

using cap::capnp::Error;
using cap::capnp::MessageBuilder;
using cap::capnp::MessageReader;

// A transport that answers every call by dispatching to a local console.
struct LocalConsole {
    uint32_t bytes = 0;
    Error write(cap::schema::Console_WriteParams_Reader p, cap::schema::Console_WriteResults_Builder) {
        bytes += p.text().size();
        return Error::Ok;
    }
    Error write_bytes(cap::schema::Console_WriteBytesParams_Reader p, cap::schema::Console_WriteBytesResults_Builder) {
        bytes += p.bytes().size();
        return Error::Ok;
    }
};

struct NullTransport {
    Error call(uint32_t, cap::capnp::MethodAddress, MessageBuilder&, MessageReader&) { return Error::UnknownMethod; }
};

}  // namespace

extern "C" uint32_t capos_schema_freestanding_check(uint8_t* buf, uint32_t bytes) {
    MessageBuilder msg(buf, bytes / 2);
    auto manifest = msg.init_root<cap::schema::BootManifest>();
    auto modules = manifest.init_modules(2);
    modules[0].set_name("init");
    modules[0].init_quotas().set_frames(1024);
    auto caps = modules[0].init_caps(1);
    caps[0].set_kernel(cap::schema::KernelCap::Console);
    auto svc = modules[1].init_caps(1)[0].service();
    svc.set_module("spawner");
    modules[1].init_depends_on(1).set(0, "init");

    auto event = msg.root_pointer().init_struct(cap::schema::PlacementEvent::kDataWords,
                                                cap::schema::PlacementEvent::kPointerCount);
    cap::schema::PlacementEvent_Builder ev(event);
    ev.init_thread_runnable().set_thread_id(7);

    auto all = MessageBuilder(buf + bytes / 2, bytes / 2);
    auto a = all.init_root<cap::schema::AllTypes>();
    a.init_list_list(2).init(0, 3).set(1, 5u);
    a.init_list_list_list(1).init(0, 1).init(0, 1).set(0, "x");
    a.init_struct_list(1)[0].set_id(3);
    a.init_bool_list(9).set(8, true);
    a.init_enum_list(1).set(0, cap::schema::Color::Blue);
    (void)a.init_cap_list(1);

    cap::capnp::FlatMessageReader<4> reader;
    cap::capnp::SegmentView views[4];
    uint32_t n = msg.segments(views, 4);
    if (reader.init_segments(views, n) != Error::Ok || reader.validate() != Error::Ok) return 0;
    auto root = reader.root<cap::schema::BootManifest>();
    uint32_t sum = root.modules().size() + root.modules()[0].quotas().frames() == 1024 ? 1u : 0u;
    sum += root.modules()[0].caps()[0].kernel() == cap::schema::KernelCap::Console ? 1u : 0u;
    sum += root.modules()[1].depends_on()[0].size();
    auto d = cap::capnp::FlatMessageReader<1>();
    (void)d.init_segments(views, n);
    auto def = d.root<cap::schema::Defaults>();
    sum += def.struct_field().id() + def.int32_list()[1] + def.text_field().size();
    auto u = d.root<cap::schema::Unions>();
    if (u.which() == cap::schema::Unions_Which::Inner) sum += u.inner().id();
    if (u.shape().is_rect()) sum += static_cast<uint32_t>(u.shape().rect().width());

    LocalConsole impl;
    MessageBuilder results(buf, 64);
    (void)cap::schema::Console_dispatch(cap::schema::Console::kInterfaceId, 0, reader, results, impl);
    NullTransport t;
    cap::schema::Console_Client<NullTransport> client(t, 3);
    MessageBuilder params(buf, 64);
    cap::schema::Console_Client<NullTransport>::write_params(params).set_text("hi");
    (void)client.write(params, reader);
    return sum + impl.bytes;
}
