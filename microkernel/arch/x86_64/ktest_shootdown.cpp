// ktest_shootdown.cpp: in-kernel tests of TLB shootdown (stress, its
// negative control, timeout) and the shootdown cost measurement. x86_64: the
// readers probe pages with an instruction whose #PF the test handles.
#include "arch/interface/cpu.h"
#include "arch/interface/paging.h"
#include "arch/interface/tlb.h"
#include "arch/x86_64/cpu.h"
#include "mm/frames.h"
#include "cpu/percpu.h"
#include "cpu/spinlock.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "ktest/ktest.h"
#include "ktest/helpers.h"
#include "object/address_space.h"
#include "object/thread.h"
#include "sched/sched.h"

namespace kern {
namespace {

using namespace ktest_helpers;

// Shootdown stress: one thread remaps (and sometimes unmaps) pages of an
// address space to fresh frames while threads on the other CPUs read them
// through it. After every shootdown the old frame is poisoned: reading the
// poison (or an older version) means a stale translation survived.

extern "C" char sd_probe_insn[], sd_probe_resume[];
extern "C" uint64_t sd_probe_read(uint64_t va);
asm(R"(
.text
.global sd_probe_read
sd_probe_read:
.global sd_probe_insn
sd_probe_insn:
    movq (%rdi), %rax
.global sd_probe_resume
sd_probe_resume:
    ret
)");

constexpr uint64_t kProbeFault = 0xfffffffffffffffeull;
constexpr uint64_t kPoison = 0xdeaddeaddeaddeadull;
constexpr uint64_t kMagic = 0xcafeull;
constexpr unsigned kSlots = 8;
constexpr unsigned kFramesPerSlot = 3;
constexpr uint64_t kTestVa = 0x0000000040000000ull;

void probe_fault(arch::InterruptFrame& f) {
    if (f.rip == reinterpret_cast<uint64_t>(sd_probe_insn)) {
        f.rax = kProbeFault;
        f.rip = reinterpret_cast<uint64_t>(sd_probe_resume);
        return;
    }
    arch::report_exception(f);
    stop_machine(StopReason::exception);
}

uint64_t content(unsigned slot, uint64_t version) { return (kMagic << 48) | (uint64_t{slot} << 40) | version; }

struct Stress {
    AddressSpace* as = nullptr;
    uint64_t frames[kSlots][kFramesPerSlot] = {};
    unsigned cur[kSlots] = {};
    uint64_t version[kSlots] = {};
    volatile bool stop = false;
    uint64_t reads[kMaxCpus] = {};
    uint64_t faults[kMaxCpus] = {};
    uint64_t stale[kMaxCpus] = {};
    uint64_t bad_value[kMaxCpus] = {};
    uint64_t first_bad[kMaxCpus] = {};
    uint64_t writer_iters = 0;
    uint64_t writer_errors = 0;
    bool skip_shootdown = false;  // negative control: the test must then fail
};

void fill(uint64_t frame, uint64_t value) {
    auto* w = arch::phys_to<uint64_t>(frame);
    for (unsigned i = 0; i < 512; ++i) w[i] = value;
}

struct ReaderArg {
    Stress* s;
    unsigned slot_id;  // index into the per-reader arrays
};

void stress_reader(void* p) {
    auto* a = static_cast<ReaderArg*>(p);
    Stress& s = *a->s;
    unsigned me = a->slot_id;
    uint64_t last[kSlots] = {};
    unsigned k = me * 13;
    while (!s.stop) {
        for (unsigned slot = 0; slot < kSlots; ++slot) {
            k = k * 1103515245u + 12345u;
            uint64_t va = kTestVa + slot * 4096ull + ((k >> 8) % 512) * 8;
            uint64_t v = sd_probe_read(va);
            ++s.reads[me];
            if (v == kProbeFault) {
                ++s.faults[me];
                continue;
            }
            bool bad = false;
            if (v == kPoison) {
                ++s.stale[me];
                bad = true;
            } else if ((v >> 48) != kMagic || ((v >> 40) & 0xff) != slot) {
                ++s.bad_value[me];
                bad = true;
            } else {
                uint64_t ver = v & 0xffffffffffull;
                if (ver < last[slot]) {
                    ++s.stale[me];  // an older frame's content after a newer one: stale entry
                    bad = true;
                }
                last[slot] = ver;
            }
            if (bad && s.first_bad[me] == 0) s.first_bad[me] = v;
        }
    }
}

void stress_writer(void* p) {
    auto* s = static_cast<Stress*>(p);
    uint64_t t0 = now();
    uint64_t it = 0;
    // 2.5 s and at least 200 rounds (a loaded host can stretch shootdowns to
    // milliseconds when it deschedules vCPUs), but never more than 30 s.
    for (;;) {
        uint64_t el = now() - t0;
        if ((el >= ms_cycles(2500) && it >= 200) || el >= ms_cycles(30000)) break;
        unsigned slot = static_cast<unsigned>(it % kSlots);
        unsigned next = (s->cur[slot] + 1) % kFramesPerSlot;
        uint64_t old_frame = s->frames[slot][s->cur[slot]];
        uint64_t new_frame = s->frames[slot][next];
        uint64_t ver = ++s->version[slot];
        fill(new_frame, content(slot, ver));
        uint64_t va = kTestVa + slot * 4096ull;
        uint64_t flags = arch::kPteWrite | arch::kPteNx;
        if (s->skip_shootdown) {
            // Negative control: change the PTE and flush only this CPU.
            (void)arch::map_page(s->as->root(), va, new_frame, flags, &frame_alloc);
            arch::tlb::flush_page_local(va);
        } else if (it % 3 == 0) {
            auto r = s->as->unmap(va);
            if (!r.ok() || r.value() != old_frame) ++s->writer_errors;
            fill(old_frame, kPoison);
            if (!s->as->map(va, new_frame, flags).ok()) ++s->writer_errors;
        } else {
            auto r = s->as->remap(va, new_frame, flags);
            if (!r.ok() || r.value() != old_frame) ++s->writer_errors;
        }
        fill(old_frame, kPoison);
        s->cur[slot] = next;
        // The writer runs in the address space too: it must see the new frame at once.
        if (sd_probe_read(va) != content(slot, ver)) ++s->writer_errors;
        ++it;
    }
    s->writer_iters = it;
}

KTestResult run_stress(bool skip_shootdown) {
    static Stress s;
    static ReaderArg rargs[kMaxCpus];
    static Thread* readers[kMaxCpus];
    unsigned n = ncpus();
    s.skip_shootdown = skip_shootdown;
    auto as = AddressSpace::create();
    if (!as.ok()) return ktest_fail("AddressSpace::create failed");
    s.as = as.value();
    for (unsigned slot = 0; slot < kSlots; ++slot) {
        for (unsigned f = 0; f < kFramesPerSlot; ++f) {
            auto fr = frame_alloc();
            if (!fr.ok()) return ktest_fail("out of frames");
            s.frames[slot][f] = fr.value();
            fill(fr.value(), kPoison);
        }
        s.version[slot] = 1;
        fill(s.frames[slot][0], content(slot, 1));
        if (!s.as->map(kTestVa + slot * 4096ull, s.frames[slot][0], arch::kPteWrite | arch::kPteNx).ok()) {
            return ktest_fail("initial map failed");
        }
    }
    arch::set_interrupt_handler(14, probe_fault);
    // Readers on CPUs 1..n-1 (on CPU 0 too when it is the only one); the
    // writer on CPU 0.
    unsigned nr = 0;
    for (unsigned c = (n > 1 ? 1 : 0); c < n; ++c) {
        rargs[nr] = ReaderArg{&s, nr};
        ThreadOptions o;
        o.name = "sd-reader";
        o.allowed = CpuMask::only(c);
        o.address_space = s.as;
        auto t = Thread::create(stress_reader, &rargs[nr], o);
        if (!t.ok()) return ktest_fail("create failed");
        readers[nr++] = t.value();
    }
    ThreadOptions wo;
    wo.name = "sd-writer";
    wo.allowed = CpuMask::only(0);
    wo.address_space = s.as;
    auto w = Thread::create(stress_writer, &s, wo);
    if (!w.ok()) return ktest_fail("create failed");
    if (!w.value()->join().ok()) return ktest_fail("join failed");
    s.stop = true;
    if (!join_all(readers, nr)) return ktest_fail("join failed");
    arch::set_interrupt_handler(14, nullptr);
    uint64_t reads = 0, faults = 0, stale = 0, bad = 0, first_bad = 0;
    for (unsigned i = 0; i < nr; ++i) {
        reads += s.reads[i];
        faults += s.faults[i];
        stale += s.stale[i];
        bad += s.bad_value[i];
        if (first_bad == 0) first_bad = s.first_bad[i];
    }
    uint64_t serviced = 0;
    for (unsigned c = 0; c < n; ++c) serviced += arch::tlb::serviced_count(c);
    kprintf(
        "[sched] shootdown stress cpus=%u readers=%u writer_iters=%llu reads=%llu faults=%llu stale=%llu "
        "bad=%llu writer_errors=%llu serviced=%llu first_bad=%#llx pcid=%s\n",
        n, nr, static_cast<unsigned long long>(s.writer_iters), static_cast<unsigned long long>(reads),
        static_cast<unsigned long long>(faults), static_cast<unsigned long long>(stale),
        static_cast<unsigned long long>(bad), static_cast<unsigned long long>(s.writer_errors),
        static_cast<unsigned long long>(serviced), static_cast<unsigned long long>(first_bad),
        arch::tlb::pcid_enabled() ? "on" : "off");
    // Pages go back before the address space.
    for (unsigned slot = 0; slot < kSlots; ++slot) (void)s.as->unmap(kTestVa + slot * 4096ull);
    s.as->destroy();
    for (unsigned slot = 0; slot < kSlots; ++slot) {
        for (unsigned f = 0; f < kFramesPerSlot; ++f) frame_free(s.frames[slot][f]);
    }
    if (stale != 0) return ktest_fail("stale read: a translation survived its shootdown");
    if (bad != 0) return ktest_fail("a reader saw a value that was never written there");
    if (s.writer_errors != 0) return ktest_fail("writer saw a wrong mapping or value");
    if (s.writer_iters < 200 || reads < 1000) return ktest_fail("too little work to mean anything");
    return ktest_ok();
}

KTEST("shootdown_stress", "one CPU remaps/unmaps pages in a loop while the others read them; no stale read") {
    return run_stress(false);
}

KTEST("shootdown_control", "negative control: the stress test without remote shootdowns must see stale reads") {
    return run_stress(true);
}

// ---------------------------------------------------------------------------
// shootdown_bench: the cost of a 1-page shootdown with the address space
// live on every CPU.

struct BenchReader {
    volatile bool* stop;
};

void bench_reader(void* p) {
    auto* a = static_cast<BenchReader*>(p);
    while (!*a->stop) {
        (void)sd_probe_read(kTestVa);
        arch::cpu_relax();
    }
}

void sort_u64(uint64_t* v, unsigned n) {
    for (unsigned i = 1; i < n; ++i) {
        uint64_t x = v[i];
        unsigned j = i;
        for (; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];
        v[j] = x;
    }
}

struct BenchInit {
    AddressSpace* as;
    uint64_t samples[256];
    unsigned count;
};

void bench_initiator(void* p) {
    auto* b = static_cast<BenchInit*>(p);
    for (unsigned i = 0; i < 20 + 256; ++i) {
        ShootdownBatch batch;
        batch.add_page(kTestVa + 4096);
        uint64_t t0 = now();
        arch::tlb::shootdown(b->as->root(), b->as->pcid(), b->as->cpus(), batch);
        uint64_t dt = now() - t0;
        if (i >= 20) b->samples[b->count++] = dt;  // the first ones warm up
        if ((i & 15) == 0) sched::yield();
    }
}

KTEST("shootdown_bench", "measure: 1-page TLB shootdown with the address space live on every CPU, median cycles") {
    unsigned n = ncpus();
    auto as = AddressSpace::create();
    if (!as.ok()) return ktest_fail("AddressSpace::create failed");
    auto fr = frame_alloc();
    if (!fr.ok()) return ktest_fail("out of frames");
    if (!as.value()->map(kTestVa, fr.value(), arch::kPteWrite | arch::kPteNx).ok()) return ktest_fail("map failed");
    volatile bool stop = false;
    static BenchReader br;
    br.stop = &stop;
    static Thread* ts[kMaxCpus];
    unsigned nr = 0;
    for (unsigned c = 1; c < n; ++c) {
        ThreadOptions o;
        o.name = "sd-bench-reader";
        o.allowed = CpuMask::only(c);
        o.address_space = as.value();
        auto t = Thread::create(bench_reader, &br, o);
        if (!t.ok()) return ktest_fail("create failed");
        ts[nr++] = t.value();
    }
    sched::sleep_ticks(5);  // readers load the space on their CPUs
    static BenchInit bi;
    bi.as = as.value();
    bi.count = 0;
    ThreadOptions o;
    o.name = "sd-bench";
    o.allowed = CpuMask::only(0);
    o.address_space = as.value();
    auto t = Thread::create(bench_initiator, &bi, o);
    if (!t.ok()) return ktest_fail("create failed");
    if (!t.value()->join().ok()) return ktest_fail("join failed");
    unsigned targets = as.value()->cpus().snapshot().count();
    stop = true;
    if (!join_all(ts, nr)) return ktest_fail("join failed");
    (void)as.value()->unmap(kTestVa);
    as.value()->destroy();
    frame_free(fr.value());
    sort_u64(bi.samples, bi.count);
    uint64_t med = bi.samples[bi.count / 2];
    kprintf("[bench] shootdown_1page_cycles median=%llu samples=%u cpus=%u mask_cpus=%u p10=%llu p90=%llu\n",
            static_cast<unsigned long long>(med), bi.count, n, targets,
            static_cast<unsigned long long>(bi.samples[bi.count / 10]),
            static_cast<unsigned long long>(bi.samples[bi.count * 9 / 10]));
    return ktest_ok();
}

// ---------------------------------------------------------------------------
// shootdown_timeout: a shootdown whose target never acknowledges (a CPU
// stuck with interrupts off) panics naming that CPU after the hold limit.

struct DeafArg {
    volatile bool loaded;
};

void deaf_reader(void* p) {
    auto* a = static_cast<DeafArg*>(p);
    (void)sd_probe_read(kTestVa);  // runs in the space: this CPU is in its mask
    arch::irq_disable();
    a->loaded = true;
    for (;;) arch::cpu_relax();  // never takes the shootdown IPI
}

KTEST("shootdown_timeout", "a shootdown target that never acknowledges is named in a panic after the hold limit") {
    if (ncpus() < 2) return ktest_fail("needs 2 cpus");
    auto as = AddressSpace::create();
    if (!as.ok()) return ktest_fail("AddressSpace::create failed");
    auto fr = frame_alloc();
    if (!fr.ok()) return ktest_fail("out of frames");
    if (!as.value()->map(kTestVa, fr.value(), arch::kPteWrite | arch::kPteNx).ok()) return ktest_fail("map failed");
    static DeafArg da;
    da.loaded = false;
    ThreadOptions o;
    o.name = "deaf";
    o.allowed = CpuMask::only(1);
    o.address_space = as.value();
    auto t = Thread::create(deaf_reader, &da, o);
    if (!t.ok()) return ktest_fail("create failed");
    for (unsigned i = 0; i < 500 && !da.loaded; ++i) sched::sleep_ticks(1);
    if (!da.loaded) return ktest_fail("the deaf thread never ran");
    spinlock_set_hold_limit_ms(300);
    ShootdownBatch batch;
    batch.add_page(kTestVa);
    kprintf("[sched] shooting down a page live on cpu 1, which has interrupts off\n");
    arch::tlb::shootdown(as.value()->root(), as.value()->pcid(), as.value()->cpus(), batch);
    return ktest_fail("a shootdown nobody acknowledged returned");
}

}  // namespace
}  // namespace kern
