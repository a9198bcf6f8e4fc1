// capOS freestanding Cap'n Proto runtime: typed lists, text, data and capability slots used by generated code.
#pragma once

#include <stdint.h>

#include "capos/capnp/builder.h"
#include "capos/capnp/traits.h"
#include "capos/capnp/layout.h"

namespace cap::capnp {

// What a schema type is; generated traits structs declare `kKind`.
enum class Kind : uint8_t { Void, Bool, Primitive, Enum, Struct, Text, Data, List, Interface, AnyPointer };

struct Void {
    static constexpr Kind kKind = Kind::Void;
};

template <typename T>
[[nodiscard]] constexpr Kind kind_of() {
    if constexpr (traits::is_same<T, bool>) {
        return Kind::Bool;
    } else if constexpr (traits::is_arithmetic<T>) {
        return Kind::Primitive;
    } else if constexpr (traits::is_enum<T>) {
        return Kind::Enum;
    } else {
        return T::kKind;
    }
}

// How a list of T is encoded on the wire.
template <typename T>
[[nodiscard]] constexpr ElementSize element_size_of() {
    constexpr Kind k = kind_of<T>();
    if constexpr (k == Kind::Void) {
        return ElementSize::Void;
    } else if constexpr (k == Kind::Bool) {
        return ElementSize::Bit;
    } else if constexpr (k == Kind::Enum) {
        return ElementSize::TwoBytes;
    } else if constexpr (k == Kind::Primitive) {
        if constexpr (sizeof(T) == 1) return ElementSize::Byte;
        if constexpr (sizeof(T) == 2) return ElementSize::TwoBytes;
        if constexpr (sizeof(T) == 4) return ElementSize::FourBytes;
        return ElementSize::EightBytes;
    } else if constexpr (k == Kind::Struct) {
        return ElementSize::InlineComposite;
    } else {
        return ElementSize::Pointer;
    }
}

// Facts about a generated enum (specialized in each generated header).
template <typename E>
struct EnumInfo;

// A capability read from a message: the slot the capability table names.
struct CapSlot {
    uint32_t slot = 0;
    bool valid = false;
};

struct Text {
    static constexpr Kind kKind = Kind::Text;

    // Text inside a message; c_str() is NUL-terminated (validated on read).
    class Reader {
    public:
        constexpr Reader() = default;
        explicit Reader(BlobView b) : data_(reinterpret_cast<const char*>(b.data)), size_(b.size) {}
        [[nodiscard]] const char* c_str() const { return data_ == nullptr ? "" : data_; }
        [[nodiscard]] const char* data() const { return c_str(); }
        [[nodiscard]] uint32_t size() const { return size_; }
        [[nodiscard]] bool equals(const char* s, uint32_t n) const {
            return n == size_ && (n == 0 || __builtin_memcmp(s, data_, n) == 0);
        }
        [[nodiscard]] bool equals(const char* s) const { return equals(s, static_cast<uint32_t>(__builtin_strlen(s))); }

    private:
        const char* data_ = nullptr;
        uint32_t size_ = 0;
    };

    class Builder {
    public:
        constexpr Builder() = default;
        explicit Builder(BlobBuilder b) : data_(reinterpret_cast<char*>(b.data)), size_(b.size) {}
        [[nodiscard]] char* data() const { return data_; }
        [[nodiscard]] uint32_t size() const { return size_; }

    private:
        char* data_ = nullptr;
        uint32_t size_ = 0;
    };
};

struct Data {
    static constexpr Kind kKind = Kind::Data;

    class Reader {
    public:
        constexpr Reader() = default;
        explicit Reader(BlobView b) : data_(b.data), size_(b.size) {}
        [[nodiscard]] const uint8_t* data() const { return data_; }
        [[nodiscard]] uint32_t size() const { return size_; }
        [[nodiscard]] uint8_t operator[](uint32_t i) const { return i < size_ ? data_[i] : 0; }

    private:
        const uint8_t* data_ = nullptr;
        uint32_t size_ = 0;
    };

    class Builder {
    public:
        constexpr Builder() = default;
        explicit Builder(BlobBuilder b) : data_(b.data), size_(b.size) {}
        [[nodiscard]] uint8_t* data() const { return data_; }
        [[nodiscard]] uint32_t size() const { return size_; }

    private:
        uint8_t* data_ = nullptr;
        uint32_t size_ = 0;
    };
};

struct AnyPointer {
    static constexpr Kind kKind = Kind::AnyPointer;
    using Reader = PointerReader;
    using Builder = PointerBuilder;
};

template <typename T>
struct List;

// Reads the pointer `p` as a T (struct, list, blob, capability or raw pointer).
template <typename T>
[[nodiscard]] auto read_pointer(const PointerReader& p, DefaultValue* def = nullptr) {
    constexpr Kind k = kind_of<T>();
    if constexpr (k == Kind::Struct) {
        return typename T::Reader(p.get_struct(def));
    } else if constexpr (k == Kind::List) {
        return typename T::Reader(p.get_list(T::kElementSize, def));
    } else if constexpr (k == Kind::Text) {
        return Text::Reader(p.get_text());
    } else if constexpr (k == Kind::Data) {
        return Data::Reader(p.get_data());
    } else if constexpr (k == Kind::Interface) {
        CapSlot c;
        c.valid = p.get_capability(c.slot);
        return c;
    } else {
        return p;
    }
}

// A list of T. Element access is bounds-checked: an index past the end
// reads as the default and writes nowhere.
template <typename T>
struct List {
    static constexpr Kind kKind = Kind::List;
    static constexpr ElementSize kElementSize = element_size_of<T>();
    static constexpr Kind kElementKind = kind_of<T>();

    class Reader {
    public:
        using Element = T;
        constexpr Reader() = default;
        explicit Reader(ListReader l) : l_(l) {}
        [[nodiscard]] uint32_t size() const { return l_.size(); }
        [[nodiscard]] const ListReader& raw() const { return l_; }

        [[nodiscard]] auto operator[](uint32_t i) const {
            if constexpr (kElementKind == Kind::Bool) {
                return l_.get_bool(i);
            } else if constexpr (kElementKind == Kind::Primitive) {
                return l_.get<T>(i);
            } else if constexpr (kElementKind == Kind::Enum) {
                return static_cast<T>(l_.get<uint16_t>(i));
            } else if constexpr (kElementKind == Kind::Struct) {
                return typename T::Reader(l_.get_struct(i));
            } else if constexpr (kElementKind == Kind::Void) {
                return Void{};
            } else {
                return read_pointer<T>(l_.get_pointer(i));
            }
        }

    private:
        ListReader l_;
    };

    class Builder {
    public:
        using Element = T;
        constexpr Builder() = default;
        explicit Builder(ListBuilder l) : l_(l) {}
        [[nodiscard]] uint32_t size() const { return l_.size(); }
        [[nodiscard]] const ListBuilder& raw() const { return l_; }

        // Primitive, bool and enum elements.
        template <typename V>
        void set(uint32_t i, V v) {
            if constexpr (kElementKind == Kind::Bool) {
                l_.set_bool(i, v);
            } else if constexpr (kElementKind == Kind::Enum) {
                l_.set<uint16_t>(i, static_cast<uint16_t>(v));
            } else if constexpr (kElementKind == Kind::Interface) {
                (void)l_.get_pointer(i).set_capability(v);
            } else {
                static_assert(kElementKind == Kind::Primitive, "set(i, v) is for primitive elements");
                l_.set<T>(i, static_cast<T>(v));
            }
        }

        // Text and data elements.
        void set(uint32_t i, const char* s, uint32_t n) {
            static_assert(kElementKind == Kind::Text, "set(i, s, n) is for List(Text)");
            (void)l_.get_pointer(i).set_text(s, n);
        }
        void set(uint32_t i, const char* s) { set(i, s, static_cast<uint32_t>(__builtin_strlen(s))); }
        void set(uint32_t i, const uint8_t* p, uint32_t n) {
            static_assert(kElementKind == Kind::Data, "set(i, p, n) is for List(Data)");
            (void)l_.get_pointer(i).set_data(p, n);
        }

        // Struct elements are built in place; list elements are allocated.
        [[nodiscard]] auto operator[](uint32_t i) const {
            if constexpr (kElementKind == Kind::Struct) {
                return typename T::Builder(l_.get_struct(i));
            } else if constexpr (kElementKind == Kind::Bool) {
                return l_.get_bool(i);
            } else if constexpr (kElementKind == Kind::Enum) {
                return static_cast<T>(l_.get<uint16_t>(i));
            } else if constexpr (kElementKind == Kind::Primitive) {
                return l_.get<T>(i);
            } else {
                return l_.get_pointer(i);
            }
        }

        [[nodiscard]] auto init(uint32_t i, uint32_t n) const {
            if constexpr (kElementKind == Kind::List) {
                return T::init(l_.get_pointer(i), n);
            } else if constexpr (kElementKind == Kind::Text) {
                return Text::Builder(l_.get_pointer(i).init_text(n));
            } else {
                static_assert(kElementKind == Kind::Data, "init(i, n) is for list, text or data elements");
                return Data::Builder(l_.get_pointer(i).init_data(n));
            }
        }

    private:
        ListBuilder l_;
    };

    // Allocates an n-element list of T in pointer slot p.
    [[nodiscard]] static Builder init(PointerBuilder p, uint32_t n) {
        if constexpr (kElementKind == Kind::Struct) {
            return Builder(p.init_struct_list(n, T::kDataWords, T::kPointerCount));
        } else {
            return Builder(p.init_list(kElementSize, n));
        }
    }
};

}  // namespace cap::capnp
