// libFuzzer target: the message validator and every generated reader over arbitrary bytes.
//
// Invariant checked beyond "no crash, no out-of-bounds read" (ASan/UBSan):
// a message that validate() accepts never makes a reader meet a structural
// error (bounds, far pointers, list tags, capability indices, nesting);
// readers may only see type mismatches the schema-less validator cannot know.
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

namespace {

using cap::capnp::Error;

bool structural(Error e) {
    switch (e) {
        case Error::PointerOutOfBounds:
        case Error::BadFarPointer:
        case Error::UnknownPointerKind:
        case Error::BadListTag:
        case Error::CapIndexOutOfRange:
        case Error::NestingTooDeep:
            return true;
        default:
            return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    uint32_t slots[4] = {10, 11, 12, 13};
    cap::capnp::CapTable caps{slots, static_cast<uint32_t>(size % 5)};
    cap::capnp::Limits limits;
    limits.traversal_words = 1u << 14;  // keeps each execution fast (limits themselves are unit-tested)
    Error verdict;
    {
        cap::capnp::FlatMessageReader<64> r(limits);
        if (r.init_flat(data, size) != Error::Ok) return 0;
        r.set_cap_table(caps);
        verdict = r.validate();
    }
    schema_fuzz::Touch touch;
    auto walk = [&]<typename T>() {
        cap::capnp::FlatMessageReader<64> r(limits);
        if (r.init_flat(data, size) != Error::Ok) __builtin_trap();  // parsed above
        r.set_cap_table(caps);
        visit(r.root<T>(), touch);
        if (verdict == Error::Ok && structural(r.error())) __builtin_trap();
    };
    schema_fuzz::for_each_root(walk);
    return touch.sum == 0x5eed ? 0 : 0;
}
