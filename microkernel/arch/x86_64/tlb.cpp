// tlb.cpp: PCID set-up, address-space loads and the shootdown IPI path.
#include "arch/interface/tlb.h"
#include "arch/x86_64/implements.h"

#include "arch/interface/cpu.h"
#include "arch/interface/ipi.h"
#include "arch/x86_64/asm.h"
#include "debug/console.h"
#include "debug/panic.h"
#include "cpu/percpu.h"
#include "cpu/spinlock.h"

namespace kern::arch::tlb {
namespace {
constexpr uint64_t kCr4Pcide = 1ull << 17;
constexpr uint64_t kCr3NoFlush = 1ull << 63;

bool g_decided = false;
bool g_pcid = false;
bool g_invpcid = false;
ShootdownBoard g_board;

// Per-CPU state, touched only by its own CPU with interrupts off.
struct alignas(64) CpuTlb {
    uint64_t loaded_root = 0;
    uint64_t stale[(kMaxPcid + 1) / 64] = {};  // PCIDs to flush on their next load
};
CpuTlb g_cpu[kMaxCpus];

void invpcid(uint64_t type, uint16_t pcid, uint64_t va) {
    struct {
        uint64_t pcid;
        uint64_t va;
    } desc = {pcid, va};
    asm volatile("invpcid %0, %1" ::"m"(desc), "r"(type) : "memory");
}

// Applies req to this CPU.
void handle_local(const ShootdownRequest& req) {
    unsigned self = cpu::id();
    CpuTlb& c = g_cpu[self];
    if (c.loaded_root == req.root) {
        if (req.batch.full()) {
            if (g_pcid && g_invpcid) invpcid(1, req.pcid, 0);
            else if (g_pcid) write_cr3(req.root | req.pcid);  // no "keep" bit: flushes this PCID
            else write_cr3(read_cr3());
        } else {
            for (size_t i = 0; i < req.batch.count(); ++i) invlpg(req.batch.page(i));
        }
        return;
    }
    // Not running it: drop everything of that space and leave its mask, so
    // later shootdowns skip this CPU until it loads the space again.
    if (g_pcid) {
        if (g_invpcid) invpcid(1, req.pcid, 0);
        else c.stale[req.pcid / 64] |= uint64_t{1} << (req.pcid % 64);
    }
    if (req.mask != nullptr) req.mask->note_dropped(self);
}

// Another CPU's request, applied here (from the IPI or while this CPU waits
// for its own request): counted as serviced.
void handle_remote(const ShootdownRequest& req) {
    count(cpu::current().counters.shootdowns_rx);
    handle_local(req);
}

void shootdown_irq(InterruptFrame&) { (void)g_board.service(cpu::id(), handle_remote); }
}  // namespace

void cpu_init() {
    bool pcid = (cpuid(1).ecx & (1u << 17)) != 0;
    bool inv = cpuid(0).eax >= 7 && (cpuid(7, 0).ebx & (1u << 10)) != 0;
    if (!g_decided) {
        g_decided = true;
        g_pcid = pcid;
        g_invpcid = pcid && inv;
        kprintf("[capos] tlb: pcid=%s invpcid=%s\n", g_pcid ? "on" : "off", g_invpcid ? "on" : "off");
    }
    if (g_pcid) {
        uint64_t cr3 = read_cr3() & ~0xfffull;
        write_cr3(cr3);  // PCIDE may only be set with PCID 0 in CR3
        write_cr4(read_cr4() | kCr4Pcide);
    }
    g_cpu[cpu::id()].loaded_root = read_cr3() & 0x000ffffffffff000ull;
}

void init_handlers() { (void)set_shootdown_handler(shootdown_irq); }

bool pcid_enabled() { return g_pcid; }
bool has_invpcid() { return g_invpcid; }

void load(uint64_t root, uint16_t pcid, TlbCpuMask* mask) {
    unsigned self = cpu::id();
    CpuTlb& c = g_cpu[self];
    if (mask != nullptr) mask->note_loaded(self);  // before CR3: see TlbCpuMask::note_loaded
    CpuCounters& k = cpu::current().counters;
    if (g_pcid) {
        uint64_t bit = uint64_t{1} << (pcid % 64);
        bool stale = (c.stale[pcid / 64] & bit) != 0;
        c.stale[pcid / 64] &= ~bit;
        write_cr3(root | pcid | (stale ? 0 : kCr3NoFlush));
        count(k.cr3_loads);
    } else if (c.loaded_root != root) {
        write_cr3(root);
        count(k.cr3_loads);
    } else {
        count(k.cr3_skips);
    }
    c.loaded_root = root;
}

uint64_t loaded_root() { return g_cpu[cpu::id()].loaded_root; }

void flush_page_local(uint64_t va) { invlpg(va); }

void shootdown(uint64_t root, uint16_t pcid, TlbCpuMask& mask, const ShootdownBatch& batch) {
    if (batch.empty()) return;
    IrqState s = irq_save();  // no migration: the request slot is this CPU's
    unsigned self = cpu::id();
    ShootdownRequest req;
    req.root = root;
    req.pcid = pcid;
    req.mask = &mask;
    req.batch = batch;
    CpuMask targets = mask.snapshot();
    targets.clear(self);
    if (mask.has(self) || g_cpu[self].loaded_root == root) handle_local(req);
    if (!targets.empty()) {
        count(cpu::current().counters.shootdowns_tx);
        uint64_t gen = g_board.post(self, req, targets);
        targets.for_each([](unsigned t) { send_ipi(t, vec::kTlbShootdown); });
        // Servicing our own inbox while we wait is what lets two CPUs shoot
        // each other down at once with interrupts off. Bounded like a
        // spinlock: a target that never acknowledges (stuck with interrupts
        // off) is named in a panic instead of stalling this CPU for good.
        SpinDeadline bound;
        g_board.wait(self, gen, targets, handle_remote, [&] {
            cpu_relax();
            if (bound.expired())
                panic("tlb: shootdown from cpu %u not acknowledged by cpus %#llx after %llu ms", self,
                      static_cast<unsigned long long>(g_board.unacked(self, gen, targets).bits),
                      static_cast<unsigned long long>(bound.limit_ms()));
        });
    }
    irq_restore(s);
}

uint64_t serviced_count(unsigned cpu) {
    const PerCpu* p = cpu::get(cpu);
    return p != nullptr ? read_counter(p->counters.shootdowns_rx) : 0;
}

}  // namespace kern::arch::tlb
