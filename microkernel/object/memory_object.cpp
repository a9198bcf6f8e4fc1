// memory_object.cpp: MemoryObject allocation, release and its interface.
#include "object/memory_object.h"

#include "arch/interface/paging.h"
#include "mm/frames.h"
#include "mm/kheap.h"
#include "ipc/ring_dispatch.h"
#include "ipc/user_copy.h"
#include "cap/kernel_object.h"
#include "object/process.h"

namespace kern {

Result<MemoryObject*> MemoryObject::create(Process& owner, uint64_t bytes) {
    if (bytes == 0 || bytes > kMaxPages * 4096) return Error::invalid_argument;
    const uint64_t pages = (bytes + 4095) / 4096;
    TRY(owner.charge_frames(pages));
    auto mem = kmalloc(sizeof(MemoryObject), alignof(MemoryObject));
    if (!mem.ok()) {
        owner.uncharge_frames(pages);
        return mem.error();
    }
    auto* mo = new (mem.value()) MemoryObject();
    auto fr = kmalloc(sizeof(uint64_t) * pages, 8);
    if (!fr.ok()) {
        owner.uncharge_frames(pages);
        kfree(mo);
        return fr.error();
    }
    mo->frames_ = static_cast<uint64_t*>(fr.value());
    for (uint64_t i = 0; i < pages; ++i) {
        auto f = frame_alloc();
        if (!f.ok()) {
            for (uint64_t j = 0; j < i; ++j) frame_free(mo->frames_[j]);
            owner.uncharge_frames(pages);
            kfree(mo->frames_);
            kfree(mo);
            return f.error();
        }
        auto* p = arch::phys_to<uint64_t>(f.value());
        for (int w = 0; w < 512; ++w) p[w] = 0;
        mo->frames_[i] = f.value();
    }
    mo->pages_ = pages;
    owner.add_ref();
    mo->owner_ = &owner;
    return mo;
}

void MemoryObject::on_last_ref() {
    for (uint64_t i = 0; i < pages_; ++i) frame_free(frames_[i]);
    kfree(frames_);
    Process* owner = owner_;
    if (owner != nullptr) {
        owner->uncharge_frames(pages_);
    }
    this->~MemoryObject();
    kfree(this);
    if (owner != nullptr) owner->release();
}

void MemoryObject::invoke(Call& call, MemoryObject& mo) {
    using capos::abi::Status;
    // Decode (cap/call_decode): interface, method, Read/Write right, the
    // range (at most 4096 bytes, inside the object).
    decode::MemoryCall d;
    const decode::Verdict v = decode::memory_object(decode_input(call), mo.size(), &d);
    if (!v.ok()) return call.fail(v.status, v.detail);
    // Invoke.
    if (d.op == decode::MemoryCall::Op::size) {
        call.value = mo.size();
        call.result_len = decode::memory_size_result(call.result, kMaxResult, call.value);
        return;
    }
    const uint64_t offset = d.offset;
    const uint32_t len = d.length;
    if (d.op == decode::MemoryCall::Op::read) {
        uint8_t* tmp = nullptr;
        call.result_len = decode::memory_read_result(call.result, kMaxResult, len, &tmp);
        if (call.result_len == 0) return call.fail(Status::internal);  // 4096 bytes always fit kMaxResult
        for (uint32_t i = 0; i < len;) {
            uint64_t o = offset + i;
            uint32_t k = static_cast<uint32_t>(4096 - (o & 4095));
            if (k > len - i) k = len - i;
            __builtin_memcpy(tmp + i, arch::phys_to<uint8_t>(mo.frames_[o / 4096]) + (o & 4095), k);
            i += k;
        }
        return;
    }
    for (uint32_t i = 0; i < len;) {
        uint64_t o = offset + i;
        uint32_t k = static_cast<uint32_t>(4096 - (o & 4095));
        if (k > len - i) k = len - i;
        __builtin_memcpy(arch::phys_to<uint8_t>(mo.frames_[o / 4096]) + (o & 4095), d.bytes.data + i, k);
        i += k;
    }
}

}  // namespace kern
