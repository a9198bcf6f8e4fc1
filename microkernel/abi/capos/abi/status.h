// status.h - ABI result codes shared by the kernel and user space.
//
// A Status is what user space sees: in a completion's `status` field and as
// the negative return value of cap_enter. 0 is success; every error is
// negative so a syscall return can carry "count or error" in one register.
// The values are ABI: never renumber, only append. The kernel's internal
// kern::Error is translated to a Status in exactly one function at the ring
// boundary (kern::to_status in microkernel/ipc/ring.h).
#pragma once

#include <stdint.h>

namespace capos::abi {

enum class Status : int32_t {
    ok = 0,
    invalid_slot = -1,       // handle names no capability (index out of range or empty slot)
    stale_slot = -2,         // handle's generation does not match: dropped, moved or revoked
    rights = -3,             // capability lacks a right the operation needs
    bad_method = -4,         // unknown interface id or method ordinal for this object
    malformed_message = -5,  // parameter message or submission fields violate the format
    bad_pointer = -6,        // a user pointer/length is not mapped, not user, or wraps
    quota_exceeded = -7,     // a per-process quota is hit; Cqe::detail says which (QuotaKind)
    no_memory = -8,          // the kernel could not allocate (not a quota: system-wide)
    timeout = -9,            // cap_enter / a timed call: the deadline passed first
    would_block = -10,       // a non-blocking call could not complete now
    overflow = -11,          // cap_enter: SQ entries are pending but completion space
                             // (CQ + kernel overflow quota) is full; reap completions
                             // and enter again. Nothing was dropped (back-pressure).
    cancelled = -12,         // the operation was cancelled before it completed
    peer_dead = -13,         // the other end (endpoint server, process) has exited
    not_supported = -14,     // valid request the object does not implement
    invalid_argument = -15,  // a parameter value is outside the method's contract
    bad_ring = -16,          // cap_enter: shared ring indices are inconsistent (e.g. a
                             // tail more than `entries` ahead of head); nothing consumed
    result_too_large = -17,  // result (bytes or caps) does not fit result_len_max / caps_out_max
    busy = -18,              // resource in use; retry later
    internal = -19,          // kernel error with no more specific code (a kernel bug)
};

// Which quota a quota_exceeded completion hit (Cqe::detail).
enum class QuotaKind : uint32_t {
    none = 0,
    cap_slots = 1,          // capability table slots of the process
    frames = 2,             // physical frames charged to the process
    threads = 3,            // threads of the process
    outstanding_calls = 4,  // in-flight submissions of the thread
    derivation = 5,         // capability derivation bookkeeping
};

constexpr bool is_error(Status s) { return static_cast<int32_t>(s) < 0; }

// Stable lower-case name, for printing. Never null.
constexpr const char* status_name(Status s) {
    switch (s) {
        case Status::ok:
            return "ok";
        case Status::invalid_slot:
            return "invalid_slot";
        case Status::stale_slot:
            return "stale_slot";
        case Status::rights:
            return "rights";
        case Status::bad_method:
            return "bad_method";
        case Status::malformed_message:
            return "malformed_message";
        case Status::bad_pointer:
            return "bad_pointer";
        case Status::quota_exceeded:
            return "quota_exceeded";
        case Status::no_memory:
            return "no_memory";
        case Status::timeout:
            return "timeout";
        case Status::would_block:
            return "would_block";
        case Status::overflow:
            return "overflow";
        case Status::cancelled:
            return "cancelled";
        case Status::peer_dead:
            return "peer_dead";
        case Status::not_supported:
            return "not_supported";
        case Status::invalid_argument:
            return "invalid_argument";
        case Status::bad_ring:
            return "bad_ring";
        case Status::result_too_large:
            return "result_too_large";
        case Status::busy:
            return "busy";
        case Status::internal:
            return "internal";
    }
    return "unknown_status";
}

}  // namespace capos::abi
