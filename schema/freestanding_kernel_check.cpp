// Kernel-flags build proof: the real schemas' bindings build with the kernel's flags (no SSE, kernel code model).
//
// The kernel decodes SchedulerControl, Console and other kernel-object calls
// with these bindings, so they must compile with -mgeneral-regs-only; schemas
// with floating-point fields (test.capnp) are deliberately not included.
#include "capos/schema/manifest.capnp.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "capos/schema/console.capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "capos/schema/coordinator.capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "capos/schema/timer.capnp.h"
#include "capos/schema/park.capnp.h"

namespace {

// A kernel-side Console implementation, to instantiate the dispatch skeleton.
struct KernelConsole {
    cap::capnp::Error write(cap::schema::Console_WriteParams_Reader, cap::schema::Console_WriteResults_Builder) {
        return cap::capnp::Error::Ok;
    }
    cap::capnp::Error write_bytes(cap::schema::Console_WriteBytesParams_Reader,
                                  cap::schema::Console_WriteBytesResults_Builder) {
        return cap::capnp::Error::Ok;
    }
};

}  // namespace

extern "C" unsigned capos_schema_kernel_check(unsigned char* buf, unsigned n) {
    cap::capnp::FlatMessageReader<4> r;
    if (r.init_flat(buf, n) != cap::capnp::Error::Ok) return 0;
    if (r.validate() != cap::capnp::Error::Ok) return 1;
    auto m = r.root<cap::schema::BootManifest>();
    unsigned s = m.modules().size() + m.modules()[0].quotas().threads();
    auto ev = r.root<cap::schema::PlacementEvent>();
    if (ev.is_thread_runnable()) s += ev.thread_runnable().cpu();
    cap::capnp::MessageBuilder b(buf, 256);
    KernelConsole impl;
    (void)cap::schema::Console_dispatch(cap::schema::Console::kInterfaceId, 0, r, b, impl);
    return s;
}
