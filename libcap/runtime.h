// runtime.h - process start-up state: StartInfo, the calling thread's ring, exit, user address reservations.
//
// The kernel enters a process at libcap's _start (crt0.S) with the register
// state documented in capos/abi/start.h. Start-up validates and copies the
// StartBlock, binds thread 0's ring, runs global constructors, calls
//     int main(cap::StartInfo& info);
// and passes its return value to cap::exit().
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/start.h"
#include "libcap/ring.h"

namespace cap {

using capos::abi::StartCap;

// What a program learns at start-up (a copy of the kernel's StartBlock).
class StartInfo {
public:
    const capos::abi::StartBlock& raw() const { return block_; }
    // A well-known capability, or kNullCap if it was not granted.
    CapHandle cap(StartCap which) const;
    CapHandle process() const { return cap(StartCap::process); }
    CapHandle console() const { return cap(StartCap::console); }
    CapHandle park() const { return cap(StartCap::park); }
    CapHandle timer() const { return cap(StartCap::timer); }
    // A named capability granted by the creator, or kNullCap.
    CapHandle named(const char* name) const;
    // The module command line (never null; "" if none).
    const char* args() const { return args_ ? args_ : ""; }
    size_t args_len() const { return args_ ? block_.args_len : 0; }

    // Start-up only: adopts `b` after checking its magic/version and that its
    // pointers lie in user space. Returns false if the block is unusable.
    bool adopt(const capos::abi::StartBlock* b);

private:
    capos::abi::StartBlock block_{};
    const char* args_ = nullptr;
};

// The process's StartInfo (valid from before global constructors run).
StartInfo& start_info();

// The calling thread's ring. Traps if the thread has none (a thread not
// started through libcap).
Ring& this_ring();
// Binds `r` as the calling thread's ring (thread start-up only).
void set_this_ring(Ring* r);

// Ends the process with `code`. Never returns.
[[noreturn]] void exit(int64_t code);

// Reserves `bytes` (rounded up to pages) of user virtual address space in
// [kUserHeapBase, kUserHeapEnd) for MemoryObject mappings; 0 when exhausted.
// Addresses are never reused.
uint64_t reserve_va(size_t bytes);

// Heap backing that maps fresh MemoryObjects (Process.allocate + map); the
// process-wide heap switches to it when its static arena runs out.
void* memory_object_grow(void* ctx, size_t bytes);

}  // namespace cap
