// capOS freestanding Cap'n Proto runtime: the call address and the transport contract of generated stubs.
#pragma once

#include <stdint.h>

#include "capos/capnp/error.h"
#include "capos/capnp/traits.h"
#include "capos/capnp/message.h"

namespace cap::capnp {

// The address of a call on a capability ring: the interface id (the 64-bit
// Cap'n Proto type id of the interface) and the method's ordinal (@n).
struct MethodAddress {
    uint64_t interface_id = 0;
    uint16_t method = 0;
};

// Generated `X_Client<Transport>` stubs need only this of their transport:
//
//   Error call(uint32_t slot, MethodAddress address,
//              MessageBuilder& params, MessageReader& results);
//
// `params` carries the message and its capability table (the slots to
// transfer); `results` is a reader the transport initializes over the
// caller's result buffer. libcap binds this to the ring; tests bind it to a
// loopback that runs the generated `X_dispatch` directly.
template <typename T>
concept Transport = requires(T& t, uint32_t slot, MethodAddress a, MessageBuilder& p, MessageReader& r) {
    { t.call(slot, a, p, r) } -> traits::SameAs<Error>;
};

}  // namespace cap::capnp
