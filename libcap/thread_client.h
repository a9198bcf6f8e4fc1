// thread_client.h - Thread object calls through the generated bindings: cpuTime, setWeight, setCpuHint (schema/thread.capnp).
//
// Any holder of a thread's handle may make them, on any of its own threads:
// the main thread's own handle is StartInfo's StartCap::thread, a spawned
// thread's is cap::Thread::handle() in the spawning process.
//
// Header-only (inline) so that it brings the generated bindings only to the
// programs that use it, as fault_inject.h does. Needs schema_dep (libcap_dep
// brings it).
#pragma once

#include <stdint.h>

#include "capos/capnp/capnp.h"
#include "capos/schema/thread.capnp.h"
#include "libcap/raw_call.h"
#include "libcap/result.h"

namespace cap {

// Thread.cpuTime: TSC cycles the thread has run so far (its current slice
// included). Errors: peer_dead once it has ended, the call's own status.
[[nodiscard]] inline Result<uint64_t> thread_cpu_time(capos::abi::CapHandle thread) {
    using S = schema::Thread;
    alignas(8) unsigned char res[64];
    const capos::abi::Cqe c = raw_call(thread, S::kInterfaceId, S::Methods::cpu_time, nullptr, 0, res, sizeof res);
    if (c.status != 0) return status_of(c);
    capnp::FlatMessageReader<1> r;
    if (r.init_flat(res, c.result_len) != capnp::Error::Ok || r.validate() != capnp::Error::Ok)
        return Status::malformed_message;
    return r.root<S::CpuTimeResults>().cycles();
}

namespace detail {

// A Thread call whose params struct P is filled by fill and whose results
// are empty.
template <class P, class F>
[[nodiscard]] inline Result<void> thread_set(capos::abi::CapHandle thread, uint16_t method, F&& fill) {
    alignas(8) unsigned char seg[64];
    capnp::MessageBuilder m(seg, sizeof seg);
    fill(m.init_root<P>());
    alignas(8) unsigned char flat[96];
    size_t len = 0;
    if (m.write_flat(flat, sizeof flat, &len) != capnp::Error::Ok) return Status::internal;
    const capos::abi::Cqe c = raw_call(thread, schema::Thread::kInterfaceId, method, flat, static_cast<uint32_t>(len));
    if (c.status != 0) return status_of(c);
    return ok();
}

}  // namespace detail

// Thread.setWeight: the thread's fair-share weight, 1..10000 (the kernel
// refuses anything else with invalid_argument).
[[nodiscard]] inline Result<void> thread_set_weight(capos::abi::CapHandle thread, uint32_t weight) {
    using S = schema::Thread;
    return detail::thread_set<S::SetWeightParams>(thread, S::Methods::set_weight,
                                                  [&](auto p) { p.set_weight(weight); });
}

// Thread.setCpuHint: asks for `cpu`. The kernel pins the thread there (its
// allowed mask becomes {cpu}) from its next placement unless a placement
// server overrides it; a CPU that is not online is invalid_argument.
[[nodiscard]] inline Result<void> thread_set_cpu_hint(capos::abi::CapHandle thread, uint32_t cpu) {
    using S = schema::Thread;
    return detail::thread_set<S::SetCpuHintParams>(thread, S::Methods::set_cpu_hint, [&](auto p) { p.set_cpu(cpu); });
}

}  // namespace cap
