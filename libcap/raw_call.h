// raw_call.h - one capability call on this thread's ring, its completion returned as is.
//
// For callers that need the whole completion of a failed call (its
// result_len, detail or returned message), which Ring::call turns into a
// bare Status: servers, the spawner client and the in-guest tests.
#pragma once

#include <stdint.h>

#include "capos/abi/ring.h"
#include "libcap/result.h"

namespace cap {

// Submits one call on this_ring() and waits for its completion. A local
// failure (no tracked slot, cap_enter error) comes back as a Cqe whose
// status is that Status; otherwise the kernel's Cqe, error status and all.
capos::abi::Cqe raw_call(capos::abi::CapHandle cap, uint64_t interface_id, uint16_t method,
                         const void* params = nullptr, uint32_t plen = 0, void* result = nullptr, uint32_t rmax = 0,
                         capos::abi::CapHandle* caps = nullptr, uint16_t caps_in = 0, uint16_t caps_out = 0,
                         uint16_t flags = 0);

inline Status status_of(const capos::abi::Cqe& c) { return static_cast<Status>(c.status); }

}  // namespace cap
