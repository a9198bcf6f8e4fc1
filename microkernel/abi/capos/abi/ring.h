// ring.h - the per-thread capability ring shared by a thread and the kernel.
//
// Shape (io_uring-like). Each thread has one ring at user_ring_addr(i)
// (layout.h): a 4 KiB header page, then the submission queue (SQ) array of
// Sqe, then, page-aligned, the completion queue (CQ) array of Cqe. The
// kernel writes the geometry into the header when it creates the ring; the
// user reads it from there (offsets are relative to the ring base).
//
// Indices are free-running uint32_t counters; an index names entry
// `index & mask`. `tail - head` (mod 2^32) is the fill level, so the
// counters wrap at 2^32 without any special case. Entry counts are powers
// of two.
//
// Memory ordering (the only synchronisation between user and kernel):
//   SQ (user produces, kernel consumes)
//     user:   write Sqe at sqes[sq_tail & sq_mask]; store-release sq_tail+1
//     kernel: load-acquire sq_tail; copy each Sqe ONCE into kernel memory
//             (never re-read a shared field after validating it);
//             store-release sq_head to free the entries
//     user:   load-acquire sq_head before overwriting an entry
//   CQ (kernel produces, user consumes)
//     kernel: load-acquire cq_head; write Cqe at cqes[cq_tail & cq_mask];
//             store-release cq_tail+1
//     user:   load-acquire cq_tail; read Cqe; store-release cq_head+1
// The kernel never trusts a shared field: it keeps private copies of
// sq_head, cq_tail, both masks and sizes, and only *reads* sq_tail and
// cq_head (and checks them: a tail more than `entries` ahead of the head is
// Status::bad_ring; a cq_head outside [consumed, cq_tail] is ignored).
// Anything the user scribbles over the kernel-written fields is overwritten
// at the next kernel update and never read back.
//
// Completions are never dropped. When the CQ is full, the kernel parks the
// completion on a kernel-private overflow list (bounded per thread), sets
// kRingFlagCqOverflow, and flushes the list in order into the CQ as the user
// frees entries (at its next cap_enter). The kernel only consumes a
// submission when a completion place (CQ space or overflow space) is
// reserved for it; when there is none it leaves the SQ as is, sets
// kRingFlagBackpressure, and cap_enter reports Status::overflow if it could
// make no progress at all.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/cap.h"

namespace capos::abi {

inline constexpr uint32_t kRingMagic = 0x43524e47;  // "CRNG"
inline constexpr uint32_t kRingVersion = 1;

inline constexpr uint32_t kRingMaxSqEntries = 4096;
inline constexpr uint32_t kRingMaxCqEntries = 8192;
inline constexpr uint32_t kRingHeaderSize = 4096;

// Header flags (kernel-written).
inline constexpr uint32_t kRingFlagCqOverflow = 1u << 0;    // completions parked in the kernel; enter to flush
inline constexpr uint32_t kRingFlagBackpressure = 1u << 1;  // SQEs left unconsumed for lack of completion space
inline constexpr uint32_t kRingFlagCorrupt = 1u << 2;       // last enter found inconsistent user indices

// One submission. 64 bytes, naturally aligned fields.
struct Sqe {
    uint64_t user_tag;        // copied verbatim into the completion
    uint64_t interface_id;    // Cap'n Proto interface id (kInterfaceKernelRing for ring ops)
    CapHandle cap;            // target capability (kNullCap for ring ops)
    uint16_t method;          // method ordinal within the interface
    uint16_t flags;           // kSqeFlag*; unknown bits are malformed_message
    uint16_t caps_in_count;   // handles read from caps_addr at submission
    uint16_t caps_out_max;    // room for handles written to caps_addr at completion
    uint64_t params_addr;     // Cap'n Proto parameter message (standard wire format)
    uint32_t params_len;      // bytes at params_addr
    uint32_t result_len_max;  // bytes available at result_addr
    uint64_t result_addr;     // where the result message is written
    uint64_t caps_addr;       // CapHandle array: in-caps, then (same array) out-caps; the
                              // kernel copies the in-caps at submission, so the array may
                              // be reused for the results
};
static_assert(sizeof(Sqe) == 64, "Sqe is ABI: 64 bytes");
static_assert(offsetof(Sqe, cap) == 16 && offsetof(Sqe, method) == 24 && offsetof(Sqe, params_addr) == 32 &&
              offsetof(Sqe, result_addr) == 48 && offsetof(Sqe, caps_addr) == 56);

inline constexpr uint16_t kSqeFlagMoveCaps = 1u << 0;  // transfer in-caps by move, not copy
inline constexpr uint16_t kSqeFlagsKnown = kSqeFlagMoveCaps;

// One completion. 32 bytes.
struct Cqe {
    uint64_t user_tag;        // the submission's tag
    int32_t status;           // Status (0 ok, negative error)
    uint32_t result_len;      // bytes written at result_addr
    uint16_t caps_out_count;  // handles written at caps_addr
    uint16_t flags;           // kCqeFlag*
    uint32_t detail;          // status detail: QuotaKind for quota_exceeded, else 0
    uint64_t value;           // small inline result (e.g. Timer.now), method-defined
};
static_assert(sizeof(Cqe) == 32, "Cqe is ABI: 32 bytes");

inline constexpr uint16_t kCqeFlagOverflowed = 1u << 0;  // went through the kernel overflow list

// The header page. Fields are grouped by writer, one cache line per writer,
// so the user's stores and the kernel's stores never share a line.
struct alignas(64) RingHeader {
    // Line 0: written by the user only.
    uint32_t sq_tail;  // next SQ index the user will fill
    uint32_t cq_head;  // next CQ index the user will read
    uint32_t user_reserved[14];

    // Line 1: written by the kernel only.
    uint32_t sq_head;            // next SQ index the kernel will consume
    uint32_t cq_tail;            // next CQ index the kernel will fill
    uint32_t flags;              // kRingFlag*
    uint32_t cq_parked;          // completions currently on the overflow list
    uint64_t cq_overflow_total;  // completions that ever went through the overflow list
    uint64_t sq_consumed_total;  // submissions consumed
    uint64_t cq_posted_total;    // completions written into the CQ
    uint32_t kernel_reserved[6];

    // Line 2: geometry, written once by the kernel at ring creation.
    uint32_t magic;       // kRingMagic
    uint32_t version;     // kRingVersion
    uint32_t sq_entries;  // power of two <= kRingMaxSqEntries
    uint32_t sq_mask;     // sq_entries - 1
    uint32_t cq_entries;  // power of two <= kRingMaxCqEntries
    uint32_t cq_mask;     // cq_entries - 1
    uint32_t sq_offset;   // byte offset of the Sqe array from the ring base
    uint32_t cq_offset;   // byte offset of the Cqe array from the ring base
    uint32_t ring_size;   // total bytes mapped at the ring base
    uint32_t geometry_reserved[7];
};
static_assert(sizeof(RingHeader) == 192);
static_assert(offsetof(RingHeader, sq_head) == 64 && offsetof(RingHeader, magic) == 128);

constexpr bool is_pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

constexpr uint32_t ring_sq_offset() { return kRingHeaderSize; }
constexpr uint32_t ring_cq_offset(uint32_t sq_entries) {
    // Page-align the CQ so the two arrays never share a page.
    return kRingHeaderSize + ((sq_entries * static_cast<uint32_t>(sizeof(Sqe)) + 4095u) & ~4095u);
}
constexpr uint32_t ring_size(uint32_t sq_entries, uint32_t cq_entries) {
    return ring_cq_offset(sq_entries) + ((cq_entries * static_cast<uint32_t>(sizeof(Cqe)) + 4095u) & ~4095u);
}
// The largest ring fits in its layout.h stride with at least one guard page.
static_assert(ring_size(kRingMaxSqEntries, kRingMaxCqEntries) + 4096 <= 0x10'0000);

// Ring operations handled by the kernel itself (cap = kNullCap).
inline constexpr uint64_t kInterfaceKernelRing = 0;
inline constexpr uint16_t kMethodNop = 0;  // completes at once with Status::ok, value = 0

}  // namespace capos::abi
