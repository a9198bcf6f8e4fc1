// cap.h - capability handles and rights as user space sees them.
//
// A handle names a slot in the calling process's capability table together
// with the slot's generation at the time the handle was issued. Freeing a
// slot (drop, move, revoke) bumps its generation, so an old handle to a
// reused slot is refused with Status::stale_slot instead of silently naming
// a different object. Generation 0 is never issued, so handle 0 is the null
// capability (used by the NOP submission).
#pragma once

#include <stdint.h>

namespace capos::abi {

// Packed handle: low 32 bits slot index, high 32 bits generation.
using CapHandle = uint64_t;

inline constexpr CapHandle kNullCap = 0;

constexpr CapHandle make_handle(uint32_t slot, uint32_t generation) {
    return (static_cast<uint64_t>(generation) << 32) | slot;
}
constexpr uint32_t handle_slot(CapHandle h) { return static_cast<uint32_t>(h); }
constexpr uint32_t handle_generation(CapHandle h) { return static_cast<uint32_t>(h >> 32); }

// Rights bits. The low byte is generic (checked by the capability table and
// the ring); bits 8..31 are object-specific and checked by the object's
// decode step. A derived capability's rights are always a subset.
using Rights = uint32_t;
inline constexpr Rights kRightCall = 1u << 0;      // invoke methods at all
inline constexpr Rights kRightCopy = 1u << 1;      // copy / derive into the same table
inline constexpr Rights kRightTransfer = 1u << 2;  // send in a message (copy or move)
inline constexpr Rights kRightRead = 1u << 8;      // object-specific: read/receive/observe
inline constexpr Rights kRightWrite = 1u << 9;     // object-specific: write/send/modify
inline constexpr Rights kRightExecute = 1u << 10;  // object-specific: map executable
inline constexpr Rights kRightMap = 1u << 11;      // object-specific: map into an address space
inline constexpr Rights kRightControl = 1u << 12;  // object-specific: destructive control (kill, set policy)
inline constexpr Rights kRightsAll = 0xffffffffu;

}  // namespace capos::abi
