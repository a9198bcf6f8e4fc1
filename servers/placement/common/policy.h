// policy.h: the interface every placement policy implements: plain C++, no syscalls.
//
// A policy is a deterministic function of the event stream: it sees one
// scheduling event at a time (in sequence order) and appends decisions to a
// Decisions buffer. It never reads a clock or calls the kernel, so the very
// same source runs inside the policy server (freestanding, libcap feeds it
// events from SchedulerControl) and on the host (the replay tool, the
// simulator and the unit tests feed it recorded or simulated events).
//
// The numeric values of EventKind and DecisionKind equal the kernel's
// SchedEventKind / SchedDecisionKind and the trace format's sub codes.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy_args.h"

namespace placement {

inline constexpr uint32_t kMaxCpus = 64;
inline constexpr uint32_t kMaxThreads = 256;  // threads one policy tracks
inline constexpr uint32_t kNoCpu = ~0u;
inline constexpr uint64_t kTickNs = 4'000'000;  // the kernel's 250 Hz tick

// What the kernel posts, and when (microkernel/sched/server/events.cpp, observer.cpp):
//
//   thread_created   the first time the kernel sees a user thread become
//                    runnable (its start, or the first wake-up of a thread
//                    started before the server attached). Always followed
//                    by that thread's thread_runnable with the same cpu
//                    and the next seq: created says "a new thread", the
//                    runnable after it asks for its CPU.
//   thread_runnable  the thread was queued on `cpu` (by the kernel's default
//                    placement or the standing assignment a policy left)
//                    and waits for an answer (answers_seq = seq) within the
//                    deadline. Posted by start and by every wake-up, never
//                    by preemption: a preempted thread stays runnable
//                    without a new event (if its standing assignment names
//                    another CPU, it moves there at that preemption).
//   thread_blocked   the thread left its CPU to wait (run_ns = CPU time so far).
//   thread_exited    the thread ended; its id is not reused.
//   cpu_load         every SchedulerControl::kLoadEveryTicks ticks (100 ms)
//                    per CPU, and at once (at most once a tick) when a CPU
//                    goes idle while another CPU has two or more runnable
//                    (then runnable = 0). cpu, runnable (queued + running),
//                    run_ns = busy ns and aux = idle ns since boot; weight
//                    is 0 (CPUs have no weight: setCpuWeights was removed).
//   deadline_missed  the answer to seq `aux` did not arrive in time (swept on
//                    `cpu`'s tick); thread_id and process_id are 0: look the
//                    thread up by the seq if it matters. The thread stays
//                    where the kernel put it.
//   demoted          the kernel took placement back (aux: reason); no more
//                    events follow for this attach epoch.
//
// Weight carried by thread events: the weight a policy's thread_weight or
// process_weight decision gave the thread when there was one, else the
// thread's own run-queue weight: kDefaultWeight (1024,
// microkernel/sched/run_queue.h) unless the spawn's placementWeight or
// Thread.setWeight set another. Never 0.
enum class EventKind : uint8_t {
    none = 0,
    thread_created = 1,
    thread_runnable = 2,  // needs a CPU: answer it (answers_seq = seq) before the deadline
    thread_blocked = 3,
    thread_exited = 4,
    cpu_load = 5,         // cpu, runnable (queued + running), run_ns = busy ns, aux = idle ns
    deadline_missed = 6,  // aux = the seq whose answer came too late (no thread id)
    demoted = 7,          // the kernel took placement back
};

// The weight of a thread nobody gave one (the kernel's kDefaultWeight).
inline constexpr uint32_t kDefaultWeight = 1024;

struct Event {
    uint64_t seq = 0;
    uint64_t time_ns = 0;
    uint64_t thread_id = 0;
    uint64_t process_id = 0;
    uint64_t run_ns = 0;
    uint64_t aux = 0;
    uint32_t cpu = 0;       // where the kernel placed / ran the thread; the CPU of cpu_load
    uint32_t weight = 0;    // thread events: the thread's weight (see above); cpu_load: 0
    uint32_t runnable = 0;  // cpu_load
    EventKind kind = EventKind::none;
};

enum class DecisionKind : uint8_t {
    none = 0,
    assign = 1,          // thread_id -> cpu (or cpu_mask); value = slice ns (0 = default)
    thread_weight = 2,   // value = weight
    process_weight = 3,  // value = weight
    slice = 4,           // value = slice ns
    default_slice = 5,   // value = slice ns
};

struct Decision {
    uint64_t answers_seq = 0;  // the runnable event answered; 0 = unsolicited
    uint64_t thread_id = 0;
    uint64_t process_id = 0;
    uint64_t cpu_mask = 0;
    uint64_t value = 0;
    uint32_t cpu = 0;
    DecisionKind kind = DecisionKind::none;

    bool operator==(const Decision& o) const {
        return answers_seq == o.answers_seq && thread_id == o.thread_id && process_id == o.process_id &&
               cpu_mask == o.cpu_mask && value == o.value && cpu == o.cpu && kind == o.kind;
    }
};

// A bounded decision buffer (no heap).
struct Decisions {
    static constexpr size_t kCap = 128;
    Decision d[kCap];
    size_t n = 0;
    uint64_t overflow = 0;
    bool push(const Decision& x) {
        if (n == kCap) {
            ++overflow;
            return false;
        }
        d[n++] = x;
        return true;
    }
    void clear() { n = 0; }
};

inline Decision assign(uint64_t seq, uint64_t tid, uint32_t cpu, uint64_t slice_ns = 0) {
    Decision x;
    x.answers_seq = seq;
    x.thread_id = tid;
    x.cpu = cpu;
    x.value = slice_ns;
    x.kind = DecisionKind::assign;
    return x;
}

// Where one thread is, as a policy hands it to its successor (hot swap).
// Mirrors schema ThreadPlacement.
struct ThreadPlacement {
    uint64_t thread_id = 0;
    uint64_t process_id = 0;
    uint32_t cpu = kNoCpu;
    uint32_t weight = 0;
    uint64_t slice_ns = 0;
    uint64_t vruntime_ns = 0;
    bool runnable = false;   // runnable when last heard of (schema ThreadPlacement.runnable)
    uint64_t moved_seq = 0;  // policy-private: event seq of its last move
};

// Mirrors schema PlacementSnapshot (the server converts; see snapshot.h).
struct PolicyState {
    char policy[32] = {};
    uint32_t version = 0;
    uint64_t last_seq = 0;
    uint64_t default_slice_ns = 0;
    uint32_t ncpus = 0;
    uint32_t nthreads = 0;
    ThreadPlacement threads[kMaxThreads];
    uint8_t opaque[256] = {};
    uint32_t opaque_len = 0;
};

class Policy {
public:
    virtual const char* name() const = 0;
    virtual uint32_t version() const = 0;
    // Lifecycle, in this order, each step at most once:
    //   configure(args)    before start; the policy's own arguments (server
    //                      words it does not know itself, or a spec's
    //                      `name:key=value,...`). All or nothing.
    //   import_state(s)    hot-swap successors only, before start: adopt the
    //                      predecessor's state (its ncpus included).
    //   start(ncpus)       once, with the CPU count the policy may place on
    //                      (the attach's count, capped by the server's
    //                      `cpus=`), for successors too: after import_state,
    //                      so a successor started with `cpus=N` places on N.
    //   on_event(e, out)   for every event from then on, in seq order.
    //   export_state(s)    when a successor asks; the policy decides no more.
    // Returns false and says why in `err` for an unknown key or a bad value,
    // changing nothing. The default takes no arguments at all.
    virtual bool configure(const KeyValues& args, ArgError& err) {
        if (args.n == 0) return true;
        err.add(name()).add(" takes no arguments (got '").add_pair(args.kv[0]).add("')");
        return false;
    }
    virtual void start(uint32_t ncpus) = 0;
    // One event in; decisions appended to out.
    virtual void on_event(const Event& e, Decisions& out) = 0;
    // Full state for a successor; the policy stops deciding after this.
    virtual void export_state(PolicyState& s) const = 0;
    // Adopts a predecessor's state (any policy's: at least the thread table
    // is understood). Returns false if it is unusable (then nothing changed).
    virtual bool import_state(const PolicyState& s) = 0;

protected:
    // Not virtual and not public: policies are never deleted through a base
    // pointer (the server has no heap for them), so no deleting destructor.
    ~Policy() = default;
};

// Copies a C string into a fixed buffer (no libc in the server).
inline void copy_name(char* dst, size_t cap, const char* src) {
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < cap; ++i) dst[i] = src[i];
    dst[i] = '\0';
}
inline bool name_equals(const char* a, const char* b) {
    size_t i = 0;
    for (; a[i] != '\0' && b[i] != '\0'; ++i)
        if (a[i] != b[i]) return false;
    return a[i] == b[i];
}

// A table of threads the common bookkeeping of most policies needs.
struct ThreadTable {
    ThreadPlacement t[kMaxThreads];
    uint32_t n = 0;
    ThreadPlacement* find(uint64_t tid) {
        for (uint32_t i = 0; i < n; ++i)
            if (t[i].thread_id == tid) return &t[i];
        return nullptr;
    }
    // Finds or adds (nullptr when full).
    ThreadPlacement* get(uint64_t tid, uint64_t pid) {
        if (ThreadPlacement* p = find(tid)) return p;
        if (n == kMaxThreads) return nullptr;
        ThreadPlacement& x = t[n++];
        x = ThreadPlacement{};
        x.thread_id = tid;
        x.process_id = pid;
        return &x;
    }
    void remove(uint64_t tid) {
        for (uint32_t i = 0; i < n; ++i)
            if (t[i].thread_id == tid) {
                // Keep table order (determinism: replay must see the same order).
                for (uint32_t k = i + 1; k < n; ++k) t[k - 1] = t[k];
                --n;
                return;
            }
    }
    // A thread leaving its CPU: thread_exited forgets it, thread_blocked
    // marks it not runnable. False (and nothing changed) for other events.
    bool note_left(const Event& e) {
        if (e.kind == EventKind::thread_exited) {
            remove(e.thread_id);
            return true;
        }
        if (e.kind != EventKind::thread_blocked) return false;
        if (ThreadPlacement* p = find(e.thread_id)) p->runnable = false;
        return true;
    }
    // A thread_runnable's thread placed on `cpu`: recorded with its weight,
    // runnable. Nullptr when the table is full (placed, but not handed over).
    ThreadPlacement* note_placed(const Event& e, uint32_t cpu) {
        ThreadPlacement* p = get(e.thread_id, e.process_id);
        if (p != nullptr) {
            p->cpu = cpu;
            p->weight = e.weight;
            p->runnable = true;
        }
        return p;
    }
};

// The snapshot part every policy with a ThreadTable hands its successor:
// name, version, last_seq, ncpus and the thread table (opaque left empty).
inline void export_table(const Policy& policy, const ThreadTable& table, uint32_t ncpus, uint64_t last_seq,
                         PolicyState& s) {
    copy_name(s.policy, sizeof s.policy, policy.name());
    s.version = policy.version();
    s.last_seq = last_seq;
    s.ncpus = ncpus;
    s.nthreads = table.n;
    for (uint32_t i = 0; i < table.n; ++i) s.threads[i] = table.t[i];
}

// Adopts any predecessor's thread table, CPU count and last seq; false if
// the snapshot is unusable (no CPUs, too many of either), changing nothing.
inline bool import_table(const PolicyState& s, ThreadTable& table, uint32_t& ncpus, uint64_t& last_seq) {
    if (s.ncpus == 0 || s.ncpus > kMaxCpus || s.nthreads > kMaxThreads) return false;
    ncpus = s.ncpus;
    table.n = s.nthreads;
    for (uint32_t i = 0; i < s.nthreads; ++i) table.t[i] = s.threads[i];
    last_seq = s.last_seq;
    return true;
}

}  // namespace placement
