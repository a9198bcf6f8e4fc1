// process.h: the Process kernel object (an address space, a capability table,
// quotas, user threads) and UserThread, the kernel side of one user thread
// (its kernel Thread, its capability ring, TLS and stack).
//
// Lifetime. A Process is created by the boot spawner (boot/init_process),
// loaded from an ELF boot module, and started with one thread. It ends when
// Process.exit is called, a thread faults, ProcessHandle.kill is called, its
// last thread exits, or the last capability naming it in another process's
// table (or in flight in a message) is emptied: a process somebody held and
// nobody holds any more cannot be waited for or killed, so the reaper ends
// it (a spawner that died before handing a child on leaves no orphan; the
// kernel-started init, never held, is not affected). Ending marks every
// thread to exit (threads blocked in cap_enter are woken; threads in user
// mode stop at their next kernel entry or timer tick). Each exiting thread hands itself to the reaper (a kernel
// thread), which joins the kernel thread, unmaps and frees its ring and TLS,
// and, after the last thread, tears the process down: capability table
// cleared, every private frame freed, MemoryObject mappings released, address
// space destroyed, ProcessHandle waiters completed. The Process object itself
// stays (as a zombie holding only its exit status) while handles name it.
//
// Quotas (ProcessQuotas) are checked in decode steps before anything
// changes: frames (ELF image, stacks, TLS, rings, MemoryObjects; page tables
// are not charged), capability slots (the CapTable quota), threads, and
// outstanding calls per thread (ring entries consumed but not completed).
//
// Locking: lock_ (LockRank::process) guards the thread table, the mapping
// table and the exit state; the capability table is guarded by the global
// cap-tree lock (cap_lock()); counters are atomics.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/ring.h"
#include "capos/abi/start.h"
#include "capos/abi/status.h"
#include "cpu/spinlock.h"
#include "lib/elf.h"
#include "lib/ref.h"
#include "lib/result.h"
#include "ipc/op_queue.h"
#include "ipc/ring.h"
#include "sched/run_queue.h"
#include "cap/cap_table.h"

namespace kern {

class AddressSpace;
class Thread;
class MemoryObject;
class UserThread;
struct AsyncOp;

// The one lock of the capability derivation tree (every CapTable operation).
SpinLockIrq& cap_lock();

struct ProcessQuotas {
    uint64_t frames = 8192;  // 32 MiB
    uint32_t cap_slots = 256;
    uint32_t threads = 16;
    uint32_t outstanding_calls = 64;  // per thread
};

enum class ExitReason : uint16_t { exited = 0, killed = 1, faulted = 2, quota = 3 };

inline constexpr uint32_t kMaxUserThreads = 64;  // per process (layout.h allows 1024)
inline constexpr uint32_t kMaxMappings = 128;    // MemoryObject mappings per process
inline constexpr uint32_t kRingSqEntries = 128;
inline constexpr uint32_t kRingCqEntries = 256;
inline constexpr uint32_t kRingOverflow = 64;  // parked completions per thread
inline constexpr uint32_t kMaxParams = 8192;   // bytes of one parameter message
inline constexpr uint32_t kMaxResult = 8192;   // bytes of one synchronous result
inline constexpr uint32_t kMaxCallCaps = 16;   // capabilities in or out of one call

struct Mapping {
    uint64_t va = 0;  // 0: free entry
    uint64_t pages = 0;
    MemoryObject* mo = nullptr;  // owns one reference from reservation until the entry is cleared
    bool ready = false;          // false while map() installs its PTEs outside the lock: unmap refuses it (busy)
};

class Process final : public KernelObject {
public:
    // An empty process: address space, capability table, quotas. Errors:
    // out_of_memory, capacity (no PCID).
    static Result<Ref<Process>> create(const char* name, const ProcessQuotas& q);

    // Loads an ELF image (validated by elf_plan): copies file bytes, zeroes
    // bss, maps each page user with W^X permissions, remembers the TLS
    // image, maps the main stack and writes the StartBlock (with `args`
    // and `named` caps) on its top page. Errors: those of elf_plan, quota
    // (frames), out_of_memory.
    [[nodiscard]] Result<void> load(const uint8_t* image, size_t size, const char* args, size_t args_len,
                                    const capos::abi::NamedCap* named, uint32_t named_count);
    // Starts the main thread at the ELF entry. wellknown[] is written into
    // the StartBlock before the thread runs; its StartCap::thread entry is
    // filled here (a Thread capability to the main thread itself).
    [[nodiscard]] Result<void> start(CapHandle* wellknown);

    // Creates a thread of this process (Process.createThread): rip = entry,
    // rsp = stack_top, rdi = arg. Errors: quota (threads, frames),
    // out_of_memory, invalid_argument (entry/stack not user addresses).
    [[nodiscard]] Result<Ref<UserThread>> create_thread(uint64_t entry, uint64_t stack_top, uint64_t arg,
                                                        bool start_now = true);

    // Ends the process (first caller's code/reason win). Any context but
    // with no lock held.
    void terminate(int64_t code, ExitReason reason);

    // Frames quota.
    [[nodiscard]] Result<void> charge_frames(uint64_t n);
    void uncharge_frames(uint64_t n);
    uint64_t frames_used() const { return __atomic_load_n(&frames_used_, __ATOMIC_RELAXED); }

    // MemoryObject mappings (Process.map / unmap). map takes a reference
    // to mo. Errors: invalid_argument (misaligned, W+X, outside the heap
    // range, overlapping), capacity (mapping table full), out_of_memory.
    [[nodiscard]] Result<void> map(MemoryObject* mo, uint64_t va, uint64_t offset, uint64_t length, bool writable,
                                   bool executable);
    // Removes the mappings inside [va, va+length); a mapping only partly
    // inside is an invalid_argument. Shoots down the TLBs of every CPU
    // that ran the address space.
    [[nodiscard]] Result<void> unmap(uint64_t va, uint64_t length);

    CapTable& caps() { return caps_; }
    // True once teardown started clearing the table (read under cap_lock()).
    bool caps_closed() const { return caps_closed_; }
    AddressSpace* address_space() const { return as_; }
    const ProcessQuotas& quotas() const { return quotas_; }
    // Run-queue weight of every thread created from now on (the spawn's
    // placementWeight; set by the spawner before the first thread starts).
    void set_thread_weight(uint32_t w) { thread_weight_ = w; }
    uint64_t id() const { return id_; }
    const char* name() const { return name_; }
    bool exiting() const { return __atomic_load_n(&exiting_, __ATOMIC_ACQUIRE); }
    bool dead() const { return __atomic_load_n(&dead_, __ATOMIC_ACQUIRE); }
    int64_t exit_code() const { return exit_code_; }
    ExitReason exit_reason() const { return exit_reason_; }
    uint32_t live_threads() const { return __atomic_load_n(&live_threads_, __ATOMIC_ACQUIRE); }
    // Thread slots in use (reserved, live, or ended and not yet reaped).
    uint32_t thread_slots();

    // ProcessHandle.wait: completes op when the process is dead (at once if
    // it already is). Returns false if it completed at once.
    bool add_waiter(AsyncOp* op);

    // Threads now alive or being created.
    uint32_t thread_count() {
        LockGuard<SpinLockIrq> g(lock_);
        return live_threads_ + creating_;
    }
    // Endpoints this process serves: on a list that holds no reference (an
    // endpoint whose last reference goes leaves it; object/endpoint.h), shut
    // down (pending calls fail with peer_dead) at teardown. Errors: busy
    // (the process is exiting).
    [[nodiscard]] Result<void> own_endpoint(class Endpoint* ep);
    // The list's head (Endpoint's owner-list lock).
    class Endpoint*& served_endpoints() {
        return endpoints_;
    }

    // --- internal (process.cpp, reaper.cpp) ------------------------------------
    OpQueue& waiters_for_unlink() { return waiters_; }
    void thread_gone(UserThread& t);  // reaper: t is joined and its memory freed
    void teardown();                  // reaper: after the last thread
    QueueLink<Process> orphan_link_;  // the reaper's orphan list: last outside handle dropped (reaper lock)
    bool orphan_queued_ = false;      // reaper lock

    SpinLockIrq lock_{LockRank::process, "process"};

private:
    Process(CapSlot* storage, uint32_t capacity)
        : KernelObject(ObjectType::process), slots_(storage), caps_(storage, capacity, capacity) {
        caps_.set_owner(this);
    }
    void on_last_ref() override;
    [[nodiscard]] Result<void> map_user_pages(uint64_t va, uint64_t pages, uint64_t flags, const uint8_t* src,
                                              uint64_t src_len, uint64_t src_skip);
    void complete_waiters();

    char name_[32] = {};
    uint64_t id_ = 0;
    AddressSpace* as_ = nullptr;
    CapSlot* slots_ = nullptr;
    CapTable caps_;
    ProcessQuotas quotas_;
    uint64_t frames_used_ = 0;
    uint32_t live_threads_ = 0;                                          // started and not exited
    uint32_t thread_weight_ = kDefaultWeight;                            // ThreadOptions::weight of its threads
    uint32_t creating_ CAPOS_GUARDED_BY(lock_) = 0;                      // being created
    UserThread* threads_[kMaxUserThreads] CAPOS_GUARDED_BY(lock_) = {};  // each holds a reference
    Mapping mappings_[kMaxMappings] CAPOS_GUARDED_BY(lock_);
    bool exiting_ = false;
    bool dead_ = false;
    bool torn_down_ = false;
    bool caps_closed_ = false;  // cap_lock(): table being cleared, no more inserts by transfer
    int64_t exit_code_ = 0;
    ExitReason exit_reason_ = ExitReason::exited;
    OpQueue waiters_ CAPOS_GUARDED_BY(lock_);
    class Endpoint* endpoints_ = nullptr;  // Endpoint's owner-list lock: endpoints served, not counted
    // Image data the threads need.
    uint64_t entry_ = 0;
    const uint8_t* tls_image_ = nullptr;  // direct-map view of the boot module (never freed)
    ElfTls tls_{};
    uint64_t start_block_va_ = 0;
    uint64_t start_block_pa_ = 0;
    uint64_t main_stack_top_ = 0;

    friend class UserThread;
};

// The kernel side of one user thread.
class UserThread final : public KernelObject {
public:
    Process& process() const { return *process_; }
    uint32_t index() const { return index_; }
    KernelRing& ring() { return ring_; }
    Thread* kthread() const { return kthread_; }
    uint64_t kernel_stack_top() const { return kstack_top_; }
    uint64_t fs_base() const { return fs_base_; }
    bool kill_requested() const { return __atomic_load_n(&kill_, __ATOMIC_ACQUIRE); }
    uint64_t id() const { return id_; }

    // Asks the thread to exit at its next kernel boundary; wakes it if it
    // waits in cap_enter.
    void request_kill();
    // Thread.join: completes op when the thread has exited (at once if it
    // has). Returns false if it completed at once.
    bool add_joiner(AsyncOp* op);

    // Scratch buffers for the submission being dispatched (owner only).
    uint8_t* params_buf() { return params_buf_; }
    uint8_t* result_buf() { return result_buf_; }

    // --- waiting and completion (ipc/ring_dispatch.cpp) -------------------
    SpinLockIrq wait_lock_{LockRank::user_wait, "user_wait"};
    OwnerOpQueue done_;                                  // wait_lock_: completed, not yet posted (peeked unlocked)
    OwnerOpQueue pending_ CAPOS_GUARDED_BY(wait_lock_);  // started, not completed
    uint32_t pending_count_ CAPOS_GUARDED_BY(wait_lock_) = 0;
    bool waiting_ = false;  // wait_lock_: blocked in cap_enter
    bool dead_ = false;     // wait_lock_: exiting; no more wake-ups

    // Ends the calling user thread (this one). Never returns.
    [[noreturn]] void exit_current(int64_t code, ExitReason reason);

    // --- internal ----------------------------------------------------------
    void release_memory();  // reaper: ring, TLS (after the kernel thread is joined)
    bool exited_ = false;   // process lock_
    int64_t exit_code_ = 0;
    ExitReason exit_reason_ = ExitReason::exited;
    OpQueue joiners_;                  // process lock_
    QueueLink<UserThread> reap_link_;  // the reaper's list of ended threads (reaper lock)

private:
    UserThread() : KernelObject(ObjectType::thread) {}
    void on_last_ref() override;
    static void kernel_entry(void* arg);

    Process* process_ = nullptr;  // holds a reference
    uint32_t index_ = 0;
    uint64_t id_ = 0;
    Thread* kthread_ = nullptr;
    uint64_t kstack_top_ = 0;
    uint64_t fs_base_ = 0;
    uint64_t entry_ = 0, stack_top_ = 0, arg0_ = 0, arg1_ = 0;
    bool kill_ = false;
    KernelRing ring_;
    uint64_t ring_pa_ = 0;
    uint32_t ring_pages_ = 0;
    uint64_t tls_pages_ = 0;
    capos::abi::Cqe overflow_[kRingOverflow];
    uint8_t* params_buf_ = nullptr;
    uint8_t* result_buf_ = nullptr;

    friend class Process;
};

// The user thread running on this CPU, or nullptr for a kernel thread.
UserThread* current_user_thread();

// The reaper's lists (IntrusiveQueue's Link).
struct OrphanLink {
    static QueueLink<Process>& of(Process& p) { return p.orphan_link_; }
};
struct ReapLink {
    static QueueLink<UserThread>& of(UserThread& t) { return t.reap_link_; }
};

// Starts the reaper kernel thread (once, after sched::init). reaper.cpp.
void reaper_init();
// Hands an ended user thread to the reaper (exit path; any context).
void reap(UserThread* t);

// Free frames in the system (for the release-everything tests).
uint64_t free_frame_count();
// Process objects alive (running or zombie).
uint64_t live_process_count();

}  // namespace kern
