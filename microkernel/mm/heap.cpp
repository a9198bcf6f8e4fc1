// heap.cpp - kernel heap: size-class chunks and page-granular large blocks.
#include "mm/heap.h"

namespace kern {
namespace {

constexpr uint64_t kChunkMagic = 0x6b68656170636831ull;  // arbitrary; mixed with the address
constexpr size_t kBitmapWords = Heap::kChunkSize / Heap::kMinBlock / 64;
constexpr size_t kInitialTableSlots = 256;

struct FreeBlock {
    FreeBlock* next;
};

unsigned popcount(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return static_cast<unsigned>((x * 0x0101010101010101ull) >> 56);
}

bool is_pow2(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

}  // namespace

struct Heap::Chunk {
    uint64_t magic;  // kChunkMagic ^ own address: a stale or fake header fails
    Chunk* next;     // in the class's partial list
    Chunk* prev;
    FreeBlock* free_list;
    uint32_t block_size;
    uint32_t class_index;
    uint32_t free_blocks;
    uint32_t total_blocks;
    uint32_t first_offset;             // of block 0, a multiple of block_size
    uint64_t allocated[kBitmapWords];  // bit per block, set while handed out

    bool is_allocated(size_t i) const { return (allocated[i / 64] >> (i % 64)) & 1; }
};

static_assert(sizeof(void*) == 8, "heap assumes a 64-bit address space");

Result<void> Heap::init(const HeapBackend& backend) {
    if (initialised_) return Error::exists;
    if (backend.map == nullptr || backend.unmap == nullptr) return Error::invalid_argument;
    backend_ = backend;
    initialised_ = true;
    return ok();
}

Result<void*> Heap::alloc(size_t size, size_t align) {
    ++stats_.alloc_calls;
    Result<void*> r = Error::invalid_argument;
    if (align == 0) align = kMinBlock;
    if (initialised_ && is_pow2(align)) {
        size_t need = size < kMinBlock ? kMinBlock : size;
        if (need < align) need = align;
        if (need <= kMaxSmall) {
            unsigned cls = 0;
            while ((kMinBlock << cls) < need) ++cls;
            r = alloc_small(cls);
        } else {
            r = alloc_large(size == 0 ? 1 : size, align);  // alignment does not grow it
        }
    }
    if (!r.ok()) ++stats_.failed_allocs;
    return r;
}

Result<Heap::Chunk*> Heap::new_chunk(unsigned cls) {
    void* mem = backend_.map(backend_.ctx, kChunkSize, kChunkSize);
    if (mem == nullptr) return Error::out_of_memory;
    if (addr(mem) % kChunkSize != 0) {  // backend broke its contract
        backend_.unmap(backend_.ctx, mem, kChunkSize);
        return Error::out_of_memory;
    }
    if (Result<void> reg = reg_insert(addr(mem), 0); !reg.ok()) {
        backend_.unmap(backend_.ctx, mem, kChunkSize);
        return reg.error();
    }
    Chunk* c = static_cast<Chunk*>(mem);
    const size_t bs = kMinBlock << cls;
    c->magic = kChunkMagic ^ addr(c);
    c->next = c->prev = nullptr;
    c->block_size = static_cast<uint32_t>(bs);
    c->class_index = cls;
    c->first_offset = static_cast<uint32_t>((sizeof(Chunk) + bs - 1) / bs * bs);
    c->total_blocks = static_cast<uint32_t>((kChunkSize - c->first_offset) / bs);
    c->free_blocks = c->total_blocks;
    for (size_t w = 0; w < kBitmapWords; ++w) c->allocated[w] = 0;
    // Thread the free list in address order so early allocations stay dense.
    uint8_t* base = static_cast<uint8_t*>(mem);
    FreeBlock* head = nullptr;
    for (size_t i = c->total_blocks; i-- > 0;) {
        FreeBlock* b = reinterpret_cast<FreeBlock*>(base + c->first_offset + i * bs);
        b->next = head;
        head = b;
    }
    c->free_list = head;
    ++stats_.chunks;
    stats_.bytes_mapped += kChunkSize;
    return c;
}

void Heap::release_chunk(Chunk* c) {
    reg_erase(addr(c));
    c->magic = 0;
    --stats_.chunks;
    stats_.bytes_mapped -= kChunkSize;
    backend_.unmap(backend_.ctx, c, kChunkSize);
}

Result<void*> Heap::alloc_small(unsigned cls) {
    ClassList& list = classes_[cls];
    if (list.partial == nullptr) {
        Chunk* c = TRY(new_chunk(cls));
        list.partial = c;
    }
    Chunk* c = list.partial;
    FreeBlock* b = c->free_list;
    c->free_list = b->next;
    const size_t i = (addr(b) - addr(c) - c->first_offset) / c->block_size;
    c->allocated[i / 64] |= uint64_t{1} << (i % 64);
    if (--c->free_blocks == 0) {  // full: leave the partial list
        list.partial = c->next;
        if (c->next != nullptr) c->next->prev = nullptr;
        c->next = nullptr;
    }
    stats_.bytes_in_use += c->block_size;
    ++stats_.allocations;
    return static_cast<void*>(b);
}

Result<void*> Heap::alloc_large(size_t size, size_t align) {
    if (size > ~size_t{0} - (kPageSize - 1)) return Error::overflow;
    const size_t bytes = (size + kPageSize - 1) & ~(kPageSize - 1);
    if (align < kPageSize) align = kPageSize;
    void* mem = backend_.map(backend_.ctx, bytes, align);
    if (mem == nullptr) return Error::out_of_memory;
    if (addr(mem) % align != 0) {
        backend_.unmap(backend_.ctx, mem, bytes);
        return Error::out_of_memory;
    }
    if (Result<void> reg = reg_insert(addr(mem), bytes); !reg.ok()) {
        backend_.unmap(backend_.ctx, mem, bytes);
        return reg.error();
    }
    ++stats_.large_blocks;
    ++stats_.allocations;
    stats_.bytes_in_use += bytes;
    stats_.bytes_mapped += bytes;
    return mem;
}

Result<Heap::Chunk*> Heap::find_small(const void* p, size_t* index) const {
    const uintptr_t base = addr(p) & ~(kChunkSize - 1);
    const Slot* s = reg_find(base);
    if (s == nullptr || s->value != 0) return Error::not_owned;
    Chunk* c = reinterpret_cast<Chunk*>(base);
    if (c->magic != (kChunkMagic ^ base)) return Error::not_owned;
    const uintptr_t off = addr(p) - base;
    if (off < c->first_offset || (off - c->first_offset) % c->block_size != 0) return Error::not_owned;
    const size_t i = (off - c->first_offset) / c->block_size;
    if (i >= c->total_blocks) return Error::not_owned;
    if (!c->is_allocated(i)) return Error::double_free;
    *index = i;
    return c;
}

Result<size_t> Heap::usable_size(const void* p) const {
    if (p == nullptr) return Error::invalid_argument;
    if (const Slot* s = reg_find(addr(p)); s != nullptr) {
        if (s->value == 0) return Error::not_owned;  // a chunk header, never a block
        return static_cast<size_t>(s->value);
    }
    size_t i = 0;
    Chunk* c = TRY(find_small(p, &i));
    return static_cast<size_t>(c->block_size);
}

Result<void> Heap::free(void* p) {
    ++stats_.free_calls;
    if (p == nullptr) {
        ++stats_.rejected_frees;
        return Error::invalid_argument;
    }
    if (const Slot* s = reg_find(addr(p)); s != nullptr) {
        if (s->value == 0) {
            ++stats_.rejected_frees;
            return Error::not_owned;
        }
        const size_t bytes = static_cast<size_t>(s->value);
        reg_erase(addr(p));
        backend_.unmap(backend_.ctx, p, bytes);
        --stats_.large_blocks;
        --stats_.allocations;
        stats_.bytes_in_use -= bytes;
        stats_.bytes_mapped -= bytes;
        return ok();
    }
    size_t i = 0;
    Result<Chunk*> found = find_small(p, &i);
    if (!found.ok()) {
        ++stats_.rejected_frees;
        return found.error();
    }
    Chunk* c = found.value();
    ClassList& list = classes_[c->class_index];
    c->allocated[i / 64] &= ~(uint64_t{1} << (i % 64));
    FreeBlock* b = static_cast<FreeBlock*>(p);
    b->next = c->free_list;
    c->free_list = b;
    stats_.bytes_in_use -= c->block_size;
    --stats_.allocations;
    if (c->free_blocks++ == 0) {  // was full: back on the partial list
        c->prev = nullptr;
        c->next = list.partial;
        if (list.partial != nullptr) list.partial->prev = c;
        list.partial = c;
    }
    // An empty chunk goes back to the backend unless it is the class's only
    // partial chunk (keeping one avoids map/unmap ping-pong at a boundary).
    if (c->free_blocks == c->total_blocks && (c->prev != nullptr || c->next != nullptr)) {
        if (c->prev != nullptr) c->prev->next = c->next;
        else list.partial = c->next;
        if (c->next != nullptr) c->next->prev = c->prev;
        release_chunk(c);
    }
    return ok();
}

// --- registry ---------------------------------------------------------------

size_t Heap::reg_index(uintptr_t key) const {
    const unsigned bits = static_cast<unsigned>(__builtin_ctzll(table_cap_));
    return static_cast<size_t>(((key >> 12) * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

const Heap::Slot* Heap::reg_find(uintptr_t key) const {
    if (table_cap_ == 0 || key == 0) return nullptr;
    const size_t mask = table_cap_ - 1;
    for (size_t i = reg_index(key);; i = (i + 1) & mask) {
        if (table_[i].key == key) return &table_[i];
        if (table_[i].key == 0) return nullptr;
    }
}

Result<void> Heap::reg_grow() {
    const size_t cap = table_cap_ == 0 ? kInitialTableSlots : table_cap_ * 2;
    const size_t bytes = cap * sizeof(Slot);
    void* mem = backend_.map(backend_.ctx, bytes, kPageSize);
    if (mem == nullptr) return Error::out_of_memory;
    Slot* old = table_;
    const size_t old_cap = table_cap_;
    table_ = static_cast<Slot*>(mem);
    table_cap_ = cap;
    for (size_t i = 0; i < cap; ++i) table_[i] = {0, 0};
    const size_t mask = cap - 1;
    for (size_t j = 0; j < old_cap; ++j) {
        if (old[j].key == 0) continue;
        size_t i = reg_index(old[j].key);
        while (table_[i].key != 0) i = (i + 1) & mask;
        table_[i] = old[j];
    }
    stats_.bytes_mapped += bytes;
    if (old != nullptr) {
        backend_.unmap(backend_.ctx, old, old_cap * sizeof(Slot));
        stats_.bytes_mapped -= old_cap * sizeof(Slot);
    }
    return ok();
}

Result<void> Heap::reg_insert(uintptr_t key, uintptr_t value) {
    if ((table_used_ + 1) * 2 > table_cap_) TRY(reg_grow());
    const size_t mask = table_cap_ - 1;
    size_t i = reg_index(key);
    while (table_[i].key != 0) {
        if (table_[i].key == key) return Error::exists;
        i = (i + 1) & mask;
    }
    table_[i] = {key, value};
    ++table_used_;
    return ok();
}

void Heap::reg_erase(uintptr_t key) {
    const size_t mask = table_cap_ - 1;
    size_t i = reg_index(key);
    while (table_[i].key != key) {
        if (table_[i].key == 0) return;
        i = (i + 1) & mask;
    }
    // Backward-shift deletion: pull later members of the probe run into the
    // hole when their home slot does not lie cyclically in (hole, member].
    for (size_t j = (i + 1) & mask; table_[j].key != 0; j = (j + 1) & mask) {
        const size_t home = reg_index(table_[j].key);
        const bool home_in_between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!home_in_between) {
            table_[i] = table_[j];
            i = j;
        }
    }
    table_[i] = {0, 0};
    --table_used_;
}

// --- consistency check -----------------------------------------------------

Result<void> Heap::check() const {
    size_t in_use = 0, live = 0, chunks = 0, with_space = 0, large = 0, used_slots = 0;
    for (size_t s = 0; s < table_cap_; ++s) {
        const Slot& slot = table_[s];
        if (slot.key == 0) continue;
        ++used_slots;
        if (reg_find(slot.key) != &slot) return Error::malformed;  // unreachable by probing
        if (slot.value != 0) {
            ++large;
            ++live;
            in_use += slot.value;
            continue;
        }
        const Chunk* c = reinterpret_cast<const Chunk*>(slot.key);
        ++chunks;
        if (c->magic != (kChunkMagic ^ slot.key) || c->class_index >= kClasses ||
            c->block_size != (kMinBlock << c->class_index) || c->free_blocks > c->total_blocks) {
            return Error::malformed;
        }
        size_t set_bits = 0;
        for (size_t w = 0; w < kBitmapWords; ++w) set_bits += popcount(c->allocated[w]);
        if (set_bits != c->total_blocks - c->free_blocks) return Error::malformed;
        size_t n = 0;
        for (const FreeBlock* b = c->free_list; b != nullptr; b = b->next) {
            const uintptr_t off = addr(b) - slot.key;
            if (addr(b) < slot.key || off < c->first_offset || off >= kChunkSize ||
                (off - c->first_offset) % c->block_size != 0 ||
                c->is_allocated((off - c->first_offset) / c->block_size) || ++n > c->free_blocks) {
                return Error::malformed;
            }
        }
        if (n != c->free_blocks) return Error::malformed;
        if (c->free_blocks != 0) ++with_space;
        live += set_bits;
        in_use += set_bits * c->block_size;
    }
    // Every chunk with free space is on its class list, and nothing else is.
    size_t listed = 0;
    for (unsigned k = 0; k < kClasses; ++k) {
        for (const Chunk* c = classes_[k].partial; c != nullptr; c = c->next) {
            if (c->class_index != k || c->free_blocks == 0) return Error::malformed;
            if (c->next != nullptr && c->next->prev != c) return Error::malformed;
            if (++listed > chunks) return Error::malformed;
        }
    }
    if (listed != with_space || used_slots != table_used_ || in_use != stats_.bytes_in_use ||
        live != stats_.allocations || chunks != stats_.chunks || large != stats_.large_blocks) {
        return Error::malformed;
    }
    return ok();
}

}  // namespace kern
