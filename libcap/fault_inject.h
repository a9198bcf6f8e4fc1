// fault_inject.h - FaultInjection client: arm allocation failures for the calling thread (schema/fault.capnp).
//
// Tests only: the kernel grants the capability (named "faults") to a utest
// program when booted with fault_inject=on (docs/fault-injection.md). Every
// call is one raw call on the calling thread's ring; arm and disarm act on
// the thread that makes them.
//
// Header-only (inline) so that it brings the generated bindings only to the
// programs that use it. Needs schema_dep (libcap_dep brings it).
#pragma once

#include <stdint.h>

#include "capos/capnp/capnp.h"
#include "capos/schema/fault.capnp.h"
#include "libcap/raw_call.h"
#include "libcap/result.h"

namespace cap {

enum class FaultKind : uint16_t { frame = 0, heap = 1 };

struct FaultReport {
    uint64_t injected = 0;  // allocations failed since arm
    uint64_t frames = 0;    // frame allocations counted since arm
    uint64_t heap = 0;      // heap allocations counted since arm
};

struct FaultCounts {
    uint32_t process_threads = 0;  // thread slots the caller's process holds (freed by the reaper after exit)
    uint64_t kernel_threads = 0;   // kernel Thread objects not yet freed
    uint64_t page_tables = 0;      // page-table frames of the caller's address space
};

// FaultInjection.arm: of `kind`, the nth counted allocation of this thread
// fails (0: none) and every `every`-th (0: none).
[[nodiscard]] inline Result<void> fault_arm(capos::abi::CapHandle faults, FaultKind kind, uint64_t nth,
                                            uint64_t every = 0) {
    using S = schema::FaultInjection;
    alignas(8) unsigned char seg[96];
    capnp::MessageBuilder m(seg, sizeof seg);
    auto p = m.init_root<S::ArmParams>();
    p.set_kind(kind == FaultKind::frame ? schema::AllocKind::Frame : schema::AllocKind::Heap);
    p.set_nth(nth);
    p.set_every(every);
    alignas(8) unsigned char flat[128];
    size_t len = 0;
    if (m.write_flat(flat, sizeof flat, &len) != capnp::Error::Ok) return Status::internal;
    const capos::abi::Cqe c = raw_call(faults, S::kInterfaceId, S::Methods::arm, flat, static_cast<uint32_t>(len));
    if (c.status != 0) return status_of(c);
    return ok();
}

namespace detail {
// A FaultInjection method without parameters: calls it and hands the
// validated results root to `take`, whose value is returned.
template <class Results, class Out, class Take>
[[nodiscard]] inline Result<Out> fault_query(capos::abi::CapHandle faults, uint16_t method, Take take) {
    using S = schema::FaultInjection;
    alignas(8) unsigned char res[128];
    const capos::abi::Cqe c = raw_call(faults, S::kInterfaceId, method, nullptr, 0, res, sizeof res);
    if (c.status != 0) return status_of(c);
    capnp::FlatMessageReader<1> r;
    if (r.init_flat(res, c.result_len) != capnp::Error::Ok || r.validate() != capnp::Error::Ok)
        return Status::malformed_message;
    return take(r.root<Results>());
}
}  // namespace detail

// FaultInjection.disarm: what happened on this thread since arm.
[[nodiscard]] inline Result<FaultReport> fault_disarm(capos::abi::CapHandle faults) {
    using S = schema::FaultInjection;
    return detail::fault_query<S::DisarmResults, FaultReport>(faults, S::Methods::disarm, [](const auto& root) {
        return FaultReport{root.injected(), root.frames(), root.heap_blocks()};
    });
}

// FaultInjection.counts: threads alive, for leak checks.
[[nodiscard]] inline Result<FaultCounts> fault_counts(capos::abi::CapHandle faults) {
    using S = schema::FaultInjection;
    return detail::fault_query<S::CountsResults, FaultCounts>(faults, S::Methods::counts, [](const auto& root) {
        return FaultCounts{root.process_threads(), root.kernel_threads(), root.page_tables()};
    });
}

}  // namespace cap
