// syscall.cpp: SYSCALL MSRs, SMEP/SMAP/UMIP, and the per-CPU user-entry state.
#include "arch/x86_64/syscall.h"

#include <stddef.h>

#include "arch/interface/user.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/user_copy.h"
#include "cpu/percpu.h"
#include "arch/x86_64/implements.h"

static_assert(offsetof(kern::PerCpu, syscall_kernel_rsp) == CAPOS_PERCPU_SYSCALL_KRSP,
              "syscall.S reads PerCpu::syscall_kernel_rsp at this offset");
static_assert(offsetof(kern::PerCpu, syscall_user_rsp) == CAPOS_PERCPU_SYSCALL_URSP,
              "syscall.S writes PerCpu::syscall_user_rsp at this offset");
// capos_enter_user (syscall.S) reads arch/interface/user.h's UserEntry at these offsets.
static_assert(offsetof(kern::arch::UserEntry, rip) == 0 && offsetof(kern::arch::UserEntry, rsp) == 8 &&
                  offsetof(kern::arch::UserEntry, rdi) == 16 && offsetof(kern::arch::UserEntry, rsi) == 24,
              "syscall.S capos_enter_user reads UserEntry at fixed offsets");

namespace kern::arch {
namespace {

constexpr uint32_t kMsrEfer = 0xc0000080;
constexpr uint32_t kMsrStar = 0xc0000081;
constexpr uint32_t kMsrLstar = 0xc0000082;
constexpr uint32_t kMsrSfmask = 0xc0000084;
constexpr uint32_t kMsrFsBase = 0xc0000100;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;
constexpr uint32_t kMsrTscAux = 0xc0000103;

constexpr uint64_t kEferSce = 1ull << 0;
constexpr uint64_t kCr4Umip = 1ull << 11;
constexpr uint64_t kCr4Smep = 1ull << 20;
constexpr uint64_t kCr4Smap = 1ull << 21;

// RFLAGS bits cleared on SYSCALL: IF (no interrupt before the stack switch),
// TF, DF (the C ABI wants it clear), IOPL, NT, AC (SMAP stays enforced).
constexpr uint64_t kSfmask = (1ull << 8) | (1ull << 9) | (1ull << 10) | (3ull << 12) | (1ull << 14) | (1ull << 18);

UserCpuFeatures g_features;
bool g_features_read = false;

}  // namespace

void user_cpu_init() {
    if (!g_features_read) {
        CpuidResult base = cpuid(0);
        if (base.eax >= 7) {
            CpuidResult l7 = cpuid(7, 0);
            g_features.smep = (l7.ebx & (1u << 7)) != 0;
            g_features.smap = (l7.ebx & (1u << 20)) != 0;
            g_features.umip = (l7.ecx & (1u << 2)) != 0;
            g_features.fsgsbase = (l7.ebx & 1u) != 0;
            g_features.tsc_aux = (l7.ecx & (1u << 22)) != 0;  // RDPID
        }
        // RDTSCP: without it (or RDPID) the TSC_AUX MSR does not exist and
        // writing it is a #GP on hardware (TCG ignores it; KVM would not).
        if (cpuid(0x80000000u).eax >= 0x80000001u && (cpuid(0x80000001u).edx & (1u << 27)) != 0)
            g_features.tsc_aux = true;
        g_features_read = true;
        g_capos_smap = g_features.smap ? 1 : 0;  // before any CPU runs user code
    }
    wrmsr(kMsrEfer, rdmsr(kMsrEfer) | kEferSce);
    // SYSCALL: CS = 0x08, SS = 0x10. SYSRET (64-bit): CS = 0x18 + 16 = 0x28|3,
    // SS = 0x18 + 8 = 0x20|3 (cpu.h orders the user descriptors for this).
    wrmsr(kMsrStar, (static_cast<uint64_t>(0x18) << 48) | (static_cast<uint64_t>(kKernelCs) << 32));
    wrmsr(kMsrLstar, reinterpret_cast<uint64_t>(&syscall_entry));
    wrmsr(kMsrSfmask, kSfmask);
    wrmsr(kMsrKernelGsBase, 0);  // user GS base while in user mode
    uint64_t cr4 = read_cr4();
    if (g_features.smep) cr4 |= kCr4Smep;
    if (g_features.smap) cr4 |= kCr4Smap;
    if (g_features.umip) cr4 |= kCr4Umip;
    write_cr4(cr4);
    PerCpu& me = cpu::current();
    me.user_fs_base = 0;
    wrmsr(kMsrFsBase, 0);
    // RDTSCP's TSC_AUX = dense CPU id: lets user space (tests) see where it
    // runs (libcap's current_cpu() checks CPUID before RDTSCP).
    if (g_features.tsc_aux) wrmsr(kMsrTscAux, me.id);
}

const UserCpuFeatures& user_cpu_features() { return g_features; }

void set_user_fs_base(uint64_t fs) {
    PerCpu& me = cpu::current();
    if (me.user_fs_base == fs) return;
    wrmsr(kMsrFsBase, fs);
    me.user_fs_base = fs;
}

void set_user_kernel_stack(uint64_t top) {
    PerCpu& me = cpu::current();
    me.syscall_kernel_rsp = top;
    if (me.tables != nullptr) me.tables->tss.rsp[0] = top;
}

void enter_user(const UserEntry& e) { capos_enter_user(&e); }

}  // namespace kern::arch
