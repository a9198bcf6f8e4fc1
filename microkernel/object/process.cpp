// process.cpp: processes, user threads, ELF loading, exit and the reaper.
#include "object/process.h"

#include "arch/interface/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/syscall.h"
#include "capos/abi/layout.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/process.capnp.h"
#include "core/boot_info.h"
#include "core/console.h"
#include "core/init_process.h"
#include "core/kheap.h"
#include "core/panic.h"
#include "object/scheduler_control.h"
#include "core/ring_dispatch.h"
#include "core/sched.h"
#include "object/address_space.h"
#include "object/endpoint.h"
#include "object/kernel_object.h"
#include "object/memory_object.h"
#include "object/thread.h"

namespace kern {

namespace abi = capos::abi;

namespace {

SpinLockIrq g_cap_lock{LockRank::cap_tree, "cap_tree"};
uint64_t g_next_process_id = 1;
uint64_t g_live_processes = 0;  // Process objects not yet freed (zombies included)
uint64_t g_next_thread_id = 1;

constexpr uint64_t kPage = 4096;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

void zero_frame(uint64_t pa) {
    auto* p = arch::phys_to<uint64_t>(pa);
    for (size_t i = 0; i < kPage / 8; ++i) p[i] = 0;
}

// Writes bytes at a user virtual address of `as` through the direct map (the
// pages were mapped by the kernel just before; no user access involved).
void write_user_phys(AddressSpace* as, uint64_t va, const void* src, size_t n) {
    const auto* s = static_cast<const uint8_t*>(src);
    while (n > 0) {
        uint64_t pte = as->lookup(va & ~(kPage - 1));
        if (pte == 0) panic("write_user_phys: %#llx not mapped", static_cast<unsigned long long>(va));
        size_t off = va & (kPage - 1);
        size_t k = kPage - off < n ? kPage - off : n;
        __builtin_memcpy(arch::phys_to<uint8_t>((pte & arch::kPteAddrMask) + off), s, k);
        s += k;
        va += k;
        n -= k;
    }
}

// Unmaps [va, va + pages) of as and frees the frames; returns how many were mapped.
uint64_t release_region(AddressSpace* as, uint64_t va, uint64_t pages) {
    uint64_t n = 0;
    for (uint64_t i = 0; i < pages; ++i) {
        auto r = as->unmap(va + i * kPage);
        if (!r.ok()) continue;
        frame_free(r.value());
        ++n;
    }
    return n;
}

// --- reaper ------------------------------------------------------------------
SpinLockIrq g_reap_lock{LockRank::kobject, "reaper"};
UserThread* g_reap_head = nullptr;
Thread* g_reaper = nullptr;
bool g_reaper_idle = false;

Process* g_orphan_head = nullptr;  // g_reap_lock; each holds a reference

// Ends a process whose last outside handle went (set_last_foreign_handle_hook),
// unless one was made again meanwhile (the process gave out its own).
void end_orphan(Process* p) {
    bool still = false;
    {
        LockGuard<SpinLockIrq> g(g_cap_lock);
        still = p->foreign_handles() == 0;
    }
    if (still && !p->exiting()) {
        kprintf("[capos] process %llu (%s): its last outside handle was dropped; ending it\n",
                static_cast<unsigned long long>(p->id()), p->name());
        p->terminate(-1, ExitReason::killed);
    }
    p->release();
}

// Hook of the cap table, under the cap-tree lock (interrupts off).
void on_last_outside_handle(KernelObject* o) {
    auto* p = static_cast<Process*>(o);
    if (p->exiting()) return;
    g_reap_lock.lock();
    bool wake = false;
    if (!p->orphan_queued_) {
        p->orphan_queued_ = true;
        p->add_ref();
        p->orphan_next_ = g_orphan_head;
        g_orphan_head = p;
        wake = g_reaper_idle;
        g_reaper_idle = false;
    }
    g_reap_lock.unlock();
    if (wake) (void)sched::wake(*g_reaper);
}

void reaper_main(void*) {
    for (;;) {
        arch::IrqState s = arch::irq_save();
        g_reap_lock.lock();
        if (Process* p = g_orphan_head; p != nullptr) {
            g_orphan_head = p->orphan_next_;
            p->orphan_queued_ = false;
            g_reap_lock.unlock();
            arch::irq_restore(s);
            end_orphan(p);
            continue;
        }
        UserThread* t = g_reap_head;
        if (t == nullptr) {
            g_reaper_idle = true;
            __atomic_store_n(&g_reaper->state_, Thread::State::blocked, __ATOMIC_RELEASE);
            g_reap_lock.unlock();
            sched::block();
            arch::irq_restore(s);
            continue;
        }
        g_reap_head = t->reap_next_;
        g_reap_lock.unlock();
        arch::irq_restore(s);
        if (!t->kthread()->join().ok()) panic("reaper: join failed");
        t->release_memory();
        t->process().thread_gone(*t);
    }
}

void reap(UserThread* t) {
    arch::IrqState s = arch::irq_save();
    g_reap_lock.lock();
    t->reap_next_ = g_reap_head;
    g_reap_head = t;
    bool wake = g_reaper_idle;
    g_reaper_idle = false;
    g_reap_lock.unlock();
    if (wake) (void)sched::wake(*g_reaper);
    arch::irq_restore(s);
}

// Frees every leaf frame of the lower half that is not inside a MemoryObject
// mapping (those belong to their MemoryObject).
void free_private_frames(uint64_t table_pa, int level, uint64_t va_base, const Mapping* maps, uint32_t nmaps,
                         uint64_t& freed) {
    auto* t = arch::phys_to<uint64_t>(table_pa);
    const uint64_t span = 1ull << (12 + 9 * level);
    const int limit = level == 3 ? 256 : 512;
    for (int i = 0; i < limit; ++i) {
        uint64_t e = t[i];
        if ((e & arch::kPtePresent) == 0) continue;
        uint64_t va = va_base + static_cast<uint64_t>(i) * span;
        if (level > 0) {
            if ((e & arch::kPteHuge) != 0) continue;  // never made for user space
            free_private_frames(e & arch::kPteAddrMask, level - 1, va, maps, nmaps, freed);
            continue;
        }
        bool shared = false;
        for (uint32_t m = 0; m < nmaps; ++m) {
            if (maps[m].va != 0 && va >= maps[m].va && va < maps[m].va + maps[m].pages * kPage) {
                shared = true;
                break;
            }
        }
        if (!shared) {
            frame_free(e & arch::kPteAddrMask);
            ++freed;
        }
    }
}

}  // namespace

SpinLockIrq& cap_lock() { return g_cap_lock; }

uint64_t live_process_count() { return __atomic_load_n(&g_live_processes, __ATOMIC_RELAXED); }

uint64_t free_frame_count() {
    return frames().free_count();
}

UserThread* current_user_thread() {
    Thread* t = Thread::current();
    return t == nullptr ? nullptr : static_cast<UserThread*>(t->user_);
}

void reaper_init() {
    ThreadOptions o;
    o.name = "reaper";
    auto t = Thread::create_stopped(&reaper_main, nullptr, o);
    if (!t.ok()) panic("reaper: %s", error_name(t.error()));
    g_reaper = t.value();
    set_last_foreign_handle_hook(&on_last_outside_handle);
    sched::start(*g_reaper);
}

// --- Process -------------------------------------------------------------------

Result<Ref<Process>> Process::create(const char* name, const ProcessQuotas& q) {
    if (q.cap_slots == 0 || q.cap_slots > CapTable::kMaxCapacity || q.threads == 0 ||
        q.threads > kMaxUserThreads)
        return Error::invalid_argument;
    void* slots = TRY(kmalloc(sizeof(CapSlot) * q.cap_slots, alignof(CapSlot)));
    auto mem = kmalloc(sizeof(Process), alignof(Process));
    if (!mem.ok()) {
        kfree(slots);
        return mem.error();
    }
    auto* p = new (mem.value()) Process(static_cast<CapSlot*>(slots), q.cap_slots);
    __atomic_fetch_add(&g_live_processes, 1, __ATOMIC_RELAXED);
    Ref<Process> ref = Ref<Process>::adopt(p);
    p->quotas_ = q;
    p->id_ = __atomic_fetch_add(&g_next_process_id, 1, __ATOMIC_RELAXED);
    size_t i = 0;
    for (; name != nullptr && name[i] != '\0' && i + 1 < sizeof(p->name_); ++i) p->name_[i] = name[i];
    p->name_[i] = '\0';
    p->as_ = TRY(AddressSpace::create());
    return ref;
}

void Process::on_last_ref() {
    if (!torn_down_) teardown();  // never started
    if (slots_ != nullptr) {
        caps_.~CapTable();
        kfree(slots_);
    }
    this->~Process();
    kfree(this);
    __atomic_fetch_sub(&g_live_processes, 1, __ATOMIC_RELAXED);
}

Result<void> Process::charge_frames(uint64_t n) {
    uint64_t cur = __atomic_load_n(&frames_used_, __ATOMIC_RELAXED);
    do {
        if (n > quotas_.frames || cur > quotas_.frames - n) return Error::quota;
    } while (!__atomic_compare_exchange_n(&frames_used_, &cur, cur + n, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return ok();
}

void Process::uncharge_frames(uint64_t n) { __atomic_fetch_sub(&frames_used_, n, __ATOMIC_RELAXED); }

Result<void> Process::map_user_pages(uint64_t va, uint64_t pages, uint64_t flags, const uint8_t* src,
                                     uint64_t src_len, uint64_t src_skip) {
    TRY(charge_frames(pages));
    for (uint64_t i = 0; i < pages; ++i) {
        auto f = frame_alloc();
        if (!f.ok()) {
            uncharge_frames(pages - i);
            return f.error();
        }
        zero_frame(f.value());
        // Bytes of src that land in this page: region offsets [i*4K, (i+1)*4K)
        // hold src[off - src_skip] for off in [src_skip, src_skip + src_len).
        uint64_t page_lo = i * kPage, page_hi = page_lo + kPage;
        uint64_t lo = page_lo > src_skip ? page_lo : src_skip;
        uint64_t hi = page_hi < src_skip + src_len ? page_hi : src_skip + src_len;
        if (src != nullptr && lo < hi)
            __builtin_memcpy(arch::phys_to<uint8_t>(f.value()) + (lo - page_lo), src + (lo - src_skip), hi - lo);
        auto r = as_->map(va + i * kPage, f.value(), flags | arch::kPteUser);
        if (!r.ok()) {
            frame_free(f.value());
            uncharge_frames(pages - i);
            return r.error();
        }
    }
    return ok();
}

Result<void> Process::load(const uint8_t* image, size_t size, const char* args, size_t args_len,
                           const abi::NamedCap* named, uint32_t named_count) {
    ElfPlan plan;
    ElfReject why = ElfReject::none;
    auto r = elf_plan(image, size, plan, &why);
    if (!r.ok()) {
        kprintf("[capos] process %s: ELF refused: %s\n", name_, elf_reject_name(why));
        return r.error();
    }
    for (uint32_t s = 0; s < plan.segment_count; ++s) {
        const ElfSegment& seg = plan.segments[s];
        uint64_t start = seg.vaddr & ~(kPage - 1);
        uint64_t end = align_up(seg.vaddr + seg.memsz, kPage);
        uint64_t flags = 0;
        if ((seg.flags & kElfFlagW) != 0) flags |= arch::kPteWrite;
        if ((seg.flags & kElfFlagX) == 0) flags |= arch::kPteNx;  // W^X: elf_plan refused W+X
        TRY(map_user_pages(start, (end - start) / kPage, flags, image + seg.file_offset, seg.filesz,
                           seg.vaddr - start));
    }
    entry_ = plan.entry;
    tls_ = plan.tls;
    tls_image_ = image;
    // Main stack: kUserStackDefault below thread 0's stack top; its top page
    // holds the StartBlock, the named caps and the arguments.
    const uint64_t top = abi::user_stack_top(0);
    const uint64_t stack_pages = abi::kUserStackDefault / kPage;
    TRY(map_user_pages(top - abi::kUserStackDefault, stack_pages, arch::kPteWrite | arch::kPteNx, nullptr, 0, 0));
    start_block_va_ = top - kPage;
    main_stack_top_ = start_block_va_;  // 16-byte aligned; the block lies above it
    constexpr uint64_t kNamedOff = 256;
    if (named_count > 64) named_count = 64;
    uint64_t args_off = kNamedOff + uint64_t{named_count} * sizeof(abi::NamedCap);
    if (args_len > kPage - args_off - 1) args_len = kPage - args_off - 1;
    abi::StartBlock b{};
    b.magic = abi::kStartMagic;
    b.version = abi::kStartVersion;
    b.thread_index = 0;
    b.named_count = named_count;
    b.ring_addr = abi::user_ring_addr(0);
    b.stack_top = main_stack_top_;
    b.stack_size = abi::kUserStackDefault - kPage;
    b.args_addr = start_block_va_ + args_off;
    b.args_len = args_len;
    b.named_addr = named_count != 0 ? start_block_va_ + kNamedOff : 0;
    write_user_phys(as_, start_block_va_, &b, sizeof b);
    if (named_count != 0) write_user_phys(as_, start_block_va_ + kNamedOff, named, named_count * sizeof(abi::NamedCap));
    if (args_len != 0) write_user_phys(as_, b.args_addr, args, args_len);
    return ok();
}

Result<void> Process::start(CapHandle* wellknown) {
    Ref<UserThread> t = TRY(create_thread(entry_, main_stack_top_, start_block_va_, false));
    {
        LockGuard<SpinLockIrq> g(g_cap_lock);
        auto h = caps_.insert(t.get(), kRightsObject);
        wellknown[static_cast<uint32_t>(abi::StartCap::thread)] = h.ok() ? h.value() : abi::kNullCap;
    }
    write_user_phys(as_, start_block_va_ + offsetof(abi::StartBlock, wellknown), wellknown,
                    sizeof(CapHandle) * static_cast<uint32_t>(abi::StartCap::count));
    sched::start(*t->kthread_);
    return ok();
}

Result<Ref<UserThread>> Process::create_thread(uint64_t entry, uint64_t stack_top, uint64_t arg, bool start_now) {
    if (entry < abi::kUserImageBase || entry >= abi::kUserEnd || stack_top > abi::kUserEnd ||
        stack_top < abi::kUserImageBase)
        return Error::invalid_argument;
    // Decode: reserve an index under the quota.
    uint32_t index = kMaxUserThreads;
    {
        LockGuard<SpinLockIrq> g(lock_);
        if (exiting_) return Error::busy;
        // Threads that exited count no more, even before the reaper freed their slot.
        if (live_threads_ + creating_ >= quotas_.threads) return Error::quota;
        for (uint32_t i = 0; i < kMaxUserThreads; ++i) {
            if (threads_[i] == nullptr) {
                index = i;
                break;
            }
        }
        if (index == kMaxUserThreads) return Error::quota;
        threads_[index] = reinterpret_cast<UserThread*>(1);  // reserved
        ++creating_;
    }
    auto unreserve = [&] {
        LockGuard<SpinLockIrq> g(lock_);
        threads_[index] = nullptr;
        --creating_;
    };
    auto mem = kmalloc(sizeof(UserThread), alignof(UserThread));
    if (!mem.ok()) {
        unreserve();
        return mem.error();
    }
    auto* t = new (mem.value()) UserThread();
    Ref<UserThread> ref = Ref<UserThread>::adopt(t);
    add_ref();
    t->process_ = this;
    t->index_ = index;
    t->id_ = __atomic_fetch_add(&g_next_thread_id, 1, __ATOMIC_RELAXED);
    t->entry_ = entry;
    t->stack_top_ = stack_top;
    t->arg0_ = arg;
    auto fail = [&](Error e) -> Error {
        t->release_memory();
        unreserve();
        return e;
    };
    auto pb = kmalloc(kMaxParams, 64);
    if (!pb.ok()) return fail(pb.error());
    t->params_buf_ = static_cast<uint8_t*>(pb.value());
    auto rb = kmalloc(kMaxResult, 64);
    if (!rb.ok()) return fail(rb.error());
    t->result_buf_ = static_cast<uint8_t*>(rb.value());

    // Ring: contiguous frames so the kernel sees it as one array.
    const uint32_t rsize = abi::ring_size(kRingSqEntries, kRingCqEntries);
    const uint32_t rpages = rsize / kPage;
    if (auto c = charge_frames(rpages); !c.ok()) return fail(c.error());
    auto rp = frame_alloc_contiguous(rpages, kPage);
    if (!rp.ok()) {
        uncharge_frames(rpages);
        return fail(rp.error());
    }
    t->ring_pa_ = rp.value();
    t->ring_pages_ = rpages;
    for (uint32_t i = 0; i < rpages; ++i) zero_frame(t->ring_pa_ + i * kPage);
    if (auto ri = t->ring_.init(arch::phys_to<void>(t->ring_pa_), rsize, kRingSqEntries, kRingCqEntries, t->overflow_,
                                kRingOverflow, 0);
        !ri.ok())
        return fail(ri.error());
    for (uint32_t i = 0; i < rpages; ++i) {
        auto m = as_->map(abi::user_ring_addr(index) + i * kPage, t->ring_pa_ + i * kPage,
                          arch::kPteUser | arch::kPteWrite | arch::kPteNx);
        if (!m.ok()) return fail(m.error());
    }

    // TLS (x86-64 variant II): the image right below the thread pointer,
    // %fs:0 holding the thread pointer itself.
    const uint64_t base = abi::user_tls_addr(index);
    uint64_t tls_size = 0, align = 16;
    if (tls_.present) {
        align = tls_.align > 16 ? tls_.align : 16;
        tls_size = align_up(tls_.memsz, align);
    }
    const uint64_t tp = base + tls_size;
    const uint64_t tls_pages = align_up(tls_size + 16, kPage) / kPage;
    const uint8_t* timg = tls_.present && tls_.filesz != 0 ? tls_image_ + tls_.file_offset : nullptr;
    // Variant II: the block is [tp - tls_size, tp) and the image starts at
    // its beginning (a variable's address is tp - tls_size + its offset).
    if (auto m = map_user_pages(base, tls_pages, arch::kPteWrite | arch::kPteNx, timg, tls_.present ? tls_.filesz : 0,
                                0);
        !m.ok())
        return fail(m.error());
    t->tls_pages_ = tls_pages;
    write_user_phys(as_, tp, &tp, sizeof tp);
    t->fs_base_ = tp;

    ThreadOptions o;
    o.name = name_;
    o.uses_fpu = true;
    o.address_space = as_;
    o.weight = thread_weight_;
    auto kt = Thread::create_stopped(&UserThread::kernel_entry, t, o);
    if (!kt.ok()) return fail(kt.error());
    t->kthread_ = kt.value();
    t->kthread_->user_ = t;
    t->kstack_top_ = reinterpret_cast<uint64_t>(t->kthread_->stack_) + Thread::kStackSize;
    {
        LockGuard<SpinLockIrq> g(lock_);
        t->add_ref();  // the thread table's reference
        threads_[index] = t;
        --creating_;
        // terminate() ran meanwhile and did not see this thread: it exits at
        // its first return to user mode.
        if (exiting_) t->kill_ = true;
        __atomic_fetch_add(&live_threads_, 1, __ATOMIC_ACQ_REL);
    }
    if (start_now) sched::start(*t->kthread_);
    return ref;
}

void Process::terminate(int64_t code, ExitReason reason) {
    UserThread* victims[kMaxUserThreads];
    uint32_t n = 0;
    {
        LockGuard<SpinLockIrq> g(lock_);
        if (exiting_) return;
        exit_code_ = code;
        exit_reason_ = reason;
        __atomic_store_n(&exiting_, true, __ATOMIC_RELEASE);
        for (uint32_t i = 0; i < kMaxUserThreads; ++i) {
            UserThread* t = threads_[i];
            if (t == nullptr || t == reinterpret_cast<UserThread*>(1)) continue;
            t->add_ref();
            victims[n++] = t;
        }
    }
    for (uint32_t i = 0; i < n; ++i) {
        victims[i]->request_kill();
        victims[i]->release();
    }
}

Result<void> Process::map(MemoryObject* mo, uint64_t va, uint64_t offset, uint64_t length, bool writable,
                          bool executable) {
    if (((va | offset | length) & (kPage - 1)) != 0 || length == 0) return Error::invalid_argument;
    if (writable && executable) return Error::invalid_argument;
    if (va < abi::kUserHeapBase || va >= abi::kUserHeapEnd || length > abi::kUserHeapEnd - va)
        return Error::invalid_argument;
    if (offset > mo->size() || length > mo->size() - offset) return Error::invalid_argument;
    const uint64_t pages = length / kPage;
    uint32_t slot = kMaxMappings;
    {
        LockGuard<SpinLockIrq> g(lock_);
        if (exiting_) return Error::busy;
        for (uint32_t i = 0; i < kMaxMappings; ++i) {
            const Mapping& m = mappings_[i];
            if (m.va == 0) {
                if (slot == kMaxMappings) slot = i;
                continue;
            }
            if (va < m.va + m.pages * kPage && m.va < va + length) return Error::invalid_argument;
        }
        if (slot == kMaxMappings) return Error::capacity;
        // Reserved, with its reference, before the PTEs go in: a concurrent
        // unmap of this range sees a pending entry and answers busy instead
        // of dropping a reference not yet taken (and leaving PTEs unrecorded).
        mo->add_ref();
        mappings_[slot] = Mapping{va, pages, mo, false};
    }
    uint64_t flags = arch::kPteUser | (writable ? arch::kPteWrite : 0) | (executable ? 0 : arch::kPteNx);
    for (uint64_t i = 0; i < pages; ++i) {
        auto r = as_->map(va + i * kPage, mo->frame(offset / kPage + i), flags);
        if (!r.ok()) {
            (void)as_->unmap_range(va, i);
            {
                LockGuard<SpinLockIrq> g(lock_);
                mappings_[slot] = Mapping{};
            }
            mo->release();
            return r.error();
        }
    }
    LockGuard<SpinLockIrq> g(lock_);
    mappings_[slot].ready = true;
    return ok();
}

Result<void> Process::unmap(uint64_t va, uint64_t length) {
    if (((va | length) & (kPage - 1)) != 0 || !abi::user_range_ok(va, length)) return Error::invalid_argument;
    Mapping gone[kMaxMappings];
    uint32_t n = 0;
    {
        LockGuard<SpinLockIrq> g(lock_);
        for (uint32_t i = 0; i < kMaxMappings; ++i) {
            const Mapping& m = mappings_[i];
            if (m.va == 0) continue;
            bool overlap = va < m.va + m.pages * kPage && m.va < va + length;
            if (!overlap) continue;
            bool inside = m.va >= va && m.va + m.pages * kPage <= va + length;
            if (!inside) return Error::invalid_argument;  // partial unmaps are not supported
            if (!m.ready) return Error::busy;             // a map of this range is still installing
        }
        for (uint32_t i = 0; i < kMaxMappings; ++i) {
            const Mapping& m = mappings_[i];
            if (m.va != 0 && m.va >= va && m.va + m.pages * kPage <= va + length) {
                gone[n++] = m;
                mappings_[i] = Mapping{};
            }
        }
    }
    for (uint32_t i = 0; i < n; ++i) {
        (void)as_->unmap_range(gone[i].va, gone[i].pages);  // batched shootdown on every CPU that ran it
        gone[i].mo->release();
    }
    return ok();
}

Result<void> Process::own_endpoint(Endpoint* ep) {
    // Under lock_ so that teardown (which follows exiting_) finds it.
    LockGuard<SpinLockIrq> g(lock_);
    if (exiting_) return Error::busy;
    Endpoint::link_owned(endpoints_, *ep);
    return ok();
}

bool Process::add_waiter(AsyncOp* op) {
    {
        LockGuard<SpinLockIrq> g(lock_);
        if (!dead_) {
            op->qnext = waiters_;
            waiters_ = op;
            return true;
        }
    }
    op->value = static_cast<uint64_t>(exit_code_);
    op->result_len = decode::exit_result(op->small, sizeof op->small, exit_code_, static_cast<uint16_t>(exit_reason_));
    return false;
}

void Process::complete_waiters() {
    AsyncOp* list;
    {
        LockGuard<SpinLockIrq> g(lock_);
        list = waiters_;
        waiters_ = nullptr;
    }
    while (list != nullptr) {
        AsyncOp* op = list;
        list = op->qnext;
        op->qnext = nullptr;
        op->status = 0;
        op->value = static_cast<uint64_t>(exit_code_);
        op->result_len =
            decode::exit_result(op->small, sizeof op->small, exit_code_, static_cast<uint16_t>(exit_reason_));
        op_complete(op);
    }
}

uint32_t Process::thread_slots() {
    LockGuard<SpinLockIrq> g(lock_);
    uint32_t n = 0;
    for (uint32_t i = 0; i < kMaxUserThreads; ++i) n += threads_[i] != nullptr ? 1 : 0;
    return n;
}

void Process::thread_gone(UserThread& t) {
    bool last = false;
    {
        LockGuard<SpinLockIrq> g(lock_);
        threads_[t.index_] = nullptr;
        uint32_t left = 0;
        for (uint32_t i = 0; i < kMaxUserThreads; ++i) left += threads_[i] != nullptr ? 1 : 0;
        last = left == 0 && exiting_;
    }
    if (last) teardown();
    t.release();  // the thread table's reference
}

void Process::teardown() {
    // The caller holds a reference (clearing the table may drop the process's
    // own Process capability).
    torn_down_ = true;
    Endpoint::shutdown_owned(endpoints_);
    {
        LockGuard<SpinLockIrq> g(g_cap_lock);
        caps_closed_ = true;
    }
    // Capability table: bounded batches with a preemption point between them.
    for (;;) {
        bool done;
        {
            LockGuard<SpinLockIrq> g(g_cap_lock);
            done = caps_.clear(64);
        }
        if (done) break;
        sched::yield();
    }
    // A zombie keeps only its exit status: the slot array goes now.
    caps_.~CapTable();
    kfree(slots_);
    slots_ = nullptr;
    Mapping maps[kMaxMappings];
    {
        LockGuard<SpinLockIrq> g(lock_);
        for (uint32_t i = 0; i < kMaxMappings; ++i) {
            maps[i] = mappings_[i];
            mappings_[i] = Mapping{};
        }
    }
    if (as_ != nullptr) {
        uint64_t freed = 0;
        free_private_frames(as_->root(), 3, 0, maps, kMaxMappings, freed);
        as_->destroy();  // full shootdown, page tables, PCID
        as_ = nullptr;
    }
    for (uint32_t i = 0; i < kMaxMappings; ++i)
        if (maps[i].va != 0) maps[i].mo->release();
    __atomic_store_n(&frames_used_, uint64_t{0}, __ATOMIC_RELAXED);
    {
        LockGuard<SpinLockIrq> g(lock_);
        __atomic_store_n(&dead_, true, __ATOMIC_RELEASE);
    }
    static const char* const kReasons[] = {"exited", "killed", "faulted", "quota"};
    kprintf("[capos] process %s (%llu) %s, code %lld\n", name_, static_cast<unsigned long long>(id_),
            kReasons[static_cast<unsigned>(exit_reason_) & 3], static_cast<long long>(exit_code_));
    complete_waiters();
    SchedulerControl::process_exited(id_);  // a dead placement server is demoted
    init_process_exited(id_, exit_code_);
}

// --- UserThread -----------------------------------------------------------------

void UserThread::on_last_ref() {
    Process* p = process_;
    this->~UserThread();
    kfree(this);
    if (p != nullptr) p->release();
}

void UserThread::kernel_entry(void* arg) {
    auto* t = static_cast<UserThread*>(arg);
    arch::irq_disable();
    user_return_prepare();
    arch::UserEntry e{t->entry_, t->stack_top_, t->arg0_, t->arg1_};
    arch::enter_user(e);
}

void UserThread::request_kill() {
    __atomic_store_n(&kill_, true, __ATOMIC_RELEASE);
    LockGuard<SpinLockIrq> g(wait_lock_);
    if (waiting_ && !dead_) (void)sched::wake(*kthread_);
}

bool UserThread::add_joiner(AsyncOp* op) {
    {
        LockGuard<SpinLockIrq> g(process_->lock_);
        if (!exited_) {
            op->qnext = joiners_;
            joiners_ = op;
            return true;
        }
    }
    op->value = static_cast<uint64_t>(exit_code_);
    op->result_len = decode::exit_result(op->small, sizeof op->small, exit_code_, static_cast<uint16_t>(exit_reason_));
    return false;
}

void UserThread::exit_current(int64_t code, ExitReason reason) {
    arch::irq_enable();
    ops_release_all(*this);
    AsyncOp* joiners;
    {
        LockGuard<SpinLockIrq> g(process_->lock_);
        exited_ = true;
        exit_code_ = code;
        exit_reason_ = reason;
        joiners = joiners_;
        joiners_ = nullptr;
    }
    while (joiners != nullptr) {
        AsyncOp* op = joiners;
        joiners = op->qnext;
        op->qnext = nullptr;
        op->status = 0;
        op->value = static_cast<uint64_t>(code);
        op->result_len = decode::exit_result(op->small, sizeof op->small, code, static_cast<uint16_t>(reason));
        op_complete(op);
    }
    if (__atomic_sub_fetch(&process_->live_threads_, 1, __ATOMIC_ACQ_REL) == 0) process_->terminate(code, reason);
    reap(this);
    Thread::exit();
}

void UserThread::release_memory() {
    AddressSpace* as = process_->as_;
    if (ring_pages_ != 0) {
        if (as != nullptr) {
            for (uint32_t i = 0; i < ring_pages_; ++i) (void)as->unmap(abi::user_ring_addr(index_) + i * kPage);
        }
        frame_free_contiguous(ring_pa_, ring_pages_);
        process_->uncharge_frames(ring_pages_);
        ring_pages_ = 0;
    }
    if (tls_pages_ != 0 && as != nullptr) {
        process_->uncharge_frames(release_region(as, abi::user_tls_addr(index_), tls_pages_));
        tls_pages_ = 0;
    }
    if (params_buf_ != nullptr) kfree(params_buf_);
    if (result_buf_ != nullptr) kfree(result_buf_);
    params_buf_ = result_buf_ = nullptr;
}

}  // namespace kern

// --- Process / ProcessHandle / Thread interfaces ------------------------------------

namespace kern {

namespace {

using capos::abi::QuotaKind;
using capos::abi::Status;

// Before a call that never returns (the caller exits): the dispatcher's
// reference to the target would otherwise leak. The caller's own process
// stays alive through its thread's reference.
void drop_target(Call& call) {
    if (call.object != nullptr) call.object->release();
    call.object = nullptr;
}

Result<CapHandle> grant(Process& p, KernelObject* o, Rights rights) {
    LockGuard<SpinLockIrq> g(cap_lock());
    return p.caps().insert(o, rights);
}

bool slots_available(Process& p, uint32_t n) {
    LockGuard<SpinLockIrq> g(cap_lock());
    return p.caps().available() >= n;
}

// Hands a new object to the caller as its one out-cap.
void return_cap(Call& call, KernelObject* o, Rights rights) {
    auto h = grant(call.proc, o, rights);
    if (!h.ok()) return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::cap_slots));
    call.caps_out[0] = h.value();
    call.caps_out_count = 1;
    call.value = h.value();
}

bool waiter_unlink(AsyncOp* op) {
    auto* p = static_cast<Process*>(op->obj);
    LockGuard<SpinLockIrq> g(p->lock_);
    for (AsyncOp** pp = &p->waiters_for_unlink(); *pp != nullptr; pp = &(*pp)->qnext) {
        if (*pp == op) {
            *pp = op->qnext;
            return true;
        }
    }
    return false;
}

bool joiner_unlink(AsyncOp* op) {
    auto* t = static_cast<UserThread*>(op->obj);
    LockGuard<SpinLockIrq> g(t->process().lock_);
    for (AsyncOp** pp = &t->joiners_; *pp != nullptr; pp = &(*pp)->qnext) {
        if (*pp == op) {
            *pp = op->qnext;
            return true;
        }
    }
    return false;
}

void handle_invoke(Call& call, Process& p, const decode::ProcessCall& d) {
    using Op = decode::ProcessCall::Op;
    if (d.op == Op::handle_id) {
        call.value = p.id();
        call.result_len = decode::process_id_result(call.result, kMaxResult, call.value);
        return;
    }
    if (d.op == Op::handle_kill) {
        p.terminate(-1, ExitReason::killed);
        if (&p == &call.proc) {
            drop_target(call);
            call.self.exit_current(-1, ExitReason::killed);
        }
        return;
    }
    auto op = op_create(call, waiter_unlink, &p);  // Op::handle_wait
    if (!op.ok()) return call.fail(op.error());
    if (!p.add_waiter(op.value())) op_complete(op.value());
}

}  // namespace

void process_invoke(Call& call, Process& p) {
    // Decode (object/call_decode): interface (Process or ProcessHandle),
    // method, rights, result room, the parameters (map's memory capability
    // an index into the in-caps); then the checks against live state below.
    decode::ProcessCall d;
    const decode::Verdict v = decode::process(decode_input(call), &p == &call.proc, &d);
    if (!v.ok()) return call.fail(v.status, v.detail);
    using Op = decode::ProcessCall::Op;
    if (d.op == Op::handle_id || d.op == Op::handle_kill || d.op == Op::handle_wait) return handle_invoke(call, p, d);
    switch (d.op) {
    case Op::id:
        call.value = p.id();
        call.result_len = decode::process_id_result(call.result, kMaxResult, call.value);
        return;
    case Op::exit:
        p.terminate(d.code, ExitReason::exited);
        if (&p == &call.proc) {
            drop_target(call);
            call.self.exit_current(d.code, ExitReason::exited);
        }
        return;
    case Op::exit_thread:
        drop_target(call);
        call.self.exit_current(d.code, ExitReason::exited);
    case Op::create_thread: {
        // Decode, live state: the thread quota and a slot for the handle.
        if (p.thread_count() >= p.quotas().threads)
            return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::threads));
        if (!slots_available(call.proc, 1))
            return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::cap_slots));
        // Invoke. Created stopped: it starts only once its handle is in the
        // caller's table. If another thread of the caller took the last slot
        // meanwhile, the new thread is started already killed, so it exits
        // at its first kernel boundary without running user code, and the
        // caller's quota_exceeded is true (nothing of it remains).
        auto t = p.create_thread(d.entry, d.stack_top, d.arg, false);
        if (!t.ok()) {
            if (t.error() == Error::quota)
                return call.fail(Status::quota_exceeded,
                                 static_cast<uint32_t>(p.thread_count() >= p.quotas().threads ? QuotaKind::threads
                                                                                              : QuotaKind::frames));
            return call.fail(t.error());
        }
        UserThread* nt = t.value().get();
        return_cap(call, nt, kRightsObject);
        if (call.caps_out_count == 0) nt->request_kill();
        sched::start(*nt->kthread());
        return;
    }
    case Op::allocate: {
        if (!slots_available(call.proc, 1))
            return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::cap_slots));
        auto mo = MemoryObject::create(p, d.bytes);
        if (!mo.ok()) {
            if (mo.error() == Error::quota)
                return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::frames));
            return call.fail(mo.error());
        }
        return_cap(call, mo.value(), kRightsMemory);
        mo.value()->release();  // the creation reference; the slot holds its own
        return;
    }
    case Op::map: {
        // Decode, live state: the memory capability and the rights the mapping needs.
        Rights need = capos::abi::kRightMap | (d.writable ? capos::abi::kRightWrite : 0) |
                      (d.executable ? capos::abi::kRightExecute : 0);
        MemoryObject* mo = nullptr;
        {
            LockGuard<SpinLockIrq> g(cap_lock());
            auto l = call.proc.caps().lookup(call.caps_in[d.memory_cap], need);
            if (!l.ok()) return call.fail(l.error());
            if (l.value().object->type() != ObjectType::memory_object) return call.fail(Status::invalid_argument);
            mo = static_cast<MemoryObject*>(l.value().object);
            mo->add_ref();
        }
        auto res = p.map(mo, d.address, d.offset, d.length, d.writable, d.executable);
        mo->release();
        if (!res.ok()) return call.fail(res.error());
        return;
    }
    case Op::unmap: {
        auto res = p.unmap(d.address, d.length);
        if (!res.ok()) return call.fail(res.error());
        return;
    }
    case Op::drop_caps: {
        // Empties the caller's slots named by the in-caps (decode: all must be
        // valid first, so it is all or nothing).
        LockGuard<SpinLockIrq> g(cap_lock());
        for (uint16_t i = 0; i < call.caps_in_count; ++i) {
            auto l = p.caps().lookup(call.caps_in[i], 0);
            if (!l.ok()) return call.fail(l.error());
            for (uint16_t k = 0; k < i; ++k)
                if (call.caps_in[k] == call.caps_in[i]) return call.fail(Status::invalid_argument);
        }
        for (uint16_t i = 0; i < call.caps_in_count; ++i) (void)p.caps().drop(call.caps_in[i]);
        return;
    }
    case Op::create_endpoint: {
        if (!slots_available(call.proc, 1))
            return call.fail(Status::quota_exceeded, static_cast<uint32_t>(QuotaKind::cap_slots));
        auto ep = Endpoint::create(p);
        if (!ep.ok()) return call.fail(ep.error());
        return_cap(call, ep.value(), kRightsObject);
        ep.value()->release();
        return;
    }
    default:
        return call.fail(Status::bad_method);
    }
}

void thread_invoke(Call& call, UserThread& t) {
    // Decode (object/call_decode): interface, method, setCpuHint's CPU.
    decode::ThreadCall d;
    const decode::Verdict v = decode::thread(decode_input(call), &t == &call.self, sched::cpu_count(), &d);
    if (!v.ok()) return call.fail(v.status, v.detail);
    using Op = decode::ThreadCall::Op;
    switch (d.op) {
    case Op::id:
        call.value = t.id();
        call.result_len = decode::thread_id_result(call.result, kMaxResult, call.value);
        return;
    case Op::join: {
        auto op = op_create(call, joiner_unlink, &t);
        if (!op.ok()) return call.fail(op.error());
        if (!t.add_joiner(op.value())) op_complete(op.value());
        return;
    }
    case Op::set_weight:  // issue 7: fair-share weight (object/scheduler_control decodes it)
        return SchedulerControl::thread_set_weight(call, t);
    case Op::set_cpu_hint: {
        // Applied as the thread's allowed-CPU mask {cpu} (a hard pin; default
        // placement and a placement server's answers both honour the mask).
        // Takes effect at the thread's next placement (wake-up or start).
        // Added for benchmark-micro's same-CPU / cross-CPU cases.
        // The reaper frees an ended thread's kernel Thread while its handles
        // live on; until exited_ is set (under this lock) it cannot have
        // (found by utest=fuzz: setCpuHint on an ended thread wrote into freed
        // memory, by then an endpoint's queued call, and the kernel faulted).
        LockGuard<SpinLockIrq> g(t.process().lock_);
        if (t.exited_) return call.fail(Status::peer_dead);
        if (!t.kthread()->set_affinity(CpuMask::only(d.cpu)).ok()) return call.fail(Status::invalid_argument);
        return;
    }
    case Op::cpu_time: {
        // No parameters to decode. The kernel Thread is read under the
        // process lock for the reaper reason given at setCpuHint.
        LockGuard<SpinLockIrq> g(t.process().lock_);
        if (t.exited_) return call.fail(Status::peer_dead);
        call.result_len = t.kthread()->encode_cpu_time(call.result, kMaxResult);
        if (call.result_len == 0) return call.fail(Status::internal);
        return;
    }
    default:
        return call.fail(Status::bad_method);
    }
}

}  // namespace kern
