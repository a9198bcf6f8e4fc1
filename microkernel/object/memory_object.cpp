// memory_object.cpp: MemoryObject allocation, release and its interface.
#include "object/memory_object.h"

#include "arch/x86_64/paging.h"
#include "core/boot_info.h"
#include "core/kheap.h"
#include "core/ring_dispatch.h"
#include "core/user_copy.h"
#include "lib/capnp_wire.h"
#include "object/kernel_object.h"
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
    if (call.sqe.interface_id != iface::kMemoryObject) return call.fail(Status::bad_method);
    const uint16_t m = call.sqe.method;
    if (m == iface::kMemorySize) {
        const uint64_t v = mo.size();
        call.value = v;
        (void)result_words(call, &v, 1);
        return;
    }
    if (m == iface::kMemorySlice) return call.fail(Status::not_supported);
    if (m != iface::kMemoryRead && m != iface::kMemoryWrite) return call.fail(Status::bad_method);
    wire::Reader r;
    if (!r.init(call.params, call.params_len).ok()) return call.fail(Status::malformed_message);
    const uint64_t offset = wire::Reader::u64(r.root(), 0);
    if (m == iface::kMemoryRead) {
        if ((call.rights & capos::abi::kRightRead) == 0) return call.fail(Status::rights);
        const uint32_t len = wire::Reader::u32(r.root(), 2);
        if (len > 4096 || offset > mo.size() || len > mo.size() - offset) return call.fail(Status::invalid_argument);
        wire::Builder b(call.result, kMaxResult);
        wire::Builder::Struct s = b.root(0, 1);
        uint8_t* tmp = b.alloc_data(s, 0, len);
        if (tmp == nullptr) return call.fail(Status::internal);
        for (uint32_t i = 0; i < len;) {
            uint64_t o = offset + i;
            uint32_t k = static_cast<uint32_t>(4096 - (o & 4095));
            if (k > len - i) k = len - i;
            __builtin_memcpy(tmp + i, arch::phys_to<uint8_t>(mo.frames_[o / 4096]) + (o & 4095), k);
            i += k;
        }
        call.result_len = b.finish();
        return;
    }
    if ((call.rights & capos::abi::kRightWrite) == 0) return call.fail(Status::rights);
    auto bytes = r.data(r.root(), 0);
    if (!bytes.ok()) return call.fail(Status::malformed_message);
    const uint32_t len = bytes.value().size;
    if (len > 4096 || offset > mo.size() || len > mo.size() - offset) return call.fail(Status::invalid_argument);
    for (uint32_t i = 0; i < len;) {
        uint64_t o = offset + i;
        uint32_t k = static_cast<uint32_t>(4096 - (o & 4095));
        if (k > len - i) k = len - i;
        __builtin_memcpy(arch::phys_to<uint8_t>(mo.frames_[o / 4096]) + (o & 4095), bytes.value().data + i, k);
        i += k;
    }
}

}  // namespace kern
