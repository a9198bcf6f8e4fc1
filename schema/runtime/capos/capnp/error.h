// capOS freestanding Cap'n Proto runtime: error codes and validation limits.
#pragma once

#include <stdint.h>

namespace cap::capnp {

// Every failure of the runtime is one of these values; nothing throws.
// Readers that meet a malformed pointer return the field's default value and
// record the first error in their ReadContext, so a caller that did not run
// validate() up front can still ask afterwards whether anything was wrong.
enum class Error : uint8_t {
    Ok = 0,
    Truncated,           // buffer shorter than its segment table claims, or empty first segment
    BadSegmentTable,     // segment count or sizes overflow / are nonsensical
    TooManySegments,     // more segments than the reader accepts
    PointerOutOfBounds,  // a struct/list pointer's target leaves its segment
    BadFarPointer,       // far pointer names a missing segment, or its landing pad is malformed
    UnknownPointerKind,  // an "other" pointer that is not a capability
    NestingTooDeep,      // more nested pointers than the nesting limit (also catches loops)
    TraversalLimit,      // more words read than the traversal limit (amplification, loops)
    BadListTag,          // composite list tag is not a struct tag or overflows its list
    WrongPointerType,    // struct where a list was expected, or the reverse
    IncompatibleList,    // list element size cannot be read as the expected element type
    TextNotTerminated,   // text blob without its NUL byte
    NotABlob,            // text/data pointer that is not a byte list
    CapIndexOutOfRange,  // capability pointer beyond the message's capability table
    BufferTooSmall,      // builder: caller-provided segments exhausted
    CapTableFull,        // builder: caller-provided capability table exhausted
    ListTooLong,         // builder: element or word count does not fit the pointer encoding
    UnknownInterface,    // dispatch: interface id not implemented here
    UnknownMethod,       // dispatch: method ordinal not implemented here
};

[[nodiscard]] constexpr const char* error_name(Error e) {
    switch (e) {
        case Error::Ok:
            return "ok";
        case Error::Truncated:
            return "truncated";
        case Error::BadSegmentTable:
            return "bad segment table";
        case Error::TooManySegments:
            return "too many segments";
        case Error::PointerOutOfBounds:
            return "pointer out of bounds";
        case Error::BadFarPointer:
            return "bad far pointer";
        case Error::UnknownPointerKind:
            return "unknown pointer kind";
        case Error::NestingTooDeep:
            return "nesting too deep";
        case Error::TraversalLimit:
            return "traversal limit exceeded";
        case Error::BadListTag:
            return "bad composite list tag";
        case Error::WrongPointerType:
            return "wrong pointer type";
        case Error::IncompatibleList:
            return "incompatible list element size";
        case Error::TextNotTerminated:
            return "text not NUL-terminated";
        case Error::NotABlob:
            return "text/data is not a byte list";
        case Error::CapIndexOutOfRange:
            return "capability index out of range";
        case Error::BufferTooSmall:
            return "builder buffer too small";
        case Error::CapTableFull:
            return "capability table full";
        case Error::ListTooLong:
            return "list too long";
        case Error::UnknownInterface:
            return "unknown interface";
        case Error::UnknownMethod:
            return "unknown method";
    }
    return "unknown error";
}

// Limits applied to untrusted messages. The defaults match the official
// library's ReaderOptions: 8 Mi words of traversal and 64 levels of nesting.
struct Limits {
    uint64_t traversal_words = 8u * 1024u * 1024u;
    int32_t nesting = 64;
    uint32_t max_segments = 512;
};

}  // namespace cap::capnp
