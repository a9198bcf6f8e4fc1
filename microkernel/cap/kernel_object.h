// kernel_object.h: what every capability-invocable kernel object shares:
// the rights of the capabilities the kernel mints, and the decode input of
// a call.
//
// Interface ids and method ordinals are the generated ones
// (capos/schema/<file>.capnp.h: X::kInterfaceId, X::Methods::<name>);
// nothing here keeps a copy. Each object decodes its calls through
// cap/call_decode (decode step, host-built and fuzzed) before its invoke
// step changes anything.
#pragma once

#include <stdint.h>

#include "cap/call_decode.h"
#include "cap/cap_table.h"

namespace kern {

struct Call;

// Rights of the capabilities the kernel mints (the holder may derive fewer).
inline constexpr Rights kRightsObject = capos::abi::kRightCall | capos::abi::kRightCopy | capos::abi::kRightTransfer |
                                        capos::abi::kRightRead | capos::abi::kRightWrite;
// A process's own Process capability: also Map and Control (exit).
inline constexpr Rights kRightsSelf = kRightsObject | capos::abi::kRightMap | capos::abi::kRightControl;
// A ProcessHandle (parent's view): wait/id with Read, kill with Control.
inline constexpr Rights kRightsHandle = capos::abi::kRightCall | capos::abi::kRightCopy | capos::abi::kRightTransfer |
                                        capos::abi::kRightRead | capos::abi::kRightControl;
inline constexpr Rights kRightsMemory = kRightsObject | capos::abi::kRightMap | capos::abi::kRightExecute;

// What the decode step of `call` sees: its SQE fields, rights and the
// kernel copy of its parameter message (ipc/ring_dispatch.cpp).
decode::CallIn decode_input(const Call& call);

}  // namespace kern
