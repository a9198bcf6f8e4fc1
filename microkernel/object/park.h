// park.h: the Park kernel object (schema/park.capnp): futex-style wait/wake
// on 32-bit words of the caller's address space.
//
// Waiters are kept in a fixed table of hash buckets keyed by (process,
// address), each under its own lock (rank kobject). wait() compares the
// word under the bucket lock, so a wake() that follows a store to the word
// cannot be missed. One Park object serves every process: the key always
// uses the calling process.
#pragma once

#include "cap/cap_table.h"

namespace kern {

struct Call;

class ParkObject final : public KernelObject {
public:
    static ParkObject& get();
    static void invoke(Call& call, ParkObject& p);
    ParkObject() : KernelObject(ObjectType::park) {}

private:
    void on_last_ref() override {}
};

}  // namespace kern
