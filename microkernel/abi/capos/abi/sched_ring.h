// sched_ring.h: the placement rings' shared layout (kernel <-> placement server).
//
// A placement server may pass a MemoryObject of kSchedRingPages pages to
// SchedulerControl.attach (params field `rings`). Page 0 holds the header,
// page 1 the event ring (kernel produces, server consumes), page 2 the
// decision ring (server produces, kernel consumes). Each ring is
// single-producer single-consumer with free-running 64-bit indices: entry i
// lives at slot i % kSchedRingEntries; a producer writes the entry, then
// stores its tail with release; a consumer loads the tail with acquire,
// copies the entry, then stores its head with release.
//
// Each index word has exactly one writer, on its own cache line. The kernel
// never trusts a word the server can write: it keeps its own copies of the
// indices it produces and consumes, and bounds-checks every index and field
// it reads (docs/placement.md, "Shared rings").
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace capos::abi {

inline constexpr uint32_t kSchedRingMagic = 0x53524e47u;  // "SRNG"
inline constexpr uint32_t kSchedRingVersion = 1;
inline constexpr uint32_t kSchedRingPages = 3;
inline constexpr uint32_t kSchedRingEntries = 64;  // per ring: one page of 64-byte entries

// Header states (`state`, kernel-written).
inline constexpr uint32_t kSchedRingOpen = 1;    // attached: the kernel produces and consumes
inline constexpr uint32_t kSchedRingClosed = 2;  // detached, demoted or replaced: the server should exit

struct SchedRingHeader {
    // Line 0, kernel-written at attach (and `state` when the server loses placement).
    uint32_t magic;
    uint32_t version;
    uint32_t entries;  // kSchedRingEntries
    uint32_t state;    // kSchedRingOpen / kSchedRingClosed
    uint64_t epoch;    // the attach epoch these rings belong to
    uint64_t pad0[5];
    // Line 1, kernel-written: events published, and events lost.
    uint64_t ev_tail;
    uint64_t ev_dropped;   // events the kernel could not post (its own buffer full): placed by default
    uint64_t dec_refused;  // decision entries refused (bad index or field): counted, never applied
    uint64_t pad1[5];
    // Line 2, server-written: events consumed.
    uint64_t ev_head;
    uint64_t pad2[7];
    // Line 3, server-written: decisions published.
    uint64_t dec_tail;
    uint64_t pad3[7];
    // Line 4, kernel-written: decisions consumed.
    uint64_t dec_head;
    uint64_t pad4[7];
};
static_assert(sizeof(SchedRingHeader) == 5 * 64, "header: five cache lines");
static_assert(offsetof(SchedRingHeader, ev_tail) == 64, "ev_tail on line 1");
static_assert(offsetof(SchedRingHeader, ev_head) == 128, "ev_head on line 2");
static_assert(offsetof(SchedRingHeader, dec_tail) == 192, "dec_tail on line 3");
static_assert(offsetof(SchedRingHeader, dec_head) == 256, "dec_head on line 4");

// One event (kinds and fields as kern::SchedEvent, microkernel/sched/sched_events.h).
struct SchedRingEvent {
    uint64_t seq;
    uint64_t time_ns;
    uint64_t thread_id;
    uint64_t process_id;
    uint64_t run_ns;
    uint64_t aux;  // cpu_load: idle ns; deadline_missed: the failed seq
    uint32_t cpu;
    uint32_t weight;
    uint32_t runnable;
    uint8_t kind;    // kern::SchedEventKind
    uint8_t reason;  // kern::SchedReason (demoted)
    uint16_t pad;
};
static_assert(sizeof(SchedRingEvent) == 64, "event entry: 64 bytes");
static_assert(offsetof(SchedRingEvent, cpu) == 48 && offsetof(SchedRingEvent, kind) == 60, "event layout");

// One decision (kinds and fields as kern::SchedDecision).
struct SchedRingDecision {
    uint64_t answers_seq;  // 0 = unsolicited
    uint64_t thread_id;
    uint64_t process_id;
    uint64_t cpu_mask;
    uint64_t value;  // weight, or slice in ns
    uint32_t cpu;
    uint8_t kind;  // kern::SchedDecisionKind
    uint8_t pad0[3];
    uint64_t epoch;  // the attach epoch it was decided under
    uint64_t pad1;
};
static_assert(sizeof(SchedRingDecision) == 64, "decision entry: 64 bytes");
static_assert(offsetof(SchedRingDecision, cpu) == 40 && offsetof(SchedRingDecision, kind) == 44 &&
                  offsetof(SchedRingDecision, epoch) == 48,
              "decision layout");
static_assert(kSchedRingEntries * sizeof(SchedRingEvent) == 4096, "event ring: one page");
static_assert(kSchedRingEntries * sizeof(SchedRingDecision) == 4096, "decision ring: one page");

}  // namespace capos::abi
