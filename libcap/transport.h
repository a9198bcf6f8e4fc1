// transport.h - RingTransport: runs the generated Cap'n Proto client stubs (X_Client<T>) over a capability ring.
//
// The generated stubs name the target and every transferred capability by a
// uint32_t "slot" (schema/runtime/capos/capnp/rpc.h), while the ring ABI
// needs full CapHandles (slot index + generation, capos/abi/cap.h). The
// transport therefore keeps its own small table: bind(handle) returns a
// local id to give the stubs (as the client's slot, or to set_<field>() for
// a capability parameter), and capabilities a call returns are bound on
// arrival, so the result reader's capability table holds local ids too;
// handle(id) turns one back into a CapHandle.
//
//   cap::RingTransport t(cap::this_ring());
//   Console_Client<cap::RingTransport> console(t, t.bind(info.console()));
//   cap::capnp::MessageBuilder p(buf, sizeof buf);
//   console.write_params(p).set_text("hi\n");
//   cap::capnp::FlatMessageReader<4> res;
//   if (console.write(p, res) != cap::capnp::Error::Ok) ... t.last_status() ...
//
// Errors: a call whose completion carries an error status returns a non-Ok
// capnp::Error (UnknownMethod for Status::bad_method, UnknownInterface for
// any other status) and last_status() holds the precise Status; capnp has no
// "call failed" code yet (see docs/libcap.md).
//
// Results are read in place from the transport's result buffer, so a result
// reader is valid until the next call on the same transport.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/capnp/capnp.h"
#include "libcap/ring.h"

namespace cap {

class RingTransport {
public:
    static constexpr uint32_t kMaxBound = 64;
    static constexpr uint32_t kMaxCallCaps = 16;
    static constexpr size_t kParamsBytes = 4096 + 64;
    static constexpr size_t kResultBytes = 4096 + 64;
    static constexpr uint32_t kInvalidId = 0xffffffffu;

    explicit RingTransport(Ring& ring) : ring_(&ring) {}
    RingTransport(const RingTransport&) = delete;
    RingTransport& operator=(const RingTransport&) = delete;

    // A local id for `h`, or kInvalidId if the table is full or h is null.
    uint32_t bind(CapHandle h);
    void unbind(uint32_t id);
    // The handle bound to `id`, or kNullCap.
    CapHandle handle(uint32_t id) const { return id < kMaxBound ? bound_[id] : kNullCap; }

    // The capnp::Transport call (see capos/capnp/rpc.h).
    [[nodiscard]] capnp::Error call(uint32_t slot, capnp::MethodAddress address, capnp::MessageBuilder& params,
                                    capnp::MessageReader& results);

    // Status of the last call's completion (Status::ok after a success).
    Status last_status() const { return last_status_; }

private:
    Ring* ring_;
    CapHandle bound_[kMaxBound] = {};
    Status last_status_ = Status::ok;
    CapHandle caps_[kMaxCallCaps] = {};
    uint32_t result_ids_[kMaxCallCaps] = {};
    alignas(8) unsigned char params_[kParamsBytes];
    alignas(8) unsigned char result_[kResultBytes];
};

static_assert(capnp::Transport<RingTransport>);

}  // namespace cap
