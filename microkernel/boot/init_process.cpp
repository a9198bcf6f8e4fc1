// init_process.cpp: the first process, the boot-module spawner, the utest runner.
#include "boot/init_process.h"

#include "arch/interface/paging.h"
#include "capos/abi/start.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "boot/boot_info.h"
#include "debug/console.h"
#include "debug/fault_inject.h"
#include "mm/kheap.h"
#include "debug/panic.h"
#include "cpu/percpu.h"
#include "ipc/ring_dispatch.h"
#include "sched/sched_events.h"
#include "object/boot_modules.h"
#include "object/console.h"
#include "object/fault_injection.h"
#include "cap/kernel_object.h"
#include "object/memory_object.h"
#include "object/park.h"
#include "object/process.h"
#include "object/scheduler_control.h"
#include "object/timer.h"

namespace kern {

namespace abi = capos::abi;
using abi::Status;

namespace {

class BootSpawner final : public KernelObject {
public:
    BootSpawner() : KernelObject(ObjectType::boot_spawner) {}

private:
    void on_last_ref() override {}
};

BootSpawner g_spawner;

// --- utest runner ------------------------------------------------------------------
bool g_utest = false;
uint64_t g_utest_pid = 0;
// The console observer's state: console writes come from every CPU.
SpinLockIrq g_obs_lock{LockRank::kobject, "utest_observer"};
bool g_summary_seen CAPOS_GUARDED_BY(g_obs_lock) = false;
uint32_t g_passed CAPOS_GUARDED_BY(g_obs_lock) = 0;
uint32_t g_failed CAPOS_GUARDED_BY(g_obs_lock) = 0;
char g_line[256] CAPOS_GUARDED_BY(g_obs_lock);
size_t g_line_len CAPOS_GUARDED_BY(g_obs_lock) = 0;

bool parse_u32(const char*& p, uint32_t& out) {
    if (*p < '0' || *p > '9') return false;
    out = 0;
    while (*p >= '0' && *p <= '9') out = out * 10 + static_cast<uint32_t>(*p++ - '0');
    return true;
}

bool starts_with(const char* s, const char* prefix) {
    while (*prefix != '\0')
        if (*s++ != *prefix++) return false;
    return true;
}

// "[utest] <suite> <N> passed, <M> failed"
void check_line(const char* line) CAPOS_REQUIRES(g_obs_lock) {
    if (!starts_with(line, "[utest] ")) return;
    const char* p = line + 8;
    while (*p != '\0' && *p != ' ') ++p;  // suite
    if (*p != ' ') return;
    ++p;
    uint32_t n = 0, m = 0;
    if (!parse_u32(p, n) || !starts_with(p, " passed, ")) return;
    p += 9;
    if (!parse_u32(p, m) || !starts_with(p, " failed")) return;
    g_summary_seen = true;
    g_passed += n;
    g_failed += m;
}

void observe(const char* s, size_t n) {
    LockGuard<SpinLockIrq> g(g_obs_lock);
    for (size_t i = 0; i < n; ++i) {
        if (s[i] == '\n') {
            g_line[g_line_len] = '\0';
            check_line(g_line);
            g_line_len = 0;
        } else if (g_line_len + 1 < sizeof g_line) {
            g_line[g_line_len++] = s[i];
        }
    }
}

// The well-known slots of a new process. Intrinsic to every process: its
// own Process (and, added by Process::start, its main Thread); they act on
// nothing but the process itself. The first process (`first`) also gets
// Console, Park and Timer from the kernel; a spawned child gets those only
// if its creator granted them (see wellknown_from_grants).
void wellknown_for(Process& p, CapHandle* wk, bool first) {
    LockGuard<SpinLockIrq> g(cap_lock());
    auto put = [&](abi::StartCap which, KernelObject* o, Rights r) {
        auto h = p.caps().insert(o, r);
        if (h.ok()) wk[static_cast<uint32_t>(which)] = h.value();
    };
    put(abi::StartCap::process, &p, kRightsSelf);
    if (!first) return;
    put(abi::StartCap::console, &ConsoleObject::get(), kRightsObject);
    put(abi::StartCap::park, &ParkObject::get(), kRightsObject);
    put(abi::StartCap::timer, &TimerObject::get(), kRightsObject);
}

bool name_is(const abi::NamedCap& n, const char* want) {
    size_t i = 0;
    for (; want[i] != '\0'; ++i)
        if (n.name[i] != want[i]) return false;
    return n.name[i] == '\0';
}

// A grant named exactly "console", "park" or "timer" whose object is of that
// kind also fills the matching well-known slot (the same handle: one slot,
// two ways to find it), so StartInfo::console() etc. keep working. A grant
// of another kind under such a name stays a named capability only.
// Caller holds the cap lock.
void wellknown_from_grants(Process& p, const abi::NamedCap* named, uint32_t n, CapHandle* wk) {
    struct Known {
        const char* name;
        ObjectType type;
        abi::StartCap slot;
    };
    static constexpr Known kKnown[] = {{"console", ObjectType::console, abi::StartCap::console},
                                       {"park", ObjectType::park, abi::StartCap::park},
                                       {"timer", ObjectType::timer, abi::StartCap::timer}};
    for (uint32_t i = 0; i < n; ++i) {
        for (const Known& k : kKnown) {
            if (!name_is(named[i], k.name)) continue;
            auto c = p.caps().lookup(named[i].handle, 0);
            if (c.ok() && c.value().object->type() == k.type) wk[static_cast<uint32_t>(k.slot)] = named[i].handle;
        }
    }
}

struct NamedGrant {
    const char* name;
    size_t name_len;
    CapHandle from;  // in the caller's table (kNullCap: the spawner itself)
    Rights rights;
    const BootModule* copy_of = nullptr;  // kernel grant: a MemoryObject copy of this module instead
    KernelObject* object = nullptr;       // kernel grant: this kernel object instead (issue 7: SchedulerControl)
};

// Creates, loads and starts a process from a boot module. `grants` come
// from `from` (the caller's table; null for the kernel). Returns the process.
// `weight` is the run-queue weight of its threads (kDefaultWeight unless the
// spawn's placementWeight says otherwise).
Result<Ref<Process>> spawn(const char* name, const BootModule& m, const char* args, size_t args_len,
                           const ProcessQuotas& q, Process* from, const NamedGrant* grants, uint32_t ngrants,
                           Status* why, uint32_t weight = kDefaultWeight) {
    *why = Status::ok;
    auto created = Process::create(name, q);
    if (!created.ok()) {
        // Every failure gives its reason: the spawner answers with *why.
        *why = to_status(created.error());
        return created.error();
    }
    Ref<Process> p = created.release_value();
    p->set_thread_weight(weight);  // before load/start create its first thread
    abi::NamedCap named[16] = {};
    CapHandle wk[static_cast<uint32_t>(abi::StartCap::count)];
    for (CapHandle& h : wk) h = abi::kNullCap;
    if (ngrants > 16) ngrants = 16;
    bool failed = false;
    // Kernel grants of a boot module's bytes (init's "manifest"): allocated
    // before the cap lock is taken.
    MemoryObject* copies[16] = {};
    for (uint32_t i = 0; i < ngrants && from == nullptr; ++i) {
        if (grants[i].copy_of == nullptr) continue;
        auto mo = boot_module_memory(*p, *grants[i].copy_of);
        if (!mo.ok()) failed = true;
        else copies[i] = mo.value();
    }
    {
        LockGuard<SpinLockIrq> g(cap_lock());
        for (uint32_t i = 0; i < ngrants && !failed; ++i) {
            const NamedGrant& gr = grants[i];
            for (size_t k = 0; k < gr.name_len && k + 1 < sizeof named[i].name; ++k) named[i].name[k] = gr.name[k];
            if (from == nullptr) {
                KernelObject* o = copies[i] != nullptr   ? static_cast<KernelObject*>(copies[i])
                                  : gr.object != nullptr ? gr.object
                                                         : &g_spawner;
                auto h = p->caps().insert(o, gr.rights);
                if (!h.ok()) failed = true;
                else named[i].handle = h.value();
                continue;
            }
            CapHandle out = 0;
            auto t = transfer(from->caps(), &gr.from, 1, false, p->caps(), &out);
            if (!t.ok()) {
                *why = to_status(t.error());
                failed = true;
                continue;
            }
            auto cur = p->caps().lookup(out, 0);
            if (cur.ok() && (cur.value().rights & gr.rights) != cur.value().rights) {
                auto d = p->caps().derive(out, cur.value().rights & gr.rights);
                (void)p->caps().drop(out);
                if (!d.ok()) {
                    failed = true;
                    continue;
                }
                out = d.value();
            }
            named[i].handle = out;
        }
        if (!failed && from != nullptr) wellknown_from_grants(*p, named, ngrants, wk);
    }
    for (MemoryObject* mo : copies)
        if (mo != nullptr) mo->release();  // the creation reference; the slot holds its own
    Result<void> r = ok();
    if (!failed) {
        const auto* image = arch::phys_to<const uint8_t>(m.start);
        r = p->load(image, static_cast<size_t>(m.end - m.start), args, args_len, named, ngrants);
        if (r.ok()) {
            wellknown_for(*p, wk, from == nullptr);
            r = p->start(wk);
        }
    }
    if (failed || !r.ok()) {
        p->teardown();
        if (*why == Status::ok) *why = failed ? Status::quota_exceeded : to_status(r.error());
        return r.ok() ? Error::quota : r.error();
    }
    return p;
}

// The spawn's quotas: what it asked for (0 = not asked), capped by the spawner's own limit.
ProcessQuotas quotas_from(const decode::SpawnerCall& d, const ProcessQuotas& limit) {
    ProcessQuotas q = limit;
    if (d.frames != 0 && d.frames < q.frames) q.frames = d.frames;
    if (d.cap_slots != 0 && d.cap_slots < q.cap_slots) q.cap_slots = d.cap_slots;
    if (d.threads != 0 && d.threads < q.threads) q.threads = d.threads;
    if (d.outstanding_calls != 0 && d.outstanding_calls < q.outstanding_calls)
        q.outstanding_calls = d.outstanding_calls;
    return q;
}

}  // namespace

void init_process_exited(uint64_t process_id, int64_t code) {
    if (!g_utest || process_id != g_utest_pid) return;
    bool pass, seen;
    uint32_t passed, failed;
    {
        LockGuard<SpinLockIrq> g(g_obs_lock);
        seen = g_summary_seen;
        pass = seen && g_failed == 0 && g_passed > 0;
        passed = g_passed;
        failed = g_failed;
    }
    fault::report_boot_rules();
    kprintf("[capos] utest: process exited (code %lld): %u passed, %u failed%s -> %s\n", static_cast<long long>(code),
            passed, failed, seen ? "" : " (no summary line)", pass ? "PASS" : "FAIL");
    stop_machine(pass ? StopReason::test_pass : StopReason::test_fail);
}

bool start_first_process(const char* utest, const char* utest_args, const char* placement_args) {
    char name[80] = "init";
    if (utest != nullptr && utest[0] != '\0') {
        const char* pre = "utest-";
        size_t i = 0;
        for (; pre[i] != '\0'; ++i) name[i] = pre[i];
        for (size_t k = 0; utest[k] != '\0' && i + 1 < sizeof name; ++k) name[i++] = utest[k];
        name[i] = '\0';
        g_utest = true;
        ConsoleObject::set_observer(observe);
    }
    size_t len = 0;
    while (name[len] != '\0') ++len;
    const BootModule* m = find_boot_module(name, len);
    if (m == nullptr) {
        kprintf("[capos] error: no boot module '%s'; modules:", name);
        for (size_t i = 0; i < boot_state().module_count; ++i) kprintf(" %s", boot_state().modules[i].name);
        kprintf("\n");
        return false;
    }
    ProcessQuotas q;  // defaults
    NamedGrant kgrants[5] = {{"spawner", 7, abi::kNullCap, kRightsObject}, {}, {}, {}, {}};
    uint32_t nkgrants = 1;
    // "schedctl": SchedulerControl for the placement server, handed on by the
    // first process until the boot manifest grants it directly (issue 7).
    kgrants[nkgrants++] = NamedGrant{"schedctl", 8, abi::kNullCap, kRightsObject, nullptr, &SchedulerControl::get()};
    // "kstats": the same object with Read only, which reaches the KernelStats
    // interface and nothing that steers placement (object/kernel_stats.h);
    // init hands it on as `kernel = kernelStats`.
    kgrants[nkgrants++] =
        NamedGrant{"kstats",      6,
                   abi::kNullCap, abi::kRightCall | abi::kRightCopy | abi::kRightTransfer | abi::kRightRead,
                   nullptr,       &SchedulerControl::get()};
    Status why = Status::ok;
    // utest programs learn the CPU count (tests that need several CPUs).
    char args[256] = {};
    size_t alen = 0;
    if (!g_utest) {
        // init: the boot manifest module `manifest-<name>` (option manifest=,
        // default "default") as a read-only MemoryObject named "manifest";
        // its name and exact length go in the arguments. The kernel never
        // parses it (servers/init does). A missing module is init's problem
        // to report, not the kernel's.
        const char* mname = boot_state().manifest_name[0] != '\0' ? boot_state().manifest_name : "default";
        char modname[80] = "manifest-";
        size_t ml = 9;
        for (size_t k = 0; mname[k] != '\0' && ml + 1 < sizeof modname; ++k) modname[ml++] = mname[k];
        modname[ml] = '\0';
        const BootModule* mm = find_boot_module(modname, ml);
        const auto put = [&](const char* s) {
            while (*s != '\0' && alen + 1 < sizeof args) args[alen++] = *s++;
        };
        put("manifest=");
        put(mname);
        if (mm != nullptr) {
            kgrants[nkgrants++] = NamedGrant{
                "manifest", 8, abi::kNullCap,
                abi::kRightCall | abi::kRightCopy | abi::kRightTransfer | abi::kRightRead | abi::kRightMap, mm};
            char num[24];
            size_t nd = 0;
            uint64_t v = mm->end - mm->start;
            do {
                num[nd++] = static_cast<char>('0' + v % 10);
                v /= 10;
            } while (v != 0);
            put(" manifest_bytes=");
            while (nd > 0 && alen + 1 < sizeof args) args[alen++] = num[--nd];
        }
        if (placement_args != nullptr && placement_args[0] != '\0') {
            put(" placement=");
            put(placement_args);
        }
    }
    // "faults": FaultInjection, for utest programs on fault_inject=on boots
    // only (tests that sweep allocation failures; docs/fault-injection.md).
    if (g_utest && fault::grant_enabled())
        kgrants[nkgrants++] =
            NamedGrant{"faults", 6, abi::kNullCap, kRightsObject, nullptr, &FaultInjectionObject::get()};
    if (g_utest) {
        const char* pre = "cpus=";
        for (; pre[alen] != '\0'; ++alen) args[alen] = pre[alen];
        unsigned n = cpu::count();
        char digits[8];
        size_t nd = 0;
        do {
            digits[nd++] = static_cast<char>('0' + n % 10);
            n /= 10;
        } while (n != 0);
        while (nd > 0) args[alen++] = digits[--nd];
        for (size_t k = 0; utest_args != nullptr && utest_args[k] != '\0' && alen + 1 < sizeof args; ++k)
            args[alen++] = utest_args[k];
    }
    auto p = spawn(name, *m, args, alen, q, nullptr, kgrants, nkgrants, &why);
    if (!p.ok()) {
        kprintf("[capos] error: cannot start '%s': %s\n", name, error_name(p.error()));
        return false;
    }
    if (g_utest) g_utest_pid = p.value()->id();
    kprintf("[capos] started %s as process %llu\n", name, static_cast<unsigned long long>(p.value()->id()));
    fault::start_counting();
    return true;
}

void spawner_invoke(Call& call, KernelObject&) {
    // Decode (cap/call_decode): interface, method, Write right, result
    // room, the spawn parameters (grants' capabilities as in-cap indices,
    // arguments joined, weight bounds). Then the checks against live state.
    // d (about 1 KiB: the joined arguments and the grants) lives on the
    // kernel stack, as the same buffers did before the split.
    decode::SpawnerCall d;
    const decode::Verdict v = decode::spawner(decode_input(call), kMaxWeight, &d);
    if (!v.ok()) return call.fail(v.status, v.detail);
    if (d.op == decode::SpawnerCall::Op::free_frames) {
        decode::FreeFrames f;
        const HeapStats hs = kheap_stats();
        f.frames = free_frame_count();
        f.heap_bytes_in_use = hs.bytes_in_use;
        f.heap_bytes_mapped = hs.bytes_mapped;
        f.heap_allocations = hs.allocations;
        f.live_processes = live_process_count();
        {
            LockGuard<SpinLockIrq> g(cap_lock());
            f.cap_slots_used = call.proc.caps().used();  // the caller's table, now
        }
        call.value = f.frames;
        call.result_len = decode::free_frames_result(call.result, kMaxResult, f);
        return;
    }
    if (d.op == decode::SpawnerCall::Op::modules) return boot_modules_list(call);
    const BootModule* m = find_boot_module(d.module, d.module_len);
    if (m == nullptr) return call.fail(Status::invalid_argument);
    char pname[32] = {};
    for (uint32_t i = 0; i < d.name_len && i + 1 < sizeof pname; ++i) pname[i] = d.name[i];
    NamedGrant grants[decode::kSpawnMaxGrants];
    for (uint32_t i = 0; i < d.grant_count; ++i)
        grants[i] =
            NamedGrant{d.grants[i].name, d.grants[i].name_len, call.caps_in[d.grants[i].cap], d.grants[i].rights};
    const uint32_t ng = d.grant_count;
    const uint32_t weight = d.weight == 0 ? kDefaultWeight : d.weight;
    const char* argbuf = d.args;
    const size_t alen = d.args_len;
    ProcessQuotas q = quotas_from(d, call.proc.quotas());
    {
        LockGuard<SpinLockIrq> g(cap_lock());
        if (call.proc.caps().available() < 1)
            return call.fail(Status::quota_exceeded, static_cast<uint32_t>(abi::QuotaKind::cap_slots));
    }
    Status why = Status::ok;
    auto p = spawn(pname, *m, argbuf, alen, q, &call.proc, grants, ng, &why, weight);
    if (!p.ok()) {
        call.fail(why);
        if (why == Status::quota_exceeded) call.detail = static_cast<uint32_t>(abi::QuotaKind::frames);
        return;
    }
    Result<CapHandle> h = Error::quota;
    {
        LockGuard<SpinLockIrq> g(cap_lock());
        h = call.proc.caps().insert(p.value().get(), kRightsHandle);
    }
    if (!h.ok()) {
        p.value()->terminate(-1, ExitReason::killed);
        return call.fail(Status::quota_exceeded, static_cast<uint32_t>(abi::QuotaKind::cap_slots));
    }
    call.caps_out[0] = h.value();
    call.caps_out_count = 1;
    call.result_len = decode::spawn_result(call.result, kMaxResult, p.value()->id());
    call.value = p.value()->id();
}

}  // namespace kern
