// transport.cpp - the generated stubs' Transport over a capability ring, with a local capability id table.
#include "libcap/transport.h"

namespace cap {

uint32_t RingTransport::bind(CapHandle h) {
    if (h == kNullCap) return kInvalidId;
    for (uint32_t i = 0; i < kMaxBound; ++i)
        if (bound_[i] == h) return i;
    for (uint32_t i = 0; i < kMaxBound; ++i)
        if (bound_[i] == kNullCap) {
            bound_[i] = h;
            return i;
        }
    return kInvalidId;
}

void RingTransport::unbind(uint32_t id) {
    if (id < kMaxBound) bound_[id] = kNullCap;
}

capnp::Error RingTransport::call(uint32_t slot, capnp::MethodAddress address, capnp::MessageBuilder& params,
                                 capnp::MessageReader& results) {
    last_status_ = Status::invalid_slot;
    const CapHandle target = handle(slot);
    if (target == kNullCap) return capnp::Error::UnknownInterface;

    size_t n = 0;
    if (capnp::Error e = params.write_flat(params_, sizeof params_, &n); e != capnp::Error::Ok) {
        last_status_ = Status::malformed_message;
        return e;
    }
    // The message's capability table holds local ids; the ring wants handles.
    const capnp::CapTable in = params.cap_table();
    if (in.count > kMaxCallCaps) {
        last_status_ = Status::invalid_argument;
        return capnp::Error::CapTableFull;
    }
    for (uint32_t i = 0; i < in.count; ++i) {
        caps_[i] = handle(in.slots[i]);
        if (caps_[i] == kNullCap) {
            last_status_ = Status::invalid_slot;
            return capnp::Error::CapIndexOutOfRange;
        }
    }

    CallArgs a;
    a.cap = target;
    a.method = iface::Method{address.interface_id, address.method};
    a.params = params_;
    a.params_len = static_cast<uint32_t>(n);
    a.result = result_;
    a.result_max = sizeof result_;
    a.caps = caps_;
    a.caps_in = static_cast<uint16_t>(in.count);
    a.caps_out_max = kMaxCallCaps;
    Result<Cqe> c = ring_->call(a);
    if (!c.ok()) {
        last_status_ = c.status();
        return c.status() == Status::bad_method ? capnp::Error::UnknownMethod : capnp::Error::UnknownInterface;
    }
    last_status_ = Status::ok;

    const Cqe& cqe = c.value();
    const uint32_t caps_out = cqe.caps_out_count < kMaxCallCaps ? cqe.caps_out_count : kMaxCallCaps;
    for (uint32_t i = 0; i < caps_out; ++i) result_ids_[i] = bind(caps_[i]);
    if (cqe.result_len == 0) {
        // No result message (a method with empty results): an empty struct.
        static constexpr uint64_t kEmpty[2] = {uint64_t{1} << 32,
                                               0xfffffffcull};  // 1 segment of 1 word; root: empty struct
        capnp::Error e = results.init_flat(kEmpty, sizeof kEmpty);
        results.set_cap_table(capnp::CapTable{result_ids_, caps_out});
        return e;
    }
    capnp::Error e = results.init_flat(result_, cqe.result_len > sizeof result_ ? sizeof result_ : cqe.result_len);
    results.set_cap_table(capnp::CapTable{result_ids_, caps_out});
    return e;
}

}  // namespace cap
