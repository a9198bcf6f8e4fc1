// runtime.cpp - process start-up (called from crt0), the thread's ring, exit, address reservations.
#include "libcap/runtime.h"

#include "capos/abi/layout.h"
#include "libcap/calls.h"
#include "libcap/heap.h"
#include "libcap/print.h"
#include "libcap/thread.h"

// The program's entry point. g++ never mangles `main`; naming it through an
// asm label lets libcap call it without the C++ rules about ::main. clang
// under -ffreestanding treats main as an ordinary function and mangles it by
// its parameter list, so there the label is that mangled name.
#if defined(__clang__)
extern "C" int cap_program_main(cap::StartInfo& info) __asm__("_Z4mainRN3cap9StartInfoE");
#else
extern "C" int cap_program_main(cap::StartInfo& info) __asm__("main");
#endif

extern "C" {
// Linker-script symbols (user.ld).
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();
}

namespace cap {

namespace abi = capos::abi;

namespace {

StartInfo g_start;
Ring g_main_ring;
thread_local Ring* t_ring = nullptr;
uint64_t g_next_va = abi::kUserHeapBase;

bool str_eq(const char* a, const char* b, size_t max) {
    for (size_t i = 0; i < max; ++i) {
        if (a[i] != b[i]) return false;
        if (a[i] == '\0') return true;
    }
    return b[max] == '\0';
}

void console_sink(void*, const char* s, size_t n) {
    const CapHandle con = g_start.console();
    if (con == kNullCap || t_ring == nullptr) return;
    while (n > 0) {
        const uint32_t k = n > iface::kConsoleMaxWrite ? iface::kConsoleMaxWrite : static_cast<uint32_t>(n);
        (void)console_write(*t_ring, con, s, k);  // nowhere to report a console failure
        s += k;
        n -= k;
    }
}

bool park_wait_op(void*, const uint32_t* addr, uint32_t expected) {
    Result<bool> r = park_wait(this_ring(), g_start.park(), addr, expected, 0);
    return r.ok() && r.value();
}

void park_wake_op(void*, const uint32_t* addr, uint32_t count) {
    (void)park_wake(this_ring(), g_start.park(), addr, count);
}

}  // namespace

CapHandle StartInfo::cap(StartCap which) const {
    const auto i = static_cast<uint32_t>(which);
    return i < static_cast<uint32_t>(StartCap::count) ? block_.wellknown[i] : kNullCap;
}

CapHandle StartInfo::named(const char* name) const {
    if (block_.named_count == 0 || block_.named_addr == 0) return kNullCap;
    const auto* caps = reinterpret_cast<const abi::NamedCap*>(block_.named_addr);
    for (uint32_t i = 0; i < block_.named_count; ++i)
        if (str_eq(caps[i].name, name, sizeof caps[i].name)) return caps[i].handle;
    return kNullCap;
}

bool StartInfo::adopt(const abi::StartBlock* b) {
    if (b == nullptr) return false;
    if (!abi::user_range_ok(reinterpret_cast<uint64_t>(b), sizeof *b)) return false;
    if (b->magic != abi::kStartMagic || b->version != abi::kStartVersion) return false;
    block_ = *b;
    args_ = nullptr;
    if (block_.args_addr != 0 && abi::user_range_ok(block_.args_addr, block_.args_len + 1))
        args_ = reinterpret_cast<const char*>(block_.args_addr);
    if (!abi::user_range_ok(block_.named_addr, uint64_t{block_.named_count} * sizeof(abi::NamedCap)))
        block_.named_count = 0;
    return true;
}

StartInfo& start_info() { return g_start; }

Ring& this_ring() {
    if (t_ring == nullptr) __builtin_trap();
    return *t_ring;
}

void set_this_ring(Ring* r) { t_ring = r; }

void exit(int64_t code) {
    if (t_ring != nullptr) (void)process_exit(*t_ring, g_start.process(), code);
    // Exit refused or impossible (no ring, no Process cap): fault, which the
    // kernel turns into a `faulted` exit of the process.
    for (;;) __builtin_trap();
}

uint64_t reserve_va(size_t bytes) {
    const uint64_t len = (uint64_t{bytes} + abi::kPageSize - 1) & ~(abi::kPageSize - 1);
    uint64_t cur = __atomic_load_n(&g_next_va, __ATOMIC_RELAXED);
    do {
        if (len > abi::kUserHeapEnd - cur) return 0;
    } while (!__atomic_compare_exchange_n(&g_next_va, &cur, cur + len, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return cur;
}

void* memory_object_grow(void*, size_t bytes) {
    if (t_ring == nullptr || g_start.process() == kNullCap) return nullptr;
    Result<CapHandle> mem = process_allocate(*t_ring, g_start.process(), bytes);
    if (!mem.ok()) return nullptr;
    const uint64_t va = reserve_va(bytes);
    if (va == 0) return nullptr;
    if (!process_map(*t_ring, g_start.process(), mem.value(), va, 0, bytes, true, false).ok()) return nullptr;
    return reinterpret_cast<void*>(va);
}

}  // namespace cap

// Called by _start (crt0.S) on the initial stack with the kernel's StartBlock.
extern "C" [[noreturn]] void cap_runtime_start(const capos::abi::StartBlock* block) {
    using namespace cap;
    if (!g_start.adopt(block)) __builtin_trap();  // nothing to print with, no Process cap to exit by
    const uint64_t ring_addr = g_start.raw().ring_addr != 0 ? g_start.raw().ring_addr : abi::user_ring_addr(0);
    if (!g_main_ring.attach(reinterpret_cast<void*>(ring_addr), abi::kUserRingStride - abi::kPageSize).ok())
        __builtin_trap();
    set_this_ring(&g_main_ring);
    set_output(&console_sink, nullptr);
    // A process granted no Park keeps the spinning ParkOps: Mutex stays
    // correct, contention just spins (a spawned child has Park only if its
    // creator passed it: docs/userspace.md, "Spawner").
    if (g_start.park() != kNullCap) set_park_ops(ParkOps{&park_wait_op, &park_wake_op, nullptr});
    set_global_heap_fallback(HeapBacking{&memory_object_grow, nullptr});

    for (void (**f)() = __init_array_start; f != __init_array_end; ++f) (*f)();

    const int rc = cap_program_main(g_start);
    cap::exit(rc);
}
