// capOS freestanding Cap'n Proto runtime: wire-level pointers, struct/list readers and builders.
#pragma once

#include <stdint.h>

#include "capos/capnp/error.h"
#include "capos/capnp/traits.h"

// The wire format is little-endian; so is every target capOS runs on. All
// loads and stores go through __builtin_memcpy, so buffers need no alignment
// and no type punning happens.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "capnp runtime assumes little-endian");

namespace cap::capnp {

inline constexpr uint32_t kWordBytes = 8;

namespace wire {

template <typename T>
[[nodiscard]] inline T load(const uint8_t* p) {
    T v;
    __builtin_memcpy(&v, p, sizeof(T));
    return v;
}

template <typename T>
inline void store(uint8_t* p, T v) {
    __builtin_memcpy(p, &v, sizeof(T));
}

// The unsigned integer with T's width, used for XOR-ing defaults into
// floating-point and enum fields.
template <typename T>
using Bits = typename traits::UnsignedOfSize<sizeof(T)>::type;

template <typename T>
[[nodiscard]] inline T from_bits(Bits<T> b) {
    T v;
    __builtin_memcpy(&v, &b, sizeof(T));
    return v;
}

template <typename T>
[[nodiscard]] inline Bits<T> to_bits(T v) {
    Bits<T> b;
    __builtin_memcpy(&b, &v, sizeof(T));
    return b;
}

// Pointer kinds (low two bits of a pointer word).
inline constexpr uint64_t kStruct = 0;
inline constexpr uint64_t kList = 1;
inline constexpr uint64_t kFar = 2;
inline constexpr uint64_t kOther = 3;

[[nodiscard]] constexpr uint64_t kind(uint64_t w) { return w & 3u; }

// Signed 30-bit word offset of a struct/list pointer (bits 2..31).
[[nodiscard]] constexpr int64_t offset(uint64_t w) {
    return static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(w)) >> 2);
}

[[nodiscard]] constexpr uint64_t make_near(uint64_t kind_bits, int64_t off, uint32_t hi) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(off * 4)) | kind_bits) | (static_cast<uint64_t>(hi) << 32);
}

[[nodiscard]] constexpr uint64_t make_far(bool double_far, uint32_t pad_word, uint32_t seg) {
    return kFar | (double_far ? 4u : 0u) | (static_cast<uint64_t>(pad_word) << 3) | (static_cast<uint64_t>(seg) << 32);
}

[[nodiscard]] constexpr uint32_t struct_hi(uint16_t data_words, uint16_t ptr_count) {
    return static_cast<uint32_t>(data_words) | (static_cast<uint32_t>(ptr_count) << 16);
}

}  // namespace wire

// List element encodings (the C field of a list pointer).
enum class ElementSize : uint8_t {
    Void = 0,
    Bit = 1,
    Byte = 2,
    TwoBytes = 3,
    FourBytes = 4,
    EightBytes = 5,
    Pointer = 6,
    InlineComposite = 7,
};

[[nodiscard]] constexpr uint32_t data_bits_per_element(ElementSize s) {
    switch (s) {
        case ElementSize::Bit:
            return 1;
        case ElementSize::Byte:
            return 8;
        case ElementSize::TwoBytes:
            return 16;
        case ElementSize::FourBytes:
            return 32;
        case ElementSize::EightBytes:
            return 64;
        default:
            return 0;
    }
}

[[nodiscard]] constexpr uint32_t pointers_per_element(ElementSize s) { return s == ElementSize::Pointer ? 1u : 0u; }

// One segment of a message being read. `data` need not be aligned.
struct SegmentView {
    const uint8_t* data = nullptr;
    uint32_t words = 0;
};

// The capability table carried next to a message: capability pointer i
// names the capability slot slots[i] of the sending/receiving thread.
struct CapTable {
    const uint32_t* slots = nullptr;
    uint32_t count = 0;
};

// Shared state of one message being read: its segments, capability table,
// remaining traversal budget and the first error seen.
class ReadContext {
public:
    constexpr ReadContext() = default;
    constexpr ReadContext(const SegmentView* segs, uint32_t seg_count, CapTable caps, uint64_t traversal_words,
                          bool unlimited = false)
        : segs_(segs), seg_count_(seg_count), caps_(caps), traversal_left_(traversal_words), unlimited_(unlimited) {}

    [[nodiscard]] uint32_t segment_count() const { return seg_count_; }
    [[nodiscard]] const SegmentView& segment(uint32_t i) const { return segs_[i]; }
    [[nodiscard]] CapTable caps() const { return caps_; }
    [[nodiscard]] Error error() const { return error_; }
    [[nodiscard]] uint64_t traversal_left() const { return traversal_left_; }

    void fail(Error e) {
        if (error_ == Error::Ok) error_ = e;
    }

    // True when [off, off + words) lies inside segment `seg`.
    [[nodiscard]] bool contains(uint32_t seg, int64_t off, uint64_t words) const {
        if (seg >= seg_count_ || off < 0) return false;
        uint64_t size = segs_[seg].words;
        uint64_t start = static_cast<uint64_t>(off);
        return start <= size && words <= size - start;
    }

    [[nodiscard]] const uint8_t* at(uint32_t seg, uint64_t word) const { return segs_[seg].data + word * kWordBytes; }

    [[nodiscard]] uint64_t word(uint32_t seg, uint64_t idx) const { return wire::load<uint64_t>(at(seg, idx)); }

    // Charges `words` against the traversal limit; false (and records
    // TraversalLimit) once the budget is spent.
    [[nodiscard]] bool charge(uint64_t words) {
        if (unlimited_) return true;
        if (words > traversal_left_) {
            traversal_left_ = 0;
            fail(Error::TraversalLimit);
            return false;
        }
        traversal_left_ -= words;
        return true;
    }

private:
    const SegmentView* segs_ = nullptr;
    uint32_t seg_count_ = 0;
    CapTable caps_{};
    uint64_t traversal_left_ = 0;
    bool unlimited_ = false;
    Error error_ = Error::Ok;
};

// Where a (possibly far) pointer leads: the word describing the object
// (struct or list tag) and the first word of its content.
struct Target {
    uint64_t tag = 0;
    uint32_t seg = 0;
    int64_t off = 0;
};

// Follows the pointer at (seg, idx), which must lie inside the segment,
// through at most one far hop (single or double). Returns false and records
// the error when the far pointer or its landing pad is malformed.
[[nodiscard]] inline bool resolve(ReadContext* c, uint32_t seg, uint64_t idx, Target& t) {
    uint64_t w = c->word(seg, idx);
    if (wire::kind(w) != wire::kFar) {
        t.tag = w;
        t.seg = seg;
        t.off = static_cast<int64_t>(idx) + 1 + wire::offset(w);
        return true;
    }
    bool dbl = ((w >> 2) & 1u) != 0;
    uint32_t pad_seg = static_cast<uint32_t>(w >> 32);
    uint64_t pad_off = (w >> 3) & 0x1fffffffu;
    if (!c->contains(pad_seg, static_cast<int64_t>(pad_off), dbl ? 2 : 1)) {
        c->fail(Error::BadFarPointer);
        return false;
    }
    uint64_t pad = c->word(pad_seg, pad_off);
    if (!dbl) {
        // A landing pad is an ordinary pointer; chains of far pointers are illegal.
        if (wire::kind(pad) == wire::kFar) {
            c->fail(Error::BadFarPointer);
            return false;
        }
        t.tag = pad;
        t.seg = pad_seg;
        t.off = static_cast<int64_t>(pad_off) + 1 + wire::offset(pad);
        return true;
    }
    // Double far: the pad holds a single far pointer to the content and a tag.
    uint64_t tag = c->word(pad_seg, pad_off + 1);
    if (wire::kind(pad) != wire::kFar || ((pad >> 2) & 1u) != 0 ||
        (wire::kind(tag) != wire::kStruct && wire::kind(tag) != wire::kList)) {
        c->fail(Error::BadFarPointer);
        return false;
    }
    uint32_t content_seg = static_cast<uint32_t>(pad >> 32);
    if (content_seg >= c->segment_count()) {
        c->fail(Error::BadFarPointer);
        return false;
    }
    t.tag = tag;
    t.seg = content_seg;
    t.off = static_cast<int64_t>((pad >> 3) & 0x1fffffffu);
    return true;
}

class ListReader;
class PointerReader;

// A view of one struct (or of one element of a struct list). The data and
// pointer sections have been bounds-checked when the reader was made; every
// field access re-checks against the recorded section sizes, so a struct
// written by an older or newer schema reads as defaults past its end.
class StructReader {
public:
    constexpr StructReader() = default;
    StructReader(ReadContext* c, uint32_t seg, const uint8_t* data, uint64_t ptr_idx, uint32_t data_bits,
                 uint16_t ptr_count, int32_t nesting)
        : ctx_(c),
          data_(data),
          ptr_idx_(ptr_idx),
          seg_(seg),
          data_bits_(data_bits),
          ptr_count_(ptr_count),
          nesting_(nesting) {}

    [[nodiscard]] uint32_t data_bits() const { return data_bits_; }
    [[nodiscard]] uint16_t pointer_count() const { return ptr_count_; }
    [[nodiscard]] ReadContext* context() const { return ctx_; }

    // Field `index` of type T (index counts T-sized units), XOR-ed with the
    // bit pattern of its default value.
    template <typename T>
    [[nodiscard]] T get(uint32_t index, wire::Bits<T> mask = 0) const {
        using B = wire::Bits<T>;
        B raw = 0;
        uint64_t end_bits = (static_cast<uint64_t>(index) + 1) * sizeof(T) * 8;
        if (end_bits <= data_bits_) raw = wire::load<B>(data_ + static_cast<size_t>(index) * sizeof(T));
        return wire::from_bits<T>(static_cast<B>(raw ^ mask));
    }

    [[nodiscard]] bool get_bool(uint32_t bit, bool def = false) const {
        if (bit >= data_bits_) return def;
        bool v = ((data_[bit / 8] >> (bit % 8)) & 1u) != 0;
        return v != def;
    }

    // Pointer slot `index` as (context, segment, word, nesting); null past the end.
    [[nodiscard]] PointerReader pointer(uint16_t index) const;

private:
    ReadContext* ctx_ = nullptr;
    const uint8_t* data_ = nullptr;
    uint64_t ptr_idx_ = 0;
    uint32_t seg_ = 0;
    uint32_t data_bits_ = 0;
    uint16_t ptr_count_ = 0;
    int32_t nesting_ = 0;
};

// A view of one list. Elements are `step_bits_` apart; a struct element has
// `data_bits_` of data and `ptr_count_` pointers (primitive lists are
// read as lists of one-field structs, as the wire format's upgrade rules say).
class ListReader {
public:
    constexpr ListReader() = default;
    ListReader(ReadContext* c, uint32_t seg, uint64_t start_word, uint32_t count, uint64_t step_bits,
               uint32_t data_bits, uint16_t ptr_count, int32_t nesting, ElementSize size)
        : ctx_(c),
          start_(start_word),
          step_bits_(step_bits),
          seg_(seg),
          count_(count),
          data_bits_(data_bits),
          ptr_count_(ptr_count),
          nesting_(nesting),
          size_(size) {}

    [[nodiscard]] uint32_t size() const { return count_; }
    [[nodiscard]] ElementSize element_size() const { return size_; }
    [[nodiscard]] uint32_t element_data_bits() const { return data_bits_; }
    [[nodiscard]] uint16_t pointer_count() const { return ptr_count_; }

    [[nodiscard]] const uint8_t* bytes() const { return ctx_ == nullptr ? nullptr : ctx_->at(seg_, start_); }

    template <typename T>
    [[nodiscard]] T get(uint32_t i) const {
        using B = wire::Bits<T>;
        if (i >= count_ || data_bits_ < sizeof(T) * 8) return wire::from_bits<T>(0);
        return wire::from_bits<T>(wire::load<B>(bytes() + (static_cast<uint64_t>(i) * step_bits_) / 8));
    }

    [[nodiscard]] bool get_bool(uint32_t i) const {
        if (i >= count_ || data_bits_ == 0) return false;
        uint64_t bit = static_cast<uint64_t>(i) * step_bits_;
        return ((bytes()[bit / 8] >> (bit % 8)) & 1u) != 0;
    }

    [[nodiscard]] StructReader get_struct(uint32_t i) const {
        if (i >= count_) return StructReader();
        uint64_t bit = static_cast<uint64_t>(i) * step_bits_;
        return StructReader(ctx_, seg_, bytes() + bit / 8, start_ + (bit + data_bits_) / 64, data_bits_, ptr_count_,
                            nesting_);
    }

    [[nodiscard]] PointerReader get_pointer(uint32_t i) const;

private:
    ReadContext* ctx_ = nullptr;
    uint64_t start_ = 0;
    uint64_t step_bits_ = 0;
    uint32_t seg_ = 0;
    uint32_t count_ = 0;
    uint32_t data_bits_ = 0;
    uint16_t ptr_count_ = 0;
    int32_t nesting_ = 0;
    ElementSize size_ = ElementSize::Void;
};

// A blob (text without its NUL, or data) inside a message.
struct BlobView {
    const uint8_t* data = nullptr;
    uint32_t size = 0;
};

// A default value of a struct/list field: a trusted single-segment message
// compiled into the generated header whose root pointer is the value. It
// carries its own context so readers made from it stay valid forever; the
// generated code defines each as a constant-initialized inline variable.
struct DefaultValue {
    constexpr DefaultValue(const uint8_t* words, uint32_t word_count)
        : seg_{words, word_count}, ctx_(&seg_, 1, CapTable{}, 0, true) {}
    DefaultValue(const DefaultValue&) = delete;
    DefaultValue& operator=(const DefaultValue&) = delete;

    SegmentView seg_;
    ReadContext ctx_;
};

// One pointer slot of a message being read.
class PointerReader {
public:
    constexpr PointerReader() = default;
    PointerReader(ReadContext* c, uint32_t seg, uint64_t idx, int32_t nesting)
        : ctx_(c), idx_(idx), seg_(seg), nesting_(nesting) {}

    [[nodiscard]] bool is_null() const { return ctx_ == nullptr || ctx_->word(seg_, idx_) == 0; }
    [[nodiscard]] uint64_t raw_word() const { return ctx_ == nullptr ? 0 : ctx_->word(seg_, idx_); }
    // Follows far pointers without reading the target (validation uses it to learn the kind).
    [[nodiscard]] bool resolve_target(Target& t) const { return ctx_ != nullptr && resolve(ctx_, seg_, idx_, t); }

    [[nodiscard]] StructReader get_struct(DefaultValue* def = nullptr) const;
    [[nodiscard]] ListReader get_list(ElementSize expected, DefaultValue* def = nullptr) const;
    // Text excludes its NUL terminator; `def` is the default when null or malformed.
    [[nodiscard]] BlobView get_text(BlobView def = {}) const;
    [[nodiscard]] BlobView get_data(BlobView def = {}) const;
    // Capability slot from the message's capability table; false if null or invalid.
    [[nodiscard]] bool get_capability(uint32_t& slot) const;

private:
    [[nodiscard]] bool follow(Target& t) const;
    [[nodiscard]] BlobView get_blob(bool text, BlobView def) const;

    ReadContext* ctx_ = nullptr;
    uint64_t idx_ = 0;
    uint32_t seg_ = 0;
    int32_t nesting_ = 0;
};

inline PointerReader StructReader::pointer(uint16_t index) const {
    if (index >= ptr_count_ || ctx_ == nullptr) return PointerReader();
    return PointerReader(ctx_, seg_, ptr_idx_ + index, nesting_);
}

inline PointerReader ListReader::get_pointer(uint32_t i) const {
    if (i >= count_ || ptr_count_ == 0 || ctx_ == nullptr) return PointerReader();
    uint64_t bit = static_cast<uint64_t>(i) * step_bits_ + data_bits_;
    return PointerReader(ctx_, seg_, start_ + bit / 64, nesting_);
}

inline bool PointerReader::follow(Target& t) const {
    if (nesting_ <= 0) {
        ctx_->fail(Error::NestingTooDeep);
        return false;
    }
    return resolve(ctx_, seg_, idx_, t);
}

inline StructReader read_default_struct(DefaultValue* def);
inline ListReader read_default_list(DefaultValue* def, ElementSize expected);

inline StructReader PointerReader::get_struct(DefaultValue* def) const {
    if (is_null()) return read_default_struct(def);
    Target t;
    if (!follow(t)) return read_default_struct(def);
    if (wire::kind(t.tag) != wire::kStruct) {
        ctx_->fail(Error::WrongPointerType);
        return read_default_struct(def);
    }
    uint16_t dw = static_cast<uint16_t>(t.tag >> 32);
    uint16_t pc = static_cast<uint16_t>(t.tag >> 48);
    uint64_t words = static_cast<uint64_t>(dw) + pc;
    if (!ctx_->contains(t.seg, t.off, words)) {
        ctx_->fail(Error::PointerOutOfBounds);
        return read_default_struct(def);
    }
    if (!ctx_->charge(words)) return read_default_struct(def);
    uint64_t off = static_cast<uint64_t>(t.off);
    return StructReader(ctx_, t.seg, ctx_->at(t.seg, off), off + dw, static_cast<uint32_t>(dw) * 64, pc, nesting_ - 1);
}

// Decodes a list pointer's target, applying the official library's rules
// for which encodings may be read as which element type.
inline ListReader PointerReader::get_list(ElementSize expected, DefaultValue* def) const {
    if (is_null()) return read_default_list(def, expected);
    Target t;
    if (!follow(t)) return read_default_list(def, expected);
    if (wire::kind(t.tag) != wire::kList) {
        ctx_->fail(Error::WrongPointerType);
        return read_default_list(def, expected);
    }
    auto size = static_cast<ElementSize>((t.tag >> 32) & 7u);
    uint32_t n = static_cast<uint32_t>(t.tag >> 35);
    if (size == ElementSize::InlineComposite) {
        uint64_t words = n;
        if (!ctx_->contains(t.seg, t.off, words + 1)) {
            ctx_->fail(Error::PointerOutOfBounds);
            return read_default_list(def, expected);
        }
        if (!ctx_->charge(words + 1)) return read_default_list(def, expected);
        uint64_t tag = ctx_->word(t.seg, static_cast<uint64_t>(t.off));
        if (wire::kind(tag) != wire::kStruct) {
            ctx_->fail(Error::BadListTag);
            return read_default_list(def, expected);
        }
        uint32_t count = static_cast<uint32_t>(tag & 0xffffffffu) >> 2;
        uint16_t dw = static_cast<uint16_t>(tag >> 32);
        uint16_t pc = static_cast<uint16_t>(tag >> 48);
        uint64_t per = static_cast<uint64_t>(dw) + pc;
        if (static_cast<uint64_t>(count) * per > words) {
            ctx_->fail(Error::BadListTag);
            return read_default_list(def, expected);
        }
        // Zero-sized elements cost nothing to send but time to walk: charge
        // one word each, as the official library does.
        if (per == 0 && !ctx_->charge(count)) return read_default_list(def, expected);
        bool ok = true;
        switch (expected) {
            case ElementSize::Bit:
                ok = false;
                break;
            case ElementSize::Byte:
            case ElementSize::TwoBytes:
            case ElementSize::FourBytes:
            case ElementSize::EightBytes:
                ok = dw > 0;
                break;
            case ElementSize::Pointer:
                ok = pc > 0;
                break;
            default:
                break;
        }
        if (!ok) {
            ctx_->fail(Error::IncompatibleList);
            return read_default_list(def, expected);
        }
        return ListReader(ctx_, t.seg, static_cast<uint64_t>(t.off) + 1, count, per * 64,
                          static_cast<uint32_t>(dw) * 64, pc, nesting_ - 1, ElementSize::InlineComposite);
    }
    uint32_t dbits = data_bits_per_element(size);
    uint32_t pcount = pointers_per_element(size);
    uint64_t step = dbits + pcount * 64u;
    uint64_t words = (static_cast<uint64_t>(n) * step + 63) / 64;
    if (!ctx_->contains(t.seg, t.off, words)) {
        ctx_->fail(Error::PointerOutOfBounds);
        return read_default_list(def, expected);
    }
    if (!ctx_->charge(words)) return read_default_list(def, expected);
    if (size == ElementSize::Void && !ctx_->charge(n)) return read_default_list(def, expected);
    // As the official reader: a bit list is read only as a bit list (bool
    // lists are never upgraded, not even to Void or structs); any other list
    // is read as a narrower one (element i's first bits; a List(Bool) over a
    // byte list reads bit 0 of each byte), never as a wider one.
    bool ok = true;
    if (size == ElementSize::Bit) {
        ok = expected == ElementSize::Bit;
    } else if (expected != ElementSize::InlineComposite) {
        ok = data_bits_per_element(expected) <= dbits && pointers_per_element(expected) <= pcount;
    }
    if (!ok) {
        ctx_->fail(Error::IncompatibleList);
        return read_default_list(def, expected);
    }
    return ListReader(ctx_, t.seg, static_cast<uint64_t>(t.off), n, step, dbits, static_cast<uint16_t>(pcount),
                      nesting_ - 1, size);
}

inline BlobView PointerReader::get_blob(bool text, BlobView def) const {
    if (is_null()) return def;
    Target t;
    if (!follow(t)) return def;
    if (wire::kind(t.tag) != wire::kList) {
        ctx_->fail(Error::WrongPointerType);
        return def;
    }
    if (static_cast<ElementSize>((t.tag >> 32) & 7u) != ElementSize::Byte) {
        ctx_->fail(Error::NotABlob);
        return def;
    }
    uint32_t n = static_cast<uint32_t>(t.tag >> 35);
    uint64_t words = (static_cast<uint64_t>(n) + 7) / 8;
    if (!ctx_->contains(t.seg, t.off, words)) {
        ctx_->fail(Error::PointerOutOfBounds);
        return def;
    }
    if (!ctx_->charge(words)) return def;
    const uint8_t* p = ctx_->at(t.seg, static_cast<uint64_t>(t.off));
    if (text) {
        if (n == 0 || p[n - 1] != 0) {
            ctx_->fail(Error::TextNotTerminated);
            return def;
        }
        return BlobView{p, n - 1};
    }
    return BlobView{p, n};
}

inline BlobView PointerReader::get_text(BlobView def) const { return get_blob(true, def); }
inline BlobView PointerReader::get_data(BlobView def) const { return get_blob(false, def); }

inline bool PointerReader::get_capability(uint32_t& slot) const {
    if (is_null()) return false;
    uint64_t w = ctx_->word(seg_, idx_);
    if (wire::kind(w) == wire::kFar) {
        // A capability pointer may sit behind a single far pointer.
        Target t;
        if (!follow(t)) return false;
        w = t.tag;
    }
    if (wire::kind(w) != wire::kOther) {
        ctx_->fail(Error::WrongPointerType);
        return false;
    }
    if ((w & 0xfffffffcu) != 0) {
        ctx_->fail(Error::UnknownPointerKind);
        return false;
    }
    uint32_t index = static_cast<uint32_t>(w >> 32);
    CapTable caps = ctx_->caps();
    if (index >= caps.count) {
        ctx_->fail(Error::CapIndexOutOfRange);
        return false;
    }
    slot = caps.slots[index];
    return true;
}

inline StructReader read_default_struct(DefaultValue* def) {
    if (def == nullptr) return StructReader();
    return PointerReader(&def->ctx_, 0, 0, Limits{}.nesting).get_struct(nullptr);
}

inline ListReader read_default_list(DefaultValue* def, ElementSize expected) {
    if (def == nullptr) return ListReader();
    return PointerReader(&def->ctx_, 0, 0, Limits{}.nesting).get_list(expected, nullptr);
}

}  // namespace cap::capnp
