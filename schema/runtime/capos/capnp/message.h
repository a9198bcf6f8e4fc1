// capOS freestanding Cap'n Proto runtime: message framing, validation, MessageReader and MessageBuilder.
#pragma once

#include <stdint.h>

#include "capos/capnp/builder.h"
#include "capos/capnp/error.h"
#include "capos/capnp/traits.h"
#include "capos/capnp/layout.h"

namespace cap::capnp {

// ---------------------------------------------------------------------------
// Validation: one eager walk over every pointer reachable from the root,
// with the same checks the lazy readers make (bounds, far pointers, list
// tags, capability indices) plus the nesting and traversal limits. A message
// that validates can be read by any generated reader without errors, except
// for type mismatches (a struct pointer where the schema says list), which
// the readers turn into default values.

namespace detail {

[[nodiscard]] inline Error validate_pointer(ReadContext* c, const PointerReader& p);

[[nodiscard]] inline Error validate_struct(ReadContext* c, const StructReader& s) {
    for (uint16_t i = 0; i < s.pointer_count(); ++i) {
        PointerReader child = s.pointer(i);
        Error e = validate_pointer(c, child);
        if (e != Error::Ok) return e;
    }
    return Error::Ok;
}

inline Error validate_pointer(ReadContext* c, const PointerReader& p) {
    if (p.is_null()) return Error::Ok;
    Error before = c->error();
    if (before != Error::Ok) return before;
    uint64_t tag = p.raw_word();
    uint64_t kind = wire::kind(tag);
    if (kind == wire::kFar) {
        Target t;
        if (!p.resolve_target(t)) return c->error();
        tag = t.tag;
        kind = wire::kind(tag);
    }
    if (kind == wire::kStruct) {
        StructReader s = p.get_struct();
        if (c->error() != Error::Ok) return c->error();
        return validate_struct(c, s);
    }
    if (kind == wire::kList) {
        // Read at its own element size: whether a reader may take it as
        // another is the typed reader's question, not the message's.
        ListReader l = p.get_list(static_cast<ElementSize>((tag >> 32) & 7u));
        if (c->error() != Error::Ok) return c->error();
        if (l.pointer_count() == 0) return Error::Ok;
        for (uint32_t i = 0; i < l.size(); ++i) {
            Error e = validate_struct(c, l.get_struct(i));
            if (e != Error::Ok) return e;
        }
        return Error::Ok;
    }
    uint32_t slot;
    if (!p.get_capability(slot)) return c->error() == Error::Ok ? Error::UnknownPointerKind : c->error();
    return Error::Ok;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Reading.

// A message received from an untrusted party. The segment views live in
// caller-provided storage (no heap); see FlatMessageReader for a reader
// with inline storage.
class MessageReader {
public:
    MessageReader(SegmentView* storage, uint32_t storage_count, Limits limits = Limits{})
        : storage_(storage), storage_count_(storage_count), limits_(limits) {}
    MessageReader(const MessageReader&) = delete;
    MessageReader& operator=(const MessageReader&) = delete;

    // Parses the standard stream framing: u32 (segment count - 1), u32 size
    // of each segment in words, padding to 8 bytes, then the segments.
    // `consumed`, if given, receives the framed size in bytes.
    [[nodiscard]] Error init_flat(const void* buf, size_t bytes, size_t* consumed = nullptr) {
        seg_count_ = 0;
        const auto* p = static_cast<const uint8_t*>(buf);
        if (bytes < 8) return finish(Error::Truncated);
        uint32_t count_minus_one = wire::load<uint32_t>(p);
        if (count_minus_one >= 0x7fffffffu) return finish(Error::BadSegmentTable);
        uint64_t count = static_cast<uint64_t>(count_minus_one) + 1;
        if (count > limits_.max_segments || count > storage_count_) return finish(Error::TooManySegments);
        uint64_t header = ((4 + 4 * count) + 7) / 8 * 8;
        if (bytes < header) return finish(Error::Truncated);
        uint64_t pos = header;
        for (uint64_t i = 0; i < count; ++i) {
            uint32_t words = wire::load<uint32_t>(p + 4 + 4 * i);
            uint64_t seg_bytes = static_cast<uint64_t>(words) * kWordBytes;
            if (seg_bytes > bytes - pos) return finish(Error::Truncated);
            storage_[i] = SegmentView{p + pos, words};
            pos += seg_bytes;
        }
        seg_count_ = static_cast<uint32_t>(count);
        if (consumed != nullptr) *consumed = static_cast<size_t>(pos);
        return finish(storage_[0].words == 0 ? Error::Truncated : Error::Ok);
    }

    // Uses segments that are already separate (e.g. straight from a builder).
    [[nodiscard]] Error init_segments(const SegmentView* segs, uint32_t count) {
        seg_count_ = 0;
        if (count == 0) return finish(Error::Truncated);
        if (count > storage_count_ || count > limits_.max_segments) return finish(Error::TooManySegments);
        for (uint32_t i = 0; i < count; ++i) storage_[i] = segs[i];
        seg_count_ = count;
        return finish(storage_[0].words == 0 ? Error::Truncated : Error::Ok);
    }

    // The capability slots that travelled with the message.
    void set_cap_table(CapTable caps) {
        caps_ = caps;
        reset_context();
    }

    // Walks the whole message once; Ok means every reachable pointer is in
    // bounds and the message is within the nesting and traversal limits.
    [[nodiscard]] Error validate() const {
        if (init_error_ != Error::Ok) return init_error_;
        ReadContext c(storage_, seg_count_, caps_, limits_.traversal_words);
        PointerReader root(&c, 0, 0, limits_.nesting);
        return detail::validate_pointer(&c, root);
    }

    [[nodiscard]] PointerReader root_pointer() {
        if (init_error_ != Error::Ok) return PointerReader();
        return PointerReader(&ctx_, 0, 0, limits_.nesting);
    }

    template <typename T>
    [[nodiscard]] typename T::Reader root() {
        return typename T::Reader(root_pointer().get_struct());
    }

    // First error met by a reader made from this message, or the framing error.
    [[nodiscard]] Error error() const { return init_error_ != Error::Ok ? init_error_ : ctx_.error(); }
    [[nodiscard]] uint32_t segment_count() const { return seg_count_; }
    [[nodiscard]] const SegmentView* segments() const { return storage_; }
    [[nodiscard]] CapTable cap_table() const { return caps_; }

private:
    Error finish(Error e) {
        init_error_ = e;
        if (e != Error::Ok) seg_count_ = 0;
        reset_context();
        return e;
    }
    void reset_context() { ctx_ = ReadContext(storage_, seg_count_, caps_, limits_.traversal_words); }

    SegmentView* storage_;
    uint32_t storage_count_;
    uint32_t seg_count_ = 0;
    Limits limits_;
    CapTable caps_{};
    Error init_error_ = Error::Truncated;
    ReadContext ctx_{};
};

// A MessageReader with room for N segments inside it.
template <uint32_t N = 16>
class FlatMessageReader : public MessageReader {
public:
    explicit FlatMessageReader(Limits limits = Limits{}) : MessageReader(storage_, N, limits) {}

private:
    SegmentView storage_[N];
};

// ---------------------------------------------------------------------------
// Building.

// A message built into caller-provided memory. With one buffer it is a
// single-segment message; with several, objects that do not fit where they
// are referenced spill into later segments through far pointers.
class MessageBuilder {
public:
    // Single segment over `bytes` of `buf` (rounded down to whole words).
    MessageBuilder(void* buf, size_t bytes) : single_{}, arena_(&single_, 1) {
        single_.data = static_cast<uint8_t*>(buf);
        single_.capacity_words = clamp_words(bytes / kWordBytes);
        start();
    }

    // Several segments; each SegmentBuffer's used_words is reset to 0.
    MessageBuilder(SegmentBuffer* segs, uint32_t count) : single_{}, arena_(segs, count) {
        for (uint32_t i = 0; i < count; ++i) {
            segs[i].used_words = 0;
            segs[i].capacity_words = clamp_words(segs[i].capacity_words);
        }
        start();
    }

    MessageBuilder(const MessageBuilder&) = delete;
    MessageBuilder& operator=(const MessageBuilder&) = delete;

    void set_cap_table(uint32_t* slots, uint32_t capacity) { arena_.set_cap_table(slots, capacity); }
    [[nodiscard]] CapTable cap_table() const { return arena_.cap_table(); }

    [[nodiscard]] PointerBuilder root_pointer() {
        if (arena_.segment_count() == 0) return PointerBuilder();
        return PointerBuilder(&arena_, 0, 0);
    }

    template <typename T>
    [[nodiscard]] typename T::Builder init_root() {
        return typename T::Builder(root_pointer().init_struct(T::kDataWords, T::kPointerCount));
    }

    [[nodiscard]] Error error() const { return arena_.error(); }

    // Segments up to the last one holding data.
    [[nodiscard]] uint32_t segment_count() const {
        uint32_t n = 0;
        for (uint32_t i = 0; i < arena_.segment_count(); ++i)
            if (arena_.segment(i).used_words != 0) n = i + 1;
        return n;
    }

    [[nodiscard]] uint32_t segments(SegmentView* out, uint32_t max) const {
        uint32_t n = segment_count();
        if (n > max) return 0;
        for (uint32_t i = 0; i < n; ++i) out[i] = SegmentView{arena_.segment(i).data, arena_.segment(i).used_words};
        return n;
    }

    // Size of the stream framing (segment table + segments) in bytes.
    [[nodiscard]] size_t flat_size() const {
        uint32_t n = segment_count();
        size_t total = ((4 + 4 * static_cast<size_t>(n)) + 7) / 8 * 8;
        for (uint32_t i = 0; i < n; ++i) total += static_cast<size_t>(arena_.segment(i).used_words) * kWordBytes;
        return total;
    }

    // Writes the message in stream framing to `out`; BufferTooSmall if it
    // does not fit, or the builder's own sticky error.
    [[nodiscard]] Error write_flat(void* out, size_t capacity, size_t* written) const {
        if (arena_.error() != Error::Ok) return arena_.error();
        size_t need = flat_size();
        if (need > capacity) return Error::BufferTooSmall;
        auto* p = static_cast<uint8_t*>(out);
        uint32_t n = segment_count();
        size_t header = ((4 + 4 * static_cast<size_t>(n)) + 7) / 8 * 8;
        __builtin_memset(p, 0, header);
        wire::store<uint32_t>(p, n - 1);
        size_t pos = header;
        for (uint32_t i = 0; i < n; ++i) {
            const SegmentBuffer& s = arena_.segment(i);
            wire::store<uint32_t>(p + 4 + 4 * i, s.used_words);
            __builtin_memcpy(p + pos, s.data, static_cast<size_t>(s.used_words) * kWordBytes);
            pos += static_cast<size_t>(s.used_words) * kWordBytes;
        }
        if (written != nullptr) *written = pos;
        return Error::Ok;
    }

private:
    static uint32_t clamp_words(uint64_t words) {
        // Far-pointer landing pad offsets have 29 bits.
        return words > (1u << 29) - 1 ? (1u << 29) - 1 : static_cast<uint32_t>(words);
    }

    void start() {
        uint64_t off;
        if (arena_.segment_count() == 0 || !arena_.alloc_in(0, 1, off)) arena_.fail(Error::BufferTooSmall);
    }

    SegmentBuffer single_;
    BuilderArena arena_;
};

}  // namespace cap::capnp
