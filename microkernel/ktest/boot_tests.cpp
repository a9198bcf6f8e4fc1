// boot_tests.cpp: in-kernel tests of the boot path (paging, frames, exceptions).
#include "arch/interface/paging.h"
#include "boot/boot_info.h"
#include "mm/frames.h"
#include "debug/console.h"
#include "ktest/ktest.h"

extern "C" char __text_start[], __data_start[], __rodata_start[];

namespace kern {

KTEST("boot", "the kernel reaches the end of boot") { return ktest_ok(); }

KTEST("paging", "identity map gone, W^X on the kernel image, NX and WP on") {
    uint64_t root = arch::kernel_pml4();
    if (arch::lookup_pte(root, 0x100000) != 0) return ktest_fail("identity mapping of 1 MiB still present");
    if (arch::lookup_pte(root, 0) != 0) return ktest_fail("page 0 is mapped");
    uint64_t text = arch::lookup_pte(root, reinterpret_cast<uint64_t>(__text_start));
    if ((text & arch::kPtePresent) == 0) return ktest_fail("kernel text unmapped");
    if ((text & arch::kPteWrite) != 0) return ktest_fail("kernel text is writable");
    if ((text & arch::kPteNx) != 0) return ktest_fail("kernel text is not executable");
    uint64_t ro = arch::lookup_pte(root, reinterpret_cast<uint64_t>(__rodata_start));
    if ((ro & arch::kPteWrite) != 0) return ktest_fail("rodata is writable");
    uint64_t data = arch::lookup_pte(root, reinterpret_cast<uint64_t>(__data_start));
    if ((data & arch::kPteWrite) == 0) return ktest_fail("data is read-only");
    if (arch::cpu_has_nx() && ((data & arch::kPteNx) == 0 || (ro & arch::kPteNx) == 0))
        return ktest_fail("data or rodata executable");
    uint64_t cr0;
    asm volatile("mov %%cr0, %0" : "=r"(cr0));
    if ((cr0 & (1u << 16)) == 0) return ktest_fail("CR0.WP is off");
    // The direct map reaches the last usable byte.
    uint64_t last = (boot_state().phys_end - 1) & ~0xfffull;
    if (arch::lookup_pte(root, arch::kDirectMapBase + last) == 0) return ktest_fail("direct map too short");
    return ktest_ok();
}

KTEST("frames", "frame allocator hands out distinct, usable, writable frames and takes them back") {
    size_t before = frames_free_count();
    constexpr int kN = 256;
    uint64_t got[kN];
    for (int i = 0; i < kN; ++i) {
        auto r = frame_alloc();
        if (!r.ok()) return ktest_fail("allocation failed");
        got[i] = r.value();
        auto* p = arch::phys_to<volatile uint64_t>(got[i]);
        p[0] = got[i];
        p[511] = ~got[i];
    }
    for (int i = 0; i < kN; ++i) {
        auto* p = arch::phys_to<volatile uint64_t>(got[i]);
        if (p[0] != got[i] || p[511] != ~got[i]) return ktest_fail("frames overlap");
        if (got[i] < (1u << 20)) return ktest_fail("frame below 1 MiB handed out");
    }
    if (frames_free_count() != before - kN) return ktest_fail("free count not decremented");
    for (int i = 0; i < kN; ++i) frame_free(got[i]);
    if (frames_free_count() != before) return ktest_fail("free count not restored");
    return ktest_ok();
}

KTEST("pagefault", "a deliberate kernel page fault prints the exception report and stops") {
    kprintf("[ktest] touching an unmapped address on purpose\n");
    auto* p = reinterpret_cast<volatile uint64_t*>(0xdead000ull);
    (void)*p;
    return ktest_fail("page fault did not happen");
}

}  // namespace kern
