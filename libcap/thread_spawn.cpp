// thread_spawn.cpp - creating and joining threads through the Process and Thread capabilities (guest only).
#include "capos/abi/layout.h"
#include "libcap/calls.h"
#include "libcap/heap.h"
#include "libcap/runtime.h"
#include "libcap/spawn.h"
#include "libcap/thread.h"

extern "C" void cap_thread_entry();  // crt0.S: aligns rsp, calls cap_thread_main(rdi)

namespace cap {

namespace abi = capos::abi;

struct Thread::Block {
    Fn fn;
    void* arg;
    int64_t exit_code;
    uint64_t map_base;  // MemoryObject stack: mapped range [map_base, map_base + stack_bytes)
    uint64_t stack_bytes;
    CapHandle memory;  // its MemoryObject, kNullCap for a heap stack
    void* heap_stack;  // heap stack block, or nullptr
};

uint32_t thread_index() {
    uint64_t tp;
    // %fs:0 holds the thread pointer itself (variant II); the slot it lies in
    // is the thread's index (layout.h).
    asm volatile("mov %%fs:0, %0" : "=r"(tp));
    if (tp < abi::kUserTlsBase) __builtin_trap();
    const uint64_t index = (tp - abi::kUserTlsBase) / abi::kUserTlsStride;
    if (index >= abi::kMaxThreadsPerProcess) __builtin_trap();
    return static_cast<uint32_t>(index);
}

Result<Thread> Thread::spawn(Fn fn, void* arg, size_t stack_bytes) {
    const uint64_t bytes = (uint64_t{stack_bytes} + abi::kPageSize - 1) & ~(abi::kPageSize - 1);
    if (bytes == 0 || bytes > abi::kUserStackMax) return Status::invalid_argument;
    Ring& ring = this_ring();
    const CapHandle process = start_info().process();

    uint64_t base = 0;
    CapHandle memory = kNullCap;
    void* heap_stack = nullptr;
    // Preferred: a MemoryObject above an unmapped guard, so an overflow faults.
    Result<CapHandle> mem = process_allocate(ring, process, bytes);
    if (mem.ok()) {
        const uint64_t va = reserve_va(kStackGuard + bytes);
        if (va != 0 && process_map(ring, process, mem.value(), va + kStackGuard, 0, bytes, true, false).ok()) {
            base = va + kStackGuard;
            memory = mem.value();
        } else {
            CapHandle m = mem.value();
            (void)drop_caps(&m, 1);
        }
    }
    if (base == 0) {
        heap_stack = global_heap().alloc_aligned(abi::kPageSize, bytes);
        if (heap_stack == nullptr) return Status::no_memory;
        base = reinterpret_cast<uint64_t>(heap_stack);
    }

    // The start block sits at the top of the new stack; the thread's stack
    // begins 16-byte aligned just below it.
    const uint64_t top = base + bytes;
    const uint64_t block_addr = (top - sizeof(Block)) & ~uint64_t{63};
    auto* block = reinterpret_cast<Block*>(block_addr);
    *block = Block{fn, arg, 0, base, bytes, memory, heap_stack};
    const uint64_t stack_top = block_addr & ~uint64_t{15};

    Result<CapHandle> t =
        process_create_thread(ring, process, reinterpret_cast<uint64_t>(&cap_thread_entry), stack_top, block_addr);
    if (!t.ok()) {
        if (memory != kNullCap) {
            (void)process_unmap(ring, process, base, bytes);
            (void)drop_caps(&memory, 1);
        }
        if (heap_stack != nullptr) global_heap().free(heap_stack);
        return t.status();
    }
    Thread th;
    th.handle_ = t.value();
    th.block_ = block;
    return th;
}

Result<int64_t> Thread::join() {
    if (block_ == nullptr) return Status::invalid_argument;
    Ring& ring = this_ring();
    Result<JoinResult> j = thread_join(ring, handle_);
    if (!j.ok()) return j.status();
    // The thread is gone, so its stack (and the block on it) can go too.
    const Block b = *block_;
    block_ = nullptr;
    // Its handle and its stack's MemoryObject go as well: a program may
    // create and join threads all its life without filling its table.
    CapHandle drop[2] = {handle_, b.memory};
    handle_ = kNullCap;
    if (b.memory != kNullCap) (void)process_unmap(ring, start_info().process(), b.map_base, b.stack_bytes);
    (void)drop_caps(drop, b.memory != kNullCap ? 2 : 1);
    if (b.heap_stack != nullptr) global_heap().free(b.heap_stack);
    return j.value().exit_code;
}

}  // namespace cap

// First C++ code of a new thread (from cap_thread_entry), on its new stack.
extern "C" [[noreturn]] void cap_thread_main(cap::Thread::Block* block) {
    using namespace cap;
    // The thread's own ring lives in this frame for the thread's lifetime.
    Ring ring;
    const uint32_t index = thread_index();
    if (!ring.attach(reinterpret_cast<void*>(abi::user_ring_addr(index)), abi::kUserRingStride - abi::kPageSize).ok())
        __builtin_trap();
    set_this_ring(&ring);
    const int64_t code = block->fn(block->arg);
    block->exit_code = code;
    (void)process_exit_thread(ring, start_info().process(), code);
    for (;;) __builtin_trap();
}
