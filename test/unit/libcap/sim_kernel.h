// sim_kernel.h - a simulated kernel for libcap's ring client: the real kern::KernelRing plus scripted objects.
//
// The shared ring lives in host memory; the kernel side is the same
// KernelRing the kernel uses, so these tests also check that libcap and the
// kernel agree on the ABI. cap_enter is simulated synchronously: consume,
// run each submission, post what completes at once, keep "deferred" ones
// until the test (or auto-release, standing in for another CPU) posts them.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "capos/abi/ring.h"
#include "capos/abi/status.h"
#include "ipc/ring.h"
#include "libcap/ring.h"

namespace sim {

namespace abi = capos::abi;

// Test-only interface ids.
inline constexpr uint64_t kEcho = 0xec40;   // copies params to the result, value = params_len
inline constexpr uint64_t kDefer = 0xdefe;  // completes only when released; value = sqe.cap
inline constexpr uint64_t kFail = 0xfa11;   // completes with status = -(method)

struct Kernel {
    Kernel(uint32_t sq, uint32_t cq, uint32_t overflow_cap, uint32_t first = 0)
        : size(abi::ring_size(sq, cq)), overflow(overflow_cap ? overflow_cap : 1) {
        mem = static_cast<unsigned char*>(std::aligned_alloc(4096, size));
        std::memset(mem, 0x5a, size);
        auto r = kring.init(mem, size, sq, cq, overflow.data(), overflow_cap, first);
        if (!r.ok()) std::abort();
    }
    ~Kernel() { std::free(mem); }
    Kernel(const Kernel&) = delete;
    Kernel& operator=(const Kernel&) = delete;

    abi::RingHeader* hdr() { return reinterpret_cast<abi::RingHeader*>(mem); }

    // Binds `ring` to this kernel's memory and enter function.
    void bind(cap::Ring& ring) {
        ring.set_enter(&Kernel::enter_thunk, this);
        auto r = ring.attach(mem, size);
        if (!r.ok()) std::abort();
    }

    static int64_t enter_thunk(void* ctx, uint32_t min_complete, uint64_t timeout_ns) {
        return static_cast<Kernel*>(ctx)->enter(min_complete, timeout_ns);
    }

    void post(const abi::Sqe& s, int32_t status, uint64_t value, uint32_t result_len = 0) {
        abi::Cqe c{};
        c.user_tag = s.user_tag;
        c.status = status;
        c.value = value;
        c.result_len = result_len;
        kring.post(c);
    }

    // Runs one consumed submission.
    void run(const abi::Sqe& s) {
        seen.push_back(s);
        if (s.interface_id == abi::kInterfaceKernelRing && s.method == abi::kMethodNop) {
            post(s, 0, 0);
        } else if (s.interface_id == kEcho) {
            const uint32_t n = s.params_len < s.result_len_max ? s.params_len : s.result_len_max;
            if (n != 0) std::memcpy(reinterpret_cast<void*>(s.result_addr), reinterpret_cast<void*>(s.params_addr), n);
            post(s, 0, s.params_len, n);
        } else if (s.interface_id == kDefer) {
            deferred.push_back(s);
        } else if (s.interface_id == kFail) {
            post(s, -static_cast<int32_t>(s.method), 0);
        } else if (handler) {
            handler(*this, s);
        } else {
            post(s, static_cast<int32_t>(abi::Status::bad_method), 0);
        }
    }

    // Posts the oldest deferred submission (or the one at `index`).
    bool release(size_t index = 0) {
        if (index >= deferred.size()) return false;
        abi::Sqe s = deferred[index];
        deferred.erase(deferred.begin() + static_cast<long>(index));
        post(s, 0, s.cap);
        return true;
    }

    int64_t enter(uint32_t min_complete, uint64_t timeout_ns) {
        enters++;
        kring.flush_overflow();
        abi::Sqe buf[64];
        auto pending = kring.sq_pending();
        if (!pending.ok()) return static_cast<int64_t>(abi::Status::bad_ring);
        uint32_t consumed_total = 0;
        for (;;) {
            auto n = kring.consume(buf, 64);
            if (!n.ok()) return static_cast<int64_t>(abi::Status::bad_ring);
            for (uint32_t i = 0; i < n.value(); ++i) run(buf[i]);
            consumed_total += n.value();
            if (n.value() < 64) break;
        }
        const uint32_t left = kring.sq_pending().value_or(0);
        // Stand-in for another CPU completing work while we "sleep".
        while (kring.cq_ready() < min_complete && auto_release && !deferred.empty()) release();
        if (left != 0 && consumed_total == 0 && kring.cq_ready() == 0 && kring.parked() == 0)
            return static_cast<int64_t>(abi::Status::overflow);
        if (kring.cq_ready() < min_complete) {
            if (timeout_ns == abi::kTimeoutInfinite) would_hang++;
            return static_cast<int64_t>(abi::Status::timeout);
        }
        return kring.cq_ready();
    }

    size_t size;
    unsigned char* mem = nullptr;
    std::vector<abi::Cqe> overflow;
    kern::KernelRing kring;
    std::vector<abi::Sqe> seen;
    std::deque<abi::Sqe> deferred;
    std::function<void(Kernel&, const abi::Sqe&)> handler;
    bool auto_release = false;
    uint64_t enters = 0;
    uint64_t would_hang = 0;  // infinite waits the simulation could not satisfy
};

}  // namespace sim
