// main.cpp: kmain, the BSP's path from the boot stub to a running kernel.
#include <stddef.h>
#include <stdint.h>

#include "arch/interface/boot.h"
#include "arch/interface/paging.h"
#include "boot/boot_info.h"
#include "debug/console.h"
#include "debug/fault_inject.h"
#include "mm/kheap.h"
#include "ktest/ktest.h"
#include "debug/panic.h"
#include "boot/init_process.h"
#include "sched/sched.h"
#include "ipc/syscall.h"
#include "cpu/percpu.h"
#include "cpu/spinlock.h"
#include "arch/interface/smp.h"
#include "boot/cmdline.h"
#include "mm/frame_allocator.h"
#include "mm/frames.h"
#include "boot/multiboot2.h"
#include "object/scheduler_control.h"

extern "C" char __boot_start[], __kernel_end[];

namespace kern {
void run_global_constructors();

namespace {
BootState g_boot;
uint64_t g_frame_storage_pa = 0;

char g_utest_name[64] = {};  // utest=<name>
// Options meant for the utest program, not the kernel (utest=fuzz reads its
// seed and size from them): copied as `key=value` words into its arguments.
char g_utest_args[128] = {};
size_t g_utest_args_len = 0;
constexpr const char* kUtestArgOptions[] = {"fuzz_seed", "fuzz_count", "fuzz_threads", "fuzz_classes", "ucase"};
// placement=<k=v,...>: for init, which adds the pairs to its manifest's
// `placement` entry (benchmarks vary a policy's arguments without a rebuild).
char g_init_args[128] = {};
bool g_strace = false;  // strace: placement trace on from boot (issue 7)

const CmdlineOption kOptions[] = {
    {"test", true, "run one in-kernel test and exit QEMU with its result"},
    {"manifest", true, "boot manifest module to start (default: default)"},
    {"quiet", false, "less boot output"},
    {"utest", true, "start boot module utest-<value> instead of init; exit QEMU with its test result"},
    {"strace", false, "record placement events and decisions per CPU (SchedulerControl trace)"},
    {"tick", true,
     "periodic: keep the 250 Hz tick on every CPU (default adaptive: a CPU running one user thread "
     "alone stops it)"},
    {"placement", true,
     "arguments for the boot manifest's placement server, key=value[,key=value...] (passed to init)"},
    {"ucase", true, "utest=<program>: run only its case <value> (passed to the utest program)"},
    {"fuzz_seed", true, "utest=fuzz: seed of the submission stream (passed to the utest program)"},
    {"fuzz_count", true, "utest=fuzz: submissions in all (passed to the utest program)"},
    {"fuzz_threads", true, "utest=fuzz: fuzzing threads per process (passed to the utest program)"},
    {"fuzz_classes", true, "utest=fuzz: bit mask of the submission classes to generate (passed to the utest program)"},
    {"fail_frame_nth", true, "fail the N-th frame allocation counted from the first user process's start (tests)"},
    {"fail_frame_every", true, "fail every K-th frame allocation from the first user process's start (tests)"},
    {"fail_heap_nth", true, "fail the N-th kernel heap allocation from the first user process's start (tests)"},
    {"fail_heap_every", true, "fail every K-th kernel heap allocation from the first user process's start (tests)"},
    {"fault_inject", true, "on: grant the utest program the FaultInjection capability (per-thread injection; tests)"},
};
constexpr size_t kOptionCount = sizeof(kOptions) / sizeof(kOptions[0]);

struct FaultOption {
    const char* name;
    fault::Kind kind;
    bool every;  // every-k rule (else nth)
};
constexpr FaultOption kFaultOptions[] = {{"fail_frame_nth", fault::Kind::frame, false},
                                         {"fail_frame_every", fault::Kind::frame, true},
                                         {"fail_heap_nth", fault::Kind::heap, false},
                                         {"fail_heap_every", fault::Kind::heap, true}};

void print_accepted_options() {
    kprintf("[capos] accepted options:\n");
    for (const CmdlineOption& o : kOptions) kprintf("  %s%s - %s\n", o.name, o.takes_value ? "=<value>" : "", o.help);
}

// Returns false when the command line has errors (they are printed).
bool parse_cmdline(const char* cmdline) {
    if (cmdline == nullptr) return true;
    size_t len = 0;
    while (cmdline[len] != '\0') ++len;
    bool ok = true;
    cmdline_for_each(cmdline, len, [&](const CmdlineToken& t) {
        switch (cmdline_check(t, kOptions, kOptionCount)) {
            case CmdlineIssue::ok:
                break;
            case CmdlineIssue::unknown_option:
                kprintf("[capos] error: unknown kernel option '%.*s'\n", static_cast<int>(t.key_len), t.key);
                ok = false;
                return;
            case CmdlineIssue::missing_value:
                kprintf("[capos] error: option '%.*s' needs a value\n", static_cast<int>(t.key_len), t.key);
                ok = false;
                return;
            case CmdlineIssue::unexpected_value:
                kprintf("[capos] error: option '%.*s' takes no value\n", static_cast<int>(t.key_len), t.key);
                ok = false;
                return;
        }
        if (cmdline_key_is(t, "test") && !cmdline_copy_value(t, g_boot.test_name, sizeof(g_boot.test_name))) {
            kprintf("[capos] error: test name too long\n");
            ok = false;
        }
        if (cmdline_key_is(t, "utest") && !cmdline_copy_value(t, g_utest_name, sizeof(g_utest_name))) {
            kprintf("[capos] error: utest name too long\n");
            ok = false;
        }
        if (cmdline_key_is(t, "strace")) g_strace = true;
        if (cmdline_key_is(t, "placement") && !cmdline_copy_value(t, g_init_args, sizeof(g_init_args))) {
            kprintf("[capos] error: placement arguments longer than %zu bytes\n", sizeof(g_init_args) - 1);
            ok = false;
        }
        for (const char* k : kUtestArgOptions) {
            if (!cmdline_key_is(t, k)) continue;
            const size_t need = t.key_len + 1 + t.value_len + 1;
            if (g_utest_args_len + need >= sizeof(g_utest_args)) {
                kprintf("[capos] error: utest arguments too long\n");
                ok = false;
                break;
            }
            g_utest_args[g_utest_args_len++] = ' ';
            __builtin_memcpy(g_utest_args + g_utest_args_len, t.key, t.key_len);
            g_utest_args_len += t.key_len;
            g_utest_args[g_utest_args_len++] = '=';
            __builtin_memcpy(g_utest_args + g_utest_args_len, t.value, t.value_len);
            g_utest_args_len += t.value_len;
        }
        if (cmdline_key_is(t, "tick")) {
            if (cmdline_value_is(t, "periodic") || cmdline_value_is(t, "adaptive")) {
                sched::set_adaptive_tick(cmdline_value_is(t, "adaptive"));
            } else {
                kprintf("[capos] error: option 'tick' takes periodic or adaptive\n");
                ok = false;
            }
        }
        for (const FaultOption& f : kFaultOptions) {
            if (!cmdline_key_is(t, f.name)) continue;
            auto v = fault::parse_count(t.value, t.value_len);
            if (!v.ok()) {
                kprintf("[capos] error: option '%s' takes a count from 1 to 2^63 in decimal, not '%.*s'\n", f.name,
                        static_cast<int>(t.value_len), t.value);
                ok = false;
            } else {
                fault::set_boot_rule(f.kind, f.every ? 0 : v.value(), f.every ? v.value() : 0);
            }
        }
        if (cmdline_key_is(t, "fault_inject")) {
            if (cmdline_value_is(t, "on") || cmdline_value_is(t, "off")) {
                fault::set_grant(cmdline_value_is(t, "on"));
            } else {
                kprintf("[capos] error: option 'fault_inject' takes on or off\n");
                ok = false;
            }
        }
        if (cmdline_key_is(t, "manifest") &&
            !cmdline_copy_value(t, g_boot.manifest_name, sizeof(g_boot.manifest_name))) {
            kprintf("[capos] error: manifest name too long\n");
            ok = false;
        }
    });
    if (!ok) print_accepted_options();
    return ok;
}

Result<multiboot2::BootInfo> parse_boot_info(uint64_t info_pa) {
    // The first 8 bytes give the total size; validate before trusting it.
    const auto* head = arch::phys_to<const uint8_t>(info_pa);
    uint32_t total = *reinterpret_cast<const uint32_t*>(head);
    if (total < 16 || total > (1u << 20)) return Error::malformed;
    return multiboot2::BootInfo::parse(head, total);
}

// Reserved: real-mode area, kernel, boot info, every module, the bitmap.
constexpr size_t kMaxRanges = 3 + kMaxBootModules + 1 + 4;

void init_frames(uint64_t info_pa) {
    // Static: about 8 KiB each, too much for the boot stack; runs once.
    static PhysRange usable[kMaxRanges];
    size_t n_usable = 0;
    g_boot.info.for_each_memory_region([&](const multiboot2::MemoryRegion& r) {
        if (r.type != multiboot2::MemoryType::available || n_usable == kMaxRanges) return;
        usable[n_usable++] = PhysRange{r.base, r.length};
        g_boot.usable_bytes += r.length;
        if (r.base + r.length > g_boot.phys_end) g_boot.phys_end = r.base + r.length;
    });
    static PhysRange reserved[kMaxRanges];
    size_t n_res = 0;
    reserved[n_res++] = PhysRange{0, 1ull << 20};  // real-mode area, AP trampoline, BIOS
    uint64_t k_start = reinterpret_cast<uint64_t>(__boot_start);
    uint64_t k_end = arch::virt_to_phys(__kernel_end);
    reserved[n_res++] = PhysRange{k_start, k_end - k_start};
    reserved[n_res++] = PhysRange{info_pa, g_boot.info.total_size()};
    size_t unreserved = 0;
    g_boot.info.for_each_module([&](const multiboot2::Module& m) {
        if (n_res + 1 < kMaxRanges) reserved[n_res++] = PhysRange{m.start, static_cast<uint64_t>(m.end) - m.start};
        else ++unreserved;
    });
    // A module whose memory is not reserved would be handed out as free
    // frames while it is still read: refuse to boot rather than corrupt.
    if (unreserved != 0) panic("%zu boot modules over the limit of %zu (kMaxBootModules)", unreserved, kMaxBootModules);
    size_t words = FrameAllocator::storage_words(FrameAllocator::usable_end(usable, n_usable));
    auto where = FrameAllocator::place_storage(usable, n_usable, reserved, n_res, words * 8);
    if (!where.ok()) panic("no room for the frame bitmap: %s", error_name(where.error()));
    if (where.value() + words * 8 > arch::kBootMapLimit) panic("frame bitmap placed above the boot map");
    if (n_res < kMaxRanges) reserved[n_res++] = PhysRange{where.value(), words * 8};
    auto r = frames_init(arch::phys_to<uint64_t>(where.value()), words, usable, n_usable, reserved, n_res);
    if (!r.ok()) panic("frame allocator init failed: %s", error_name(r.error()));
    g_frame_storage_pa = where.value();
}

void record_modules() {
    g_boot.module_count = 0;
    g_boot.info.for_each_module([&](const multiboot2::Module& m) {
        if (g_boot.module_count == kMaxBootModules) return;  // init_frames refused such a boot already
        BootModule& b = g_boot.modules[g_boot.module_count++];
        b.start = m.start;
        b.end = m.end;
        size_t i = 0;
        for (; i + 1 < sizeof(b.name) && m.string[i] != '\0'; ++i) b.name[i] = m.string[i];
        b.name[i] = '\0';
    });
}

}  // namespace

BootState& boot_state() { return g_boot; }
}  // namespace kern

extern "C" [[noreturn]] void kmain(uint32_t magic, uint32_t info_pa) {
    using namespace kern;
    cpu::init_boot_cpu();  // GS -> boot CPU block before anything takes a lock
    console_init();
    run_global_constructors();
    kprintf("\n[capos] capOS kernel starting\n");
    if (magic != multiboot2::kBootloaderMagic) panic("bad Multiboot2 magic %#x", magic);

    arch::boot_cpu_init();  // descriptor tables, IDT, legacy PIC masked

    if (info_pa + 8 > arch::kBootMapLimit) panic("boot information above the boot map");
    auto info = parse_boot_info(info_pa);
    if (!info.ok()) panic("malformed Multiboot2 information: %s", error_name(info.error()));
    g_boot.info = info.value();
    bool cmdline_ok = parse_cmdline(g_boot.info.cmdline());

    init_frames(info_pa);
    auto pg = arch::paging_init(g_boot.phys_end, &frame_alloc);
    if (!pg.ok()) panic("paging_init failed: %s", error_name(pg.error()));
    frames_rebase_storage(arch::phys_to<uint64_t>(g_frame_storage_pa));
    // Re-read the boot information through the direct map: the boot mapping is gone.
    auto info2 = parse_boot_info(info_pa);
    if (!info2.ok()) panic("boot information unreadable after paging");
    g_boot.info = info2.value();
    record_modules();
    kheap_init();

    unsigned firmware_cpus = arch::smp_init();  // CPUs actually running
    kprintf("[capos] boot ok cpus=%u mem=%llu\n", firmware_cpus,
            static_cast<unsigned long long>(g_boot.usable_bytes >> 20));
    sched::init();  // per-CPU dispatch; kmain continues as a kernel thread

    if (g_boot.test_name[0] != '\0') {
        const KTest* t = ktest_find(g_boot.test_name);
        if (t == nullptr) {
            kprintf("[capos] error: unknown test '%s'; accepted tests:\n", g_boot.test_name);
            ktest_list();
            stop_machine(StopReason::test_fail);
        }
        ktest_run(*t);
    }
    if (!cmdline_ok) kprintf("[capos] continuing with the options that were understood\n");
    userspace_init();                  // SYSCALL, SMEP/SMAP/UMIP on every CPU; timekeeper, reaper
    SchedulerControl::init(g_strace);  // user-space placement hooks (issue 7)
    if (!start_first_process(g_utest_name, g_utest_args, g_init_args) && g_utest_name[0] != '\0')
        stop_machine(StopReason::test_fail);
    kprintf("[capos] idle\n");
    sched::exit_current();  // this CPU's idle thread takes over
}
