// raw_call.cpp - one call on this thread's ring, completion returned as is (see raw_call.h).
#include "libcap/raw_call.h"

#include "libcap/ring.h"
#include "libcap/runtime.h"

namespace cap {

capos::abi::Cqe raw_call(capos::abi::CapHandle cap, uint64_t interface_id, uint16_t method, const void* params,
                         uint32_t plen, void* result, uint32_t rmax, capos::abi::CapHandle* caps, uint16_t caps_in,
                         uint16_t caps_out, uint16_t flags) {
    CallArgs a;
    a.cap = cap;
    a.method = iface::Method{interface_id, method};
    a.params = params;
    a.params_len = plen;
    a.result = result;
    a.result_max = rmax;
    a.caps = caps;
    a.caps_in = caps_in;
    a.caps_out_max = caps_out;
    a.flags = flags;
    Ring& r = this_ring();
    capos::abi::Cqe out{};
    // start + wait rather than Ring::call: call folds an error completion into
    // a Status and the caller wants the completion itself.
    auto tag = r.start(make_sqe(a));
    if (!tag.ok()) {
        out.status = static_cast<int32_t>(tag.status());
        return out;
    }
    auto c = r.wait(tag.value());
    if (!c.ok()) {
        out.status = static_cast<int32_t>(c.status());
        return out;
    }
    return c.value();
}

}  // namespace cap
