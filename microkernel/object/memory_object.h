// memory_object.h: MemoryObject, page-granular physical memory that can be
// mapped into address spaces (schema/memory.capnp).
//
// Created by Process.allocate (zeroed frames, charged to the allocating
// process's frames quota until the object goes away). Each mapping holds a
// reference, so frames are freed only after the last capability is dropped
// and the last mapping is gone (and its TLB entries shot down).
#pragma once

#include <stdint.h>

#include "lib/ref.h"
#include "lib/result.h"
#include "cap/cap_table.h"

namespace kern {

class Process;
struct Call;

class MemoryObject final : public KernelObject {
public:
    static constexpr uint64_t kMaxPages = 65536;  // 256 MiB per object

    // Allocates `bytes` (rounded up to pages) of zeroed frames charged to
    // `owner`. Errors: invalid_argument (0 or above kMaxPages), quota
    // (frames), out_of_memory.
    static Result<MemoryObject*> create(Process& owner, uint64_t bytes);

    uint64_t size() const { return pages_ * 4096; }
    uint64_t pages() const { return pages_; }
    uint64_t frame(uint64_t page) const { return frames_[page]; }

    // MemoryObject interface (size, read, write; slice is not_supported).
    static void invoke(Call& call, MemoryObject& mo);

private:
    MemoryObject() : KernelObject(ObjectType::memory_object) {}
    void on_last_ref() override;

    Process* owner_ = nullptr;  // holds a reference (for the frames quota)
    uint64_t pages_ = 0;
    uint64_t* frames_ = nullptr;
};

}  // namespace kern
