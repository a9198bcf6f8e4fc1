// cap_table.cpp - capability tables, derivation tree, revoke and transfer.
#include "cap/cap_table.h"

namespace kern {

namespace abi = capos::abi;

namespace {

CapSlot* slot_of_sibling(CapLink* l) {
    return reinterpret_cast<CapSlot*>(reinterpret_cast<char*>(l) - offsetof(CapSlot, sibling));
}

void link_reset(CapLink* l) {
    l->prev = l;
    l->next = l;
}

void list_push_back(CapLink* head, CapLink* node) {
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

void unlink(CapLink* node) {
    node->prev->next = node->next;
    node->next->prev = node->prev;
    link_reset(node);
}

// Moves s's children, in order, into s's own place among its siblings, then
// takes s out. O(1) whatever the number of children. If s is a root its
// children become roots; they stay linked to each other in a ring without a
// sentinel, which nothing walks (only child lists, which have sentinels, are
// walked), so that is harmless.
void splice_out(CapSlot* s) {
    if (!s->children.empty()) {
        CapLink* first = s->children.next;
        CapLink* last = s->children.prev;
        CapLink* before = s->sibling.prev;
        before->next = first;
        first->prev = before;
        last->next = &s->sibling;
        s->sibling.prev = last;
        link_reset(&s->children);
    }
    unlink(&s->sibling);
}

// Makes `d` (fresh, unlinked) take `s`'s place in the tree, children included.
void relocate_links(CapSlot* s, CapSlot* d) {
    if (s->sibling.empty()) {
        link_reset(&d->sibling);
    } else {
        d->sibling.prev = s->sibling.prev;
        d->sibling.next = s->sibling.next;
        d->sibling.prev->next = &d->sibling;
        d->sibling.next->prev = &d->sibling;
    }
    if (s->children.empty()) {
        link_reset(&d->children);
    } else {
        d->children.next = s->children.next;
        d->children.prev = s->children.prev;
        d->children.next->prev = &d->children;
        d->children.prev->next = &d->children;
    }
    link_reset(&s->sibling);
    link_reset(&s->children);
}

LastForeignHandleHook g_last_foreign_hook = nullptr;

}  // namespace

void set_last_foreign_handle_hook(LastForeignHandleHook hook) { g_last_foreign_hook = hook; }

void CapTable::note_in(KernelObject* object) const {
    if (object->type() == ObjectType::process && object != owner_) object->foreign_handles_++;
}

bool CapTable::note_out(KernelObject* object) const {
    if (object->type() != ObjectType::process || object == owner_) return false;
    if (object->foreign_handles_ == 0) __builtin_trap();  // every outside slot was counted in
    return --object->foreign_handles_ == 0;
}

CapTable::CapTable(CapSlot* storage, uint32_t capacity, uint32_t quota)
    : slots_(storage), capacity_(capacity), quota_(quota < capacity ? quota : capacity) {
    if (storage == nullptr || capacity == 0 || capacity > kMaxCapacity) __builtin_trap();
    for (uint32_t i = 0; i < capacity; i++) {
        CapSlot* s = new (&slots_[i]) CapSlot();
        s->table = this;
        // Build the free list so that index 0 is handed out first.
        s->next_free = i + 1;
    }
    free_head_ = 0;
    free_count_ = capacity;
}

CapTable::~CapTable() {
    if (used_ != 0) __builtin_trap();  // must clear() first: slots are linked into other tables
}

void CapTable::set_quota(uint32_t quota) { quota_ = quota < capacity_ ? quota : capacity_; }

uint32_t CapTable::available() const {
    const uint32_t by_quota = quota_ > used_ ? quota_ - used_ : 0;
    return by_quota < free_count_ ? by_quota : free_count_;
}

CapHandle CapTable::handle_of(const CapSlot* s) const {
    return abi::make_handle(static_cast<uint32_t>(s - slots_), s->generation);
}

Result<CapSlot*> CapTable::resolve(CapHandle h) const {
    const uint32_t index = abi::handle_slot(h);
    const uint32_t gen = abi::handle_generation(h);
    if (index >= capacity_ || gen == 0) return Error::invalid_slot;
    CapSlot* s = &slots_[index];
    if (s->generation != gen) return Error::stale_slot;
    if (s->object == nullptr) return Error::invalid_slot;
    return s;
}

Result<CapRef> CapTable::lookup(CapHandle h, Rights required) const {
    CapSlot* s = TRY(resolve(h));
    if ((s->rights & required) != required) return Error::no_rights;
    return CapRef{s->object, s->rights};
}

CapSlot* CapTable::take_free() {
    if (free_count_ == 0) __builtin_trap();
    CapSlot* s = &slots_[free_head_];
    free_head_ = s->next_free;
    free_count_--;
    used_++;
    return s;
}

CapHandle CapTable::install(CapSlot* s, KernelObject* object, Rights rights, CapSlot* parent) {
    object->add_ref();
    note_in(object);
    s->object = object;
    s->rights = rights;
    link_reset(&s->children);
    if (parent != nullptr) {
        list_push_back(&parent->children, &s->sibling);
    } else {
        link_reset(&s->sibling);
    }
    return handle_of(s);
}

Result<CapHandle> CapTable::insert(KernelObject* object, Rights rights) {
    if (object == nullptr) return Error::invalid_argument;
    if (available() == 0) return Error::quota;
    return install(take_free(), object, rights, nullptr);
}

Result<CapHandle> CapTable::copy(CapHandle h) {
    CapSlot* src = TRY(resolve(h));
    return derive(h, src->rights);
}

Result<CapHandle> CapTable::derive(CapHandle h, Rights rights) {
    CapSlot* src = TRY(resolve(h));
    if ((src->rights & abi::kRightCopy) == 0) return Error::no_rights;
    if ((rights & ~src->rights) != 0) return Error::no_rights;  // never more rights
    if (available() == 0) return Error::quota;
    return install(take_free(), src->object, rights, src);
}

// Bumps the generation so every outstanding handle goes stale, and retires
// the slot instead if the generation would wrap (never issued twice).
void CapTable::free_slot(CapSlot* s) {
    s->object = nullptr;
    s->rights = 0;
    used_--;
    if (s->generation == UINT32_MAX) {
        // Retired: generation 0 matches no handle (lookup refuses 0 first), so
        // the last handle issued for this slot reads as stale forever.
        s->generation = 0;
        return;
    }
    s->generation++;
    s->next_free = free_head_;
    free_head_ = static_cast<uint32_t>(s - slots_);
    free_count_++;
}

void cap_slot_delete(CapSlot* s) {
    CapTable* t = s->table;
    KernelObject* object = s->object;
    splice_out(s);
    t->free_slot(s);
    if (t->note_out(object) && g_last_foreign_hook != nullptr) g_last_foreign_hook(object);
    // Last: on_last_ref() may free the object, and must find the tree consistent.
    object->release();
}

Result<void> CapTable::drop(CapHandle h) {
    CapSlot* s = TRY(resolve(h));
    cap_slot_delete(s);
    return ok();
}

Result<RevokeProgress> CapTable::revoke(CapHandle h, uint32_t budget) {
    if (budget == 0) return Error::invalid_argument;
    CapSlot* x = TRY(resolve(h));
    uint32_t deleted = 0;
    // Deleting the first child splices its children to the front of x's list,
    // so this loop visits every descendant exactly once.
    while (deleted < budget && !x->children.empty()) {
        cap_slot_delete(slot_of_sibling(x->children.next));
        deleted++;
    }
    return RevokeProgress{deleted, x->children.empty()};
}

bool CapTable::clear(uint32_t budget) {
    // Scanning a free slot costs budget too, so a call is bounded even over a
    // mostly empty table; the cursor makes it resumable.
    while (clear_cursor_ < capacity_ && budget > 0) {
        CapSlot* s = &slots_[clear_cursor_];
        if (s->object != nullptr) {
            cap_slot_delete(s);
        } else {
            clear_cursor_++;
        }
        budget--;
    }
    if (clear_cursor_ < capacity_) return false;
    clear_cursor_ = 0;
    return used_ == 0;
}

Result<void> decode_transfer(const CapTable& from, const CapHandle* handles, uint32_t n, bool move,
                             const CapTable& to) {
    if (n > kMaxTransferCaps) return Error::invalid_argument;
    if (n > 0 && handles == nullptr) return Error::invalid_argument;
    for (uint32_t i = 0; i < n; i++) {
        CapSlot* s = TRY(from.resolve(handles[i]));
        if ((s->rights & abi::kRightTransfer) == 0) return Error::no_rights;
        if (move) {
            for (uint32_t j = 0; j < i; j++) {
                if (handles[j] == handles[i]) return Error::invalid_argument;
            }
        }
    }
    if (to.available() < n) return Error::quota;
    return ok();
}

void invoke_transfer(CapTable& from, const CapHandle* handles, uint32_t n, bool move, CapTable& to, CapHandle* out) {
    for (uint32_t i = 0; i < n; i++) {
        auto r = from.resolve(handles[i]);
        if (!r.ok()) __builtin_trap();  // decode_transfer accepted it under the same lock
        CapSlot* s = r.value();
        CapSlot* d = to.take_free();
        if (move) {
            relocate_links(s, d);
            KernelObject* object = s->object;
            d->object = object;  // the reference moves with it
            d->rights = s->rights;
            // Counted in before out: a move between two outside tables never
            // reads as the last outside handle going.
            to.note_in(object);
            from.free_slot(s);
            if (from.note_out(object) && g_last_foreign_hook != nullptr) g_last_foreign_hook(object);
            out[i] = to.handle_of(d);
        } else {
            out[i] = to.install(d, s->object, s->rights, s);
        }
    }
}

Result<void> transfer(CapTable& from, const CapHandle* handles, uint32_t n, bool move, CapTable& to, CapHandle* out) {
    TRY(decode_transfer(from, handles, n, move, to));
    invoke_transfer(from, handles, n, move, to, out);
    return ok();
}

}  // namespace kern
