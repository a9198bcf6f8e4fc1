// sched_events.h: the kernel half of user-space placement: the event ring,
// pending decisions with per-decision deadlines, decision validation, the
// demotion rules and the per-CPU trace recorder.
//
// Model (docs/placement.md). When a thread becomes runnable, dispatch places
// it AT ONCE — with the server's standing assignment for that thread if it
// has a valid one, otherwise with the built-in default — and posts a
// `runnable` event carrying a fresh sequence number. The event is also
// entered in the PendingTable with a deadline. The server answers with a
// decision naming that sequence number; if it arrives before the deadline it
// is applied (the thread is moved if it still waits in a queue, and the
// assignment stands for its later wake-ups); if it arrives late, or answers
// something that is no longer pending, it is rejected as stale. Each CPU
// sweeps its own expired entries on its timer tick and posts a
// deadline-missed event. So a slow server delays nothing: it only loses its
// say over that one decision on that one CPU.
//
// Nothing here waits for the server. The ring is a bounded multi-producer
// single-consumer queue (posting never blocks; a full ring drops and
// counts); the pending table's per-slot locks are held for a few stores by
// kernel code only.
//
// Everything here is plain C++ (host-tested in test/unit/placement).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/atomic.h"

namespace kern {

// --- events ------------------------------------------------------------------

enum class SchedEventKind : uint8_t {
    none = 0,
    thread_created = 1,
    thread_runnable = 2,
    thread_blocked = 3,
    thread_exited = 4,
    cpu_load = 5,
    deadline_missed = 6,  // `failed_seq` was not answered in time; default placement stands
    demoted = 7,          // the server lost placement (reason code in `reason`)
};

// Why the server was demoted (or a decision rejected).
enum class SchedReason : uint8_t {
    none = 0,
    deadline_misses = 1,   // too many consecutive deadline misses
    server_exited = 2,     // the server process ended (crash, kill)
    invalid_decision = 3,  // a decision that could never be valid
    malformed = 4,         // a message that does not parse
    detached = 5,          // the server gave placement back
    replaced = 6,          // a successor attached (hot swap)
};
const char* sched_reason_name(SchedReason r);

struct SchedEvent {
    uint64_t seq = 0;         // strictly increasing; 0 = not posted
    uint64_t time_ns = 0;     // monotonic time of the event
    uint64_t thread_id = 0;   // thread events
    uint64_t process_id = 0;  // thread events
    uint64_t run_ns = 0;      // thread: CPU time so far; cpu_load: busy ns in the interval
    uint64_t aux = 0;         // cpu_load: idle ns in the interval; deadline_missed: failed seq
    uint32_t cpu = 0;         // thread: CPU it was placed on / ran on; cpu_load: the CPU
    uint32_t weight = 0;      // thread weight; cpu_load: queue weight
    uint32_t runnable = 0;    // cpu_load: threads queued
    SchedEventKind kind = SchedEventKind::none;
    SchedReason reason = SchedReason::none;  // demoted
    uint16_t pad = 0;
};

// --- decisions ----------------------------------------------------------------

enum class SchedDecisionKind : uint8_t {
    none = 0,            // acknowledge, change nothing
    assign = 1,          // run thread on `cpu` (or, if cpu_mask != 0, the least loaded CPU of the mask)
    thread_weight = 2,   // set a thread's weight
    process_weight = 3,  // set the weight of every thread of a process
    slice = 4,           // set a thread's slice (value = ns; 0 = default)
    default_slice = 5,   // set the default slice (value = ns)
};

struct SchedDecision {
    uint64_t answers_seq = 0;  // the runnable event it answers; 0 = unsolicited
    uint64_t thread_id = 0;    // assign, thread_weight, slice
    uint64_t process_id = 0;   // process_weight
    uint64_t cpu_mask = 0;     // assign to a CPU set (bit i = CPU i); 0 = use `cpu`
    uint64_t value = 0;        // weight, or slice in ns
    uint32_t cpu = 0;          // assign target
    SchedDecisionKind kind = SchedDecisionKind::none;
};

inline constexpr uint32_t kMinWeight = 1;
inline constexpr uint32_t kMaxWeight = 10000;
inline constexpr uint64_t kMinSliceNs = 1'000'000;      // one 250 Hz tick is 4 ms; shorter rounds up
inline constexpr uint64_t kMaxSliceNs = 1'000'000'000;  // 1 s

enum class DecisionCheck : uint8_t {
    ok = 0,
    stale = 1,    // answers something no longer pending (late, answered, expired): reject, no penalty
    invalid = 2,  // can never be valid (bad CPU, weight, kind, a seq never posted): reject and demote
};

struct DecisionLimits {
    uint32_t ncpus = 0;            // CPUs dispatching
    uint64_t online_mask = 0;      // bit i = CPU i online
    uint64_t last_posted_seq = 0;  // newest seq the ring handed out
};

// Checks what can be checked without kernel objects (range, kind, seq not
// from the future). `why` (if given) receives a static description.
DecisionCheck check_decision(const SchedDecision& d, const DecisionLimits& lim, const char** why);

// --- event ring ----------------------------------------------------------------

// Bounded MPSC ring (Vyukov's sequence-per-slot queue). Any CPU may post;
// exactly one consumer at a time (SchedulerControl serializes nextEvents).
// The sequence number of an event is its ring position + 1, so sequence
// numbers are strictly increasing in ring order; a post that finds the ring
// full drops the event (counted) and takes no number.
template <size_t N>
class EventRing {
    static_assert(N >= 2 && (N & (N - 1)) == 0, "ring size must be a power of two");

public:
    EventRing() {
        for (size_t i = 0; i < N; ++i) slots_[i].turn.store(i, MemOrder::relaxed);
    }
    // Posts ev (its seq is assigned); returns the seq, or 0 if the ring was full.
    uint64_t post(SchedEvent ev) {
        return post(ev, [](uint64_t) {});
    }
    // Like post(), but calls before_publish(seq) once seq is the event's and
    // before any consumer can see the event, so state that an answer to it
    // will look up (its pending deadline) already exists. It must be short:
    // the consumer waits at this slot meanwhile. Not called if the ring is full.
    template <class F>
    uint64_t post(SchedEvent ev, F&& before_publish) {
        uint64_t pos = tail_.load(MemOrder::relaxed);
        for (;;) {
            Slot& s = slots_[pos & (N - 1)];
            uint64_t turn = s.turn.load(MemOrder::acquire);
            if (turn == pos) {
                if (tail_.compare_exchange_weak(pos, pos + 1, MemOrder::relaxed)) {
                    ev.seq = pos + 1;
                    s.ev = ev;
                    before_publish(pos + 1);
                    s.turn.store(pos + 1, MemOrder::release);
                    return pos + 1;
                }
            } else if (turn < pos) {
                dropped_.fetch_add(1, MemOrder::relaxed);
                return 0;
            } else {
                pos = tail_.load(MemOrder::relaxed);
            }
        }
    }
    // Takes the oldest event; false if none is complete yet. One consumer.
    bool pop(SchedEvent& out) {
        uint64_t h = head_.load(MemOrder::relaxed);
        Slot& s = slots_[h & (N - 1)];
        if (s.turn.load(MemOrder::acquire) != h + 1) return false;
        out = s.ev;
        s.turn.store(h + N, MemOrder::release);
        head_.store(h + 1, MemOrder::relaxed);
        return true;
    }
    // Whether pop() would find an event. Safe from any CPU (a hint: the
    // shared-ring pump rechecks with it after giving up its flag).
    bool ready() const {
        uint64_t h = head_.load(MemOrder::relaxed);
        return slots_[h & (N - 1)].turn.load(MemOrder::acquire) == h + 1;
    }
    // Newest seq handed out (events up to it exist or were consumed).
    uint64_t last_seq() const { return tail_.load(MemOrder::acquire); }
    // Seq of the next event pop() returns.
    uint64_t next_seq() const { return head_.load(MemOrder::relaxed) + 1; }
    uint64_t dropped() const { return dropped_.load(MemOrder::relaxed); }
    // Consumer only: discards events up to and including seq (resume after a snapshot).
    void skip_through(uint64_t seq) {
        SchedEvent e;
        while (head_.load(MemOrder::relaxed) < seq && pop(e)) {}
    }
    size_t capacity() const { return N; }

private:
    struct Slot {
        Atomic<uint64_t> turn{0};
        SchedEvent ev;
    };
    Slot slots_[N];
    alignas(64) Atomic<uint64_t> tail_{0};
    // Written by the one consumer; atomic so ready() may look from elsewhere.
    alignas(64) Atomic<uint64_t> head_{0};
    Atomic<uint64_t> dropped_{0};
};

// --- pending decisions and deadlines ------------------------------------------------

struct PendingEntry {
    uint64_t seq = 0;  // 0 = free
    uint64_t thread_id = 0;
    uint64_t deadline_ns = 0;
    uint64_t posted_ns = 0;
    uint32_t cpu = 0;  // where the kernel placed the thread meanwhile (its sweeper)
};

enum class Resolve : uint8_t {
    claimed = 0,  // in time: the caller applies the decision
    late = 1,     // pending but past its deadline: the caller counts a miss (entry removed)
    stale = 2,    // not pending (answered, swept, overwritten, or never asked)
};

// Runnable events awaiting a decision, indexed by seq % N. A newer entry
// that lands on an occupied slot evicts the older one (reported through
// add()'s return as a miss, so the accounting stays honest).
template <size_t N>
class PendingTable {
public:
    // Enters e (e.seq != 0). Returns true if an older pending entry was evicted
    // (copied to *evicted).
    bool add(const PendingEntry& e, PendingEntry* evicted) {
        Slot& s = slots_[e.seq % N];
        lock(s);
        bool ev = s.e.seq != 0;
        if (ev && evicted != nullptr) *evicted = s.e;
        s.e = e;
        unlock(s);
        count_.fetch_add(ev ? 0 : 1, MemOrder::relaxed);
        return ev;
    }
    // Takes the entry for seq if it is still pending.
    Resolve resolve(uint64_t seq, uint64_t now_ns, PendingEntry* out) {
        if (seq == 0) return Resolve::stale;
        Slot& s = slots_[seq % N];
        lock(s);
        if (s.e.seq != seq) {
            unlock(s);
            return Resolve::stale;
        }
        *out = s.e;
        s.e.seq = 0;
        unlock(s);
        count_.fetch_sub(1, MemOrder::relaxed);
        return now_ns > out->deadline_ns ? Resolve::late : Resolve::claimed;
    }
    // Removes every expired entry whose cpu is `cpu` and calls f(entry) for
    // each (outside the slot lock). Cheap when nothing is pending.
    template <class F>
    unsigned sweep(uint32_t cpu, uint64_t now_ns, F&& f) {
        if (count_.load(MemOrder::relaxed) == 0) return 0;
        unsigned n = 0;
        for (size_t i = 0; i < N; ++i) {
            Slot& s = slots_[i];
            if (s.e.seq == 0) continue;  // racy pre-check; confirmed under the lock
            lock(s);
            if (s.e.seq != 0 && s.e.cpu == cpu && now_ns > s.e.deadline_ns) {
                PendingEntry e = s.e;
                s.e.seq = 0;
                unlock(s);
                count_.fetch_sub(1, MemOrder::relaxed);
                f(e);
                ++n;
                continue;
            }
            unlock(s);
        }
        return n;
    }
    // Drops everything (server demoted: nobody will answer).
    template <class F>
    void drain(F&& f) {
        for (size_t i = 0; i < N; ++i) {
            Slot& s = slots_[i];
            lock(s);
            PendingEntry e = s.e;
            s.e.seq = 0;
            unlock(s);
            if (e.seq != 0) {
                count_.fetch_sub(1, MemOrder::relaxed);
                f(e);
            }
        }
    }
    size_t count() const { return count_.load(MemOrder::relaxed); }

private:
    struct Slot {
        Atomic<bool> busy{false};
        PendingEntry e;
    };
    static void lock(Slot& s) {
        while (s.busy.exchange(true, MemOrder::acquire)) {
            while (s.busy.load(MemOrder::relaxed)) {}
        }
    }
    static void unlock(Slot& s) { s.busy.store(false, MemOrder::release); }
    Slot slots_[N];
    Atomic<size_t> count_{0};
};

// --- server health: demotion rules -----------------------------------------------------

// Counts what the server did and decides when it loses placement. Updated by
// whichever CPU learns the outcome; the counters are atomics, the decision
// to demote is a single compare-and-swap on `demoted_` so exactly one CPU
// performs (and logs) the demotion.
class ServerHealth {
public:
    explicit ServerHealth(uint32_t max_consecutive_misses = 8) : max_misses_(max_consecutive_misses) {}

    // A fresh server attached: clear the verdict and the streak.
    void reset(uint32_t max_consecutive_misses) {
        max_misses_ = max_consecutive_misses;
        streak_.store(0, MemOrder::relaxed);
        demoted_.store(0, MemOrder::release);
    }
    // A decision was applied in time.
    void on_applied() {
        applied_.fetch_add(1, MemOrder::relaxed);
        streak_.store(0, MemOrder::relaxed);
    }
    // A stale decision (rejected, no penalty).
    void on_stale() { stale_.fetch_add(1, MemOrder::relaxed); }
    // A deadline miss; returns true if this one demotes the server.
    bool on_miss() {
        misses_.fetch_add(1, MemOrder::relaxed);
        uint32_t s = streak_.fetch_add(1, MemOrder::relaxed) + 1;
        return s >= max_misses_ && demote(SchedReason::deadline_misses);
    }
    // Invalid or malformed command; returns true if this demotes the server.
    bool on_invalid(SchedReason r) {
        invalid_.fetch_add(1, MemOrder::relaxed);
        return demote(r);
    }
    // Demotes for reason r; true only for the caller that did it.
    bool demote(SchedReason r) {
        uint8_t expected = 0;
        return demoted_.compare_exchange_strong(expected, static_cast<uint8_t>(r), MemOrder::acq_rel);
    }
    bool demoted() const { return demoted_.load(MemOrder::acquire) != 0; }
    SchedReason reason() const { return static_cast<SchedReason>(demoted_.load(MemOrder::acquire)); }
    uint64_t applied() const { return applied_.load(MemOrder::relaxed); }
    uint64_t misses() const { return misses_.load(MemOrder::relaxed); }
    uint64_t stale() const { return stale_.load(MemOrder::relaxed); }
    uint64_t invalid() const { return invalid_.load(MemOrder::relaxed); }
    uint32_t streak() const { return streak_.load(MemOrder::relaxed); }

private:
    uint32_t max_misses_;
    Atomic<uint32_t> streak_{0};
    Atomic<uint8_t> demoted_{0};
    Atomic<uint64_t> applied_{0}, misses_{0}, stale_{0}, invalid_{0};
};

// --- trace -------------------------------------------------------------------------------

// One trace record. Events carry their event kind; the kernel's own actions
// are the other kinds.
enum class TraceKind : uint8_t {
    event = 1,      // an event posted (sub = SchedEventKind)
    decision = 2,   // a server decision received (sub = SchedDecisionKind, b = DecisionCheck/Resolve outcome)
    placed = 3,     // the kernel placed a thread (sub = 0 default, 1 standing assignment, 2 decision)
    switch_in = 4,  // a thread started running on the CPU (thread 0 = idle)
    attach = 5,     // a server attached: seq = first event it sees, a = epoch, b = its process id
    ticks = 6,      // a thread exited: a = timer ticks it was running for (tick-sampled CPU time), b = process id
};

struct TraceRecord {
    uint64_t tsc = 0;
    uint64_t seq = 0;  // event seq, or the seq a decision answers
    uint64_t thread_id = 0;
    uint64_t a = 0;    // event: process id / decision: value / placed: cpu
    uint64_t b = 0;    // event: weight / decision: outcome / placed: -
    uint32_t cpu = 0;  // recording CPU
    uint32_t c = 0;    // event: cpu field / decision: target cpu
    TraceKind kind = TraceKind::event;
    uint8_t sub = 0;
    uint16_t pad = 0;
};

// A per-CPU trace buffer: one writer (its CPU, interrupts off), read when
// dumped. Keeps the first `N` records and counts the rest (a trace of the
// start of a run is easier to reason about than a torn tail).
template <size_t N>
class TraceBuffer {
public:
    void record(const TraceRecord& r) {
        if (n_ < N) buf_[n_++].r = r;
        else ++lost_;
    }
    size_t size() const { return n_; }
    const TraceRecord& at(size_t i) const { return buf_[i].r; }
    uint64_t lost() const { return lost_; }
    void clear() {
        n_ = 0;
        lost_ = 0;
    }

private:
    // Slots are written before they are read (record, then at(i < n_)), so
    // they need no initializer; TraceRecord's defaults (kind = event) would
    // otherwise put the whole buffer in the kernel's .data instead of .bss.
    union Slot {
        constexpr Slot() {}
        TraceRecord r;
    };
    Slot buf_[N];
    size_t n_ = 0;
    uint64_t lost_ = 0;
};

// Formats r as one trace line (no newline) into buf; returns the length.
// Format (parsed by harness/replay and harness/capos/trace.py):
//   "T <cpu> <tsc> <kind> <sub> <seq> <tid> <a> <b> <c>"  (kind: E D P S A K)
size_t format_trace(const TraceRecord& r, char* buf, size_t cap);
// Parses a line produced by format_trace (after the "T " prefix is found);
// false if it is not one.
bool parse_trace(const char* line, TraceRecord* out);

// Converts a slice in ns to timer ticks of `tick_ns`, at least one tick.
uint32_t slice_ns_to_ticks(uint64_t ns, uint64_t tick_ns);

}  // namespace kern
