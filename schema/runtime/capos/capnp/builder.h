// capOS freestanding Cap'n Proto runtime: segment arena over caller buffers, struct/list builders.
#pragma once

#include <stdint.h>

#include "capos/capnp/error.h"
#include "capos/capnp/traits.h"
#include "capos/capnp/layout.h"

namespace cap::capnp {

// One caller-provided segment a message is built into. Words past `used`
// are free; nothing is ever allocated from the heap.
struct SegmentBuffer {
    uint8_t* data = nullptr;
    uint32_t capacity_words = 0;
    uint32_t used_words = 0;
};

// Allocates objects in caller-provided segments and keeps the capability
// table. Errors are sticky: after the first failure every further builder
// is a null builder whose writes go nowhere, and error() says why.
class BuilderArena {
public:
    BuilderArena(SegmentBuffer* segs, uint32_t seg_count) : segs_(segs), seg_count_(seg_count) {}
    BuilderArena(const BuilderArena&) = delete;
    BuilderArena& operator=(const BuilderArena&) = delete;

    [[nodiscard]] Error error() const { return error_; }
    void fail(Error e) {
        if (error_ == Error::Ok) error_ = e;
    }

    void set_cap_table(uint32_t* slots, uint32_t capacity) {
        caps_ = slots;
        cap_capacity_ = capacity;
        cap_count_ = 0;
    }
    [[nodiscard]] CapTable cap_table() const { return CapTable{caps_, cap_count_}; }

    [[nodiscard]] uint32_t segment_count() const { return seg_count_; }
    [[nodiscard]] const SegmentBuffer& segment(uint32_t i) const { return segs_[i]; }

    [[nodiscard]] uint8_t* at(uint32_t seg, uint64_t word) { return segs_[seg].data + word * kWordBytes; }

    void put_word(uint32_t seg, uint64_t idx, uint64_t w) { wire::store<uint64_t>(at(seg, idx), w); }

    // Takes `words` zeroed words from segment `seg`.
    [[nodiscard]] bool alloc_in(uint32_t seg, uint64_t words, uint64_t& off) {
        SegmentBuffer& s = segs_[seg];
        if (words > static_cast<uint64_t>(s.capacity_words - s.used_words)) return false;
        off = s.used_words;
        s.used_words += static_cast<uint32_t>(words);
        __builtin_memset(at(seg, off), 0, words * kWordBytes);
        return true;
    }

    // Allocates `words` for an object referenced from the pointer slot
    // (ps, pidx) and writes that pointer: a near pointer when the object fits
    // in the slot's segment, else a far pointer through a one-word landing pad
    // beside the object, else a double-far through a two-word pad elsewhere.
    // `kind` and `hi` are the object's tag (struct or list pointer fields).
    [[nodiscard]] bool place(uint32_t ps, uint64_t pidx, uint64_t kind, uint32_t hi, uint64_t words, uint32_t& seg,
                             uint64_t& off) {
        if (error_ != Error::Ok) return false;
        if (words == 0 && kind == wire::kStruct) {
            // Empty struct: offset -1 points at the pointer itself, as the
            // official library encodes it, so no space is needed.
            put_word(ps, pidx, wire::make_near(kind, -1, hi));
            seg = ps;
            off = pidx;
            return true;
        }
        if (alloc_in(ps, words, off)) {
            seg = ps;
            put_word(ps, pidx, wire::make_near(kind, static_cast<int64_t>(off) - static_cast<int64_t>(pidx) - 1, hi));
            return true;
        }
        for (uint32_t s = 0; s < seg_count_; ++s) {
            uint64_t pad;
            if (s == ps || !alloc_in(s, words + 1, pad)) continue;
            put_word(s, pad, wire::make_near(kind, 0, hi));
            put_word(ps, pidx, wire::make_far(false, static_cast<uint32_t>(pad), s));
            seg = s;
            off = pad + 1;
            return true;
        }
        for (uint32_t s = 0; s < seg_count_; ++s) {
            if (!alloc_in(s, words, off)) continue;
            for (uint32_t u = 0; u < seg_count_; ++u) {
                uint64_t pad;
                if (!alloc_in(u, 2, pad)) continue;
                put_word(u, pad, wire::make_far(false, static_cast<uint32_t>(off), s));
                put_word(u, pad + 1, wire::make_near(kind, 0, hi));
                put_word(ps, pidx, wire::make_far(true, static_cast<uint32_t>(pad), u));
                seg = s;
                return true;
            }
            break;  // the object fits but no pad does: out of space
        }
        fail(Error::BufferTooSmall);
        return false;
    }

    // Appends `slot` to the capability table; its index goes in the pointer.
    [[nodiscard]] bool add_cap(uint32_t slot, uint32_t& index) {
        if (error_ != Error::Ok) return false;
        if (cap_count_ >= cap_capacity_) {
            fail(Error::CapTableFull);
            return false;
        }
        caps_[cap_count_] = slot;
        index = cap_count_++;
        return true;
    }

private:
    SegmentBuffer* segs_;
    uint32_t seg_count_;
    uint32_t* caps_ = nullptr;
    uint32_t cap_capacity_ = 0;
    uint32_t cap_count_ = 0;
    Error error_ = Error::Ok;
};

class PointerBuilder;

// A struct being built. A default-constructed (null) builder ignores writes.
class StructBuilder {
public:
    constexpr StructBuilder() = default;
    StructBuilder(BuilderArena* a, uint32_t seg, uint8_t* data, uint64_t ptr_idx, uint32_t data_bits,
                  uint16_t ptr_count)
        : arena_(a), data_(data), ptr_idx_(ptr_idx), seg_(seg), data_bits_(data_bits), ptr_count_(ptr_count) {}

    [[nodiscard]] bool is_null() const { return arena_ == nullptr; }
    [[nodiscard]] BuilderArena* arena() const { return arena_; }

    template <typename T>
    void set(uint32_t index, T v, wire::Bits<T> mask = 0) {
        using B = wire::Bits<T>;
        if ((static_cast<uint64_t>(index) + 1) * sizeof(T) * 8 > data_bits_) return;
        wire::store<B>(data_ + static_cast<size_t>(index) * sizeof(T), static_cast<B>(wire::to_bits<T>(v) ^ mask));
    }

    template <typename T>
    [[nodiscard]] T get(uint32_t index, wire::Bits<T> mask = 0) const {
        using B = wire::Bits<T>;
        if ((static_cast<uint64_t>(index) + 1) * sizeof(T) * 8 > data_bits_) return wire::from_bits<T>(mask);
        return wire::from_bits<T>(static_cast<B>(wire::load<B>(data_ + static_cast<size_t>(index) * sizeof(T)) ^ mask));
    }

    void set_bool(uint32_t bit, bool v, bool def = false) {
        if (bit >= data_bits_) return;
        uint8_t m = static_cast<uint8_t>(1u << (bit % 8));
        if (v != def) {
            data_[bit / 8] = static_cast<uint8_t>(data_[bit / 8] | m);
        } else {
            data_[bit / 8] = static_cast<uint8_t>(data_[bit / 8] & ~m);
        }
    }

    [[nodiscard]] bool get_bool(uint32_t bit, bool def = false) const {
        if (bit >= data_bits_) return def;
        return (((data_[bit / 8] >> (bit % 8)) & 1u) != 0) != def;
    }

    [[nodiscard]] PointerBuilder pointer(uint16_t index) const;

private:
    BuilderArena* arena_ = nullptr;
    uint8_t* data_ = nullptr;
    uint64_t ptr_idx_ = 0;
    uint32_t seg_ = 0;
    uint32_t data_bits_ = 0;
    uint16_t ptr_count_ = 0;
};

// A list being built; elements laid out exactly as ListReader expects.
class ListBuilder {
public:
    constexpr ListBuilder() = default;
    ListBuilder(BuilderArena* a, uint32_t seg, uint64_t start, uint32_t count, uint64_t step_bits, uint32_t data_bits,
                uint16_t ptr_count)
        : arena_(a),
          start_(start),
          step_bits_(step_bits),
          seg_(seg),
          count_(count),
          data_bits_(data_bits),
          ptr_count_(ptr_count) {}

    [[nodiscard]] uint32_t size() const { return count_; }
    [[nodiscard]] uint8_t* bytes() const { return arena_ == nullptr ? nullptr : arena_->at(seg_, start_); }

    template <typename T>
    void set(uint32_t i, T v) {
        if (i >= count_ || data_bits_ < sizeof(T) * 8) return;
        wire::store<wire::Bits<T>>(bytes() + (static_cast<uint64_t>(i) * step_bits_) / 8, wire::to_bits<T>(v));
    }

    template <typename T>
    [[nodiscard]] T get(uint32_t i) const {
        if (i >= count_ || data_bits_ < sizeof(T) * 8) return wire::from_bits<T>(0);
        return wire::from_bits<T>(wire::load<wire::Bits<T>>(bytes() + (static_cast<uint64_t>(i) * step_bits_) / 8));
    }

    void set_bool(uint32_t i, bool v) {
        if (i >= count_ || data_bits_ == 0) return;
        uint64_t bit = static_cast<uint64_t>(i) * step_bits_;
        uint8_t* p = bytes() + bit / 8;
        uint8_t m = static_cast<uint8_t>(1u << (bit % 8));
        *p = static_cast<uint8_t>(v ? (*p | m) : (*p & ~m));
    }

    [[nodiscard]] bool get_bool(uint32_t i) const {
        if (i >= count_ || data_bits_ == 0) return false;
        uint64_t bit = static_cast<uint64_t>(i) * step_bits_;
        return ((bytes()[bit / 8] >> (bit % 8)) & 1u) != 0;
    }

    [[nodiscard]] StructBuilder get_struct(uint32_t i) const {
        if (i >= count_) return StructBuilder();
        uint64_t bit = static_cast<uint64_t>(i) * step_bits_;
        return StructBuilder(arena_, seg_, bytes() + bit / 8, start_ + (bit + data_bits_) / 64, data_bits_, ptr_count_);
    }

    [[nodiscard]] PointerBuilder get_pointer(uint32_t i) const;

private:
    BuilderArena* arena_ = nullptr;
    uint64_t start_ = 0;
    uint64_t step_bits_ = 0;
    uint32_t seg_ = 0;
    uint32_t count_ = 0;
    uint32_t data_bits_ = 0;
    uint16_t ptr_count_ = 0;
};

// Writable blob returned by init_text/init_data: `size` bytes at `data`
// (text gets its NUL terminator beyond `size` automatically).
struct BlobBuilder {
    uint8_t* data = nullptr;
    uint32_t size = 0;
};

// One pointer slot of a message being built. Initializing a slot that is
// already set abandons the old object in the arena (it is not reclaimed).
class PointerBuilder {
public:
    constexpr PointerBuilder() = default;
    PointerBuilder(BuilderArena* a, uint32_t seg, uint64_t idx) : arena_(a), idx_(idx), seg_(seg) {}

    [[nodiscard]] bool is_null_builder() const { return arena_ == nullptr; }

    void clear() {
        if (arena_ != nullptr) arena_->put_word(seg_, idx_, 0);
    }

    [[nodiscard]] StructBuilder init_struct(uint16_t data_words, uint16_t ptr_count) {
        if (arena_ == nullptr) return StructBuilder();
        uint32_t s;
        uint64_t off;
        uint64_t words = static_cast<uint64_t>(data_words) + ptr_count;
        if (!arena_->place(seg_, idx_, wire::kStruct, wire::struct_hi(data_words, ptr_count), words, s, off))
            return StructBuilder();
        return StructBuilder(arena_, s, arena_->at(s, off), off + data_words, static_cast<uint32_t>(data_words) * 64,
                             ptr_count);
    }

    [[nodiscard]] ListBuilder init_list(ElementSize size, uint32_t count) {
        if (arena_ == nullptr) return ListBuilder();
        if (size == ElementSize::InlineComposite) return ListBuilder();  // use init_struct_list
        if (count >= (1u << 29)) {
            arena_->fail(Error::ListTooLong);
            return ListBuilder();
        }
        uint32_t dbits = data_bits_per_element(size);
        uint32_t pcount = pointers_per_element(size);
        uint64_t step = dbits + pcount * 64u;
        uint64_t words = (static_cast<uint64_t>(count) * step + 63) / 64;
        uint32_t hi = static_cast<uint32_t>(size) | (count << 3);
        uint32_t s;
        uint64_t off;
        if (!arena_->place(seg_, idx_, wire::kList, hi, words, s, off)) return ListBuilder();
        return ListBuilder(arena_, s, off, count, step, dbits, static_cast<uint16_t>(pcount));
    }

    [[nodiscard]] ListBuilder init_struct_list(uint32_t count, uint16_t data_words, uint16_t ptr_count) {
        if (arena_ == nullptr) return ListBuilder();
        uint64_t per = static_cast<uint64_t>(data_words) + ptr_count;
        uint64_t words = per * count;
        if (words >= (1u << 29) || count >= (1u << 29)) {
            arena_->fail(Error::ListTooLong);
            return ListBuilder();
        }
        uint32_t hi = static_cast<uint32_t>(ElementSize::InlineComposite) | (static_cast<uint32_t>(words) << 3);
        uint32_t s;
        uint64_t off;
        if (!arena_->place(seg_, idx_, wire::kList, hi, words + 1, s, off)) return ListBuilder();
        // The tag word: a struct pointer whose offset field is the element count.
        arena_->put_word(s, off, wire::make_near(wire::kStruct, count, wire::struct_hi(data_words, ptr_count)));
        return ListBuilder(arena_, s, off + 1, count, per * 64, static_cast<uint32_t>(data_words) * 64, ptr_count);
    }

    // Text: `size` bytes plus the NUL the wire format requires.
    [[nodiscard]] BlobBuilder init_text(uint32_t size) { return init_blob(size, true); }
    [[nodiscard]] BlobBuilder init_data(uint32_t size) { return init_blob(size, false); }

    BlobBuilder set_text(const char* s, uint32_t size) {
        BlobBuilder b = init_text(size);
        if (b.data != nullptr && size != 0) __builtin_memcpy(b.data, s, size);
        return b;
    }

    BlobBuilder set_data(const uint8_t* p, uint32_t size) {
        BlobBuilder b = init_data(size);
        if (b.data != nullptr && size != 0) __builtin_memcpy(b.data, p, size);
        return b;
    }

    // Stores a capability pointer naming capability slot `slot`, appending
    // it to the message's capability table.
    bool set_capability(uint32_t slot) {
        if (arena_ == nullptr) return false;
        uint32_t index;
        if (!arena_->add_cap(slot, index)) return false;
        arena_->put_word(seg_, idx_, wire::kOther | (static_cast<uint64_t>(index) << 32));
        return true;
    }

private:
    BlobBuilder init_blob(uint32_t size, bool text) {
        if (arena_ == nullptr) return BlobBuilder();
        uint64_t n = static_cast<uint64_t>(size) + (text ? 1 : 0);
        if (n >= (1u << 29)) {
            arena_->fail(Error::ListTooLong);
            return BlobBuilder();
        }
        uint32_t hi = static_cast<uint32_t>(ElementSize::Byte) | (static_cast<uint32_t>(n) << 3);
        uint32_t s;
        uint64_t off;
        if (!arena_->place(seg_, idx_, wire::kList, hi, (n + 7) / 8, s, off)) return BlobBuilder();
        return BlobBuilder{arena_->at(s, off), size};
    }

    BuilderArena* arena_ = nullptr;
    uint64_t idx_ = 0;
    uint32_t seg_ = 0;
};

inline PointerBuilder StructBuilder::pointer(uint16_t index) const {
    if (arena_ == nullptr || index >= ptr_count_) return PointerBuilder();
    return PointerBuilder(arena_, seg_, ptr_idx_ + index);
}

inline PointerBuilder ListBuilder::get_pointer(uint32_t i) const {
    if (arena_ == nullptr || i >= count_ || ptr_count_ == 0) return PointerBuilder();
    uint64_t bit = static_cast<uint64_t>(i) * step_bits_ + data_bits_;
    return PointerBuilder(arena_, seg_, start_ + bit / 64);
}

}  // namespace cap::capnp
