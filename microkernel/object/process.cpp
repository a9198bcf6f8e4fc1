// process.cpp: the Process object: creation, quotas, ELF loading and the
// start block, threads, exit and teardown. Its calls: process_invoke.cpp;
// UserThread: user_thread.cpp; the reaper: reaper.cpp.
#include "object/process.h"

#include "arch/interface/cpu.h"
#include "arch/interface/paging.h"
#include "capos/abi/layout.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/process.capnp.h"
#include "mm/frames.h"
#include "debug/console.h"
#include "boot/init_process.h"
#include "mm/kheap.h"
#include "debug/panic.h"
#include "object/scheduler_control.h"
#include "ipc/ring_dispatch.h"
#include "sched/sched.h"
#include "object/address_space.h"
#include "object/endpoint.h"
#include "cap/kernel_object.h"
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

uint64_t free_frame_count() { return frames_free_count(); }

UserThread* current_user_thread() {
    Thread* t = Thread::current();
    return t == nullptr ? nullptr : static_cast<UserThread*>(t->user_);
}

// --- Process -------------------------------------------------------------------

Result<Ref<Process>> Process::create(const char* name, const ProcessQuotas& q) {
    if (q.cap_slots == 0 || q.cap_slots > CapTable::kMaxCapacity || q.threads == 0 || q.threads > kMaxUserThreads)
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

Result<void> Process::map_user_pages(uint64_t va, uint64_t pages, uint64_t flags, const uint8_t* src, uint64_t src_len,
                                     uint64_t src_skip) {
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
    if (auto m =
            map_user_pages(base, tls_pages, arch::kPteWrite | arch::kPteNx, timg, tls_.present ? tls_.filesz : 0, 0);
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
            waiters_.push_front(op);
            return true;
        }
    }
    op->value = static_cast<uint64_t>(exit_code_);
    op->result_len = decode::exit_result(op->small, sizeof op->small, exit_code_, static_cast<uint16_t>(exit_reason_));
    return false;
}

void Process::complete_waiters() {
    OpQueue list;
    {
        LockGuard<SpinLockIrq> g(lock_);
        list.splice_back(waiters_);
    }
    while (AsyncOp* op = list.pop_front()) {
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

}  // namespace kern
