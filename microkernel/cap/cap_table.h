// cap_table.h - per-process capability tables, the derivation tree, revoke and transfer.
//
// A CapTable is a fixed array of slots (the process's slot quota is at most
// its capacity). A slot holds a counted reference to a KernelObject, a rights
// mask and a generation. User space names a slot by a CapHandle (slot index +
// generation, capos/abi/cap.h); every way a slot is emptied (drop, move out,
// revoke, table teardown) bumps its generation, so old handles fail with
// Error::stale_slot. A generation is never reissued: a slot whose generation
// would wrap is retired instead of reused.
//
// Derivation tree (for revoke). Every copy, derive or transfer-by-copy makes
// the new slot a child of its source, also across tables. Each slot has two
// intrusive circular lists: `sibling` (its place in its parent's child list)
// and `children` (the sentinel of its own child list). No parent pointers:
//  - drop/teardown of a slot splices its children, in O(1), into its own place
//    in the parent's list, so they stay descendants of every ancestor and a
//    later revoke of an ancestor still reaches them;
//  - revoke(X) repeatedly deletes X's first child with that same splice, so
//    the subtree is flattened and deleted in O(size) total with no recursion
//    and no per-call state: revoke is resumable with a budget.
// Revoke of X removes every capability derived from X (transitively, in any
// table) and keeps X itself. It is bounded work per call: `budget` slots at
// most, returning whether it finished; the caller loops with a preemption
// point between calls (seL4's preemptionPoint pattern). Alternative designs
// considered: per-node revocation epochs checked on lookup (O(1) revoke but
// O(depth) lookup and revoked objects stay referenced until each holder
// touches its slot) — lookup is the hot path, so the tree was chosen.
//
// Locking: the derivation tree links slots of different tables, so every
// operation here that creates, deletes or moves a slot must run under the one
// global capability-tree lock (LockRank cap_tree); lookup() touches only the
// caller's own slot and needs the lock too while revokes can run on other
// CPUs. The classes themselves do no locking.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/cap.h"
#include "lib/ref.h"
#include "lib/result.h"

namespace kern {

using capos::abi::CapHandle;
using capos::abi::Rights;

enum class ObjectType : uint16_t {
    none = 0,
    console,
    timer,
    park,
    thread,
    process,
    endpoint,
    memory_object,
    scheduler_control,
    test,             // host tests only
    boot_spawner,     // kernel authority to start processes from boot modules (boot/init_process)
    fault_injection,  // per-thread allocation fault injection, fault_inject=on boots only (object/fault_injection)
};

// Base of every object a capability can name. Reference counted: each slot
// holding the object owns one reference.
class KernelObject : public RefCounted {
public:
    ObjectType type() const { return type_; }
    // Slots naming this process in tables other than its own (cap-tree lock).
    // Counted for processes only: a process whose last outside handle goes is
    // ended (see set_last_foreign_handle_hook), so a child whose parent died
    // before handing its handle on does not run on with nobody able to kill it.
    uint32_t foreign_handles() const { return foreign_handles_; }

protected:
    explicit KernelObject(ObjectType t) : type_(t) {}
    ~KernelObject() = default;

private:
    friend class CapTable;  // keeps foreign_handles_
    ObjectType type_;
    uint32_t foreign_handles_ = 0;
};

// Called, under the cap-tree lock, when the last slot naming a process in a
// table other than the process's own is emptied (drop, revoke, a move into
// its own table, the holder's teardown). The count only starts when a first
// outside slot is made, so a process nobody ever held (init) never sees it.
// The hook runs under the cap-tree lock: it may take only locks ranked above
// it, and must add a reference to keep the object. Null: nothing is done.
using LastForeignHandleHook = void (*)(KernelObject* object);
void set_last_foreign_handle_hook(LastForeignHandleHook hook);

// Intrusive circular doubly-linked list node.
struct CapLink {
    CapLink* prev = this;
    CapLink* next = this;
    bool empty() const { return next == this; }
};

class CapTable;

// One slot. Slots never move in memory (the tree links point into them).
struct CapSlot {
    KernelObject* object = nullptr;  // null: free slot
    Rights rights = 0;
    uint32_t generation = 1;    // 0 is never issued (null handle)
    CapLink sibling;            // membership in the parent's child list
    CapLink children;           // sentinel of this slot's child list
    CapTable* table = nullptr;  // owning table (for cross-table revoke)
    uint32_t next_free = 0;     // free-list link (index), valid while free
};

// A borrowed view of a looked-up capability; valid while the cap-tree lock is held.
struct CapRef {
    KernelObject* object;
    Rights rights;
};

struct RevokeProgress {
    uint32_t deleted;  // slots deleted by this call
    bool done;         // no descendants remain
};

class CapTable {
public:
    static constexpr uint32_t kMaxCapacity = 1u << 24;

    // `storage` holds `capacity` slots owned by the caller (kernel: allocated
    // with the process; tests: an array). `quota` <= capacity is the process's
    // slot quota. capacity 0 or above kMaxCapacity traps (a kernel bug).
    CapTable(CapSlot* storage, uint32_t capacity, uint32_t quota);
    // Tables must be emptied with clear() before destruction (traps otherwise).
    ~CapTable();
    CapTable(const CapTable&) = delete;
    CapTable& operator=(const CapTable&) = delete;

    // Installs a new root capability to `object` (adds a reference).
    // Errors: quota (slot quota or table full), invalid_argument (null object).
    [[nodiscard]] Result<CapHandle> insert(KernelObject* object, Rights rights);

    // Resolves `h`, requiring every bit of `required`.
    // Errors: invalid_slot (index out of range, generation 0, free slot),
    // stale_slot (generation mismatch), no_rights.
    [[nodiscard]] Result<CapRef> lookup(CapHandle h, Rights required) const;

    // New slot in this table, child of `h`, same rights. Needs kRightCopy.
    // Errors: those of lookup, quota.
    [[nodiscard]] Result<CapHandle> copy(CapHandle h);

    // New slot, child of `h`, with `rights` which must be a subset of h's.
    // Needs kRightCopy. Errors: those of lookup, no_rights (not a subset), quota.
    [[nodiscard]] Result<CapHandle> derive(CapHandle h, Rights rights);

    // Empties the slot (releases the object reference). Its children stay in
    // the tree under its parent. Errors: invalid_slot, stale_slot.
    [[nodiscard]] Result<void> drop(CapHandle h);

    // Deletes up to `budget` descendants of `h` (any table); h stays valid.
    // Errors: invalid_slot, stale_slot, invalid_argument (budget 0).
    [[nodiscard]] Result<RevokeProgress> revoke(CapHandle h, uint32_t budget);

    // Empties up to `budget` slots of this table (process teardown); children in
    // other tables are spliced to their grandparents. Returns true when empty.
    bool clear(uint32_t budget);

    // The process owning this table (its own Process capability is not an
    // outside handle). Null in tests that model no owner.
    void set_owner(const KernelObject* owner) { owner_ = owner; }

    uint32_t used() const { return used_; }
    uint32_t capacity() const { return capacity_; }
    uint32_t quota() const { return quota_; }
    // Lowers or raises the slot quota (clamped to capacity); never evicts.
    void set_quota(uint32_t quota);
    // Slots still insertable under both quota and free list.
    uint32_t available() const;

private:
    friend Result<void> decode_transfer(const CapTable&, const CapHandle*, uint32_t, bool, const CapTable&);
    friend void invoke_transfer(CapTable&, const CapHandle*, uint32_t, bool, CapTable&, CapHandle*);

    Result<CapSlot*> resolve(CapHandle h) const;
    CapHandle handle_of(const CapSlot* s) const;
    // Takes a free slot (caller checked available()).
    CapSlot* take_free();
    // Fills a fresh slot and links it under `parent` (or as a root if null).
    CapHandle install(CapSlot* s, KernelObject* object, Rights rights, CapSlot* parent);
    // Returns an emptied, unlinked slot to the free list with a new generation.
    void free_slot(CapSlot* s);
    // Outside-handle accounting (KernelObject::foreign_handles) for a slot of
    // this table gaining or losing `object`; note_out returns true when that
    // was the object's last outside handle.
    void note_in(KernelObject* object) const;
    bool note_out(KernelObject* object) const;

    CapSlot* slots_;
    uint32_t capacity_;
    uint32_t quota_;
    uint32_t used_ = 0;
    uint32_t free_count_ = 0;
    uint32_t free_head_ = 0;     // index; valid while free_count_ > 0
    uint32_t clear_cursor_ = 0;  // clear() resumes here
    const KernelObject* owner_ = nullptr;

    friend void cap_slot_delete(CapSlot* s);
};

// Deletes one slot wherever it is: splices its children into its place,
// releases its object, bumps its generation and frees it in its own table.
void cap_slot_delete(CapSlot* s);

// Most capabilities one message can carry (bounds the decode loop).
inline constexpr uint32_t kMaxTransferCaps = 64;

// Checks that handles[0..n) can move (move=true, needs kRightTransfer,
// no duplicates) or be copied (needs kRightTransfer) from `from` into `to`.
// Changes nothing. Errors: invalid_argument (n > kMaxTransferCaps, duplicate
// handle in a move), the lookup errors, quota (not n slots available in `to`).
[[nodiscard]] Result<void> decode_transfer(const CapTable& from, const CapHandle* handles, uint32_t n, bool move,
                                           const CapTable& to);

// Applies a transfer decode_transfer accepted (no lock dropped in between);
// writes the new handles in `to` to out[0..n). Cannot fail. A copy becomes a
// child of its source; a move keeps the capability's place in the tree.
void invoke_transfer(CapTable& from, const CapHandle* handles, uint32_t n, bool move, CapTable& to, CapHandle* out);

// decode_transfer then invoke_transfer: all or nothing.
[[nodiscard]] Result<void> transfer(CapTable& from, const CapHandle* handles, uint32_t n, bool move, CapTable& to,
                                    CapHandle* out);

}  // namespace kern
