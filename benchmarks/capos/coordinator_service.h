// coordinator_service.h - the Coordinator interface (schema/coordinator.capnp) as the benchmark coordinator serves it for one process-scale run.
//
// Plain C++ over the generated bindings, so the host test
// (tests/coordinator_test.cpp) drives the very code the guest runs: a
// received message in, a results message (or an error status) out.
//
// What each call gets:
//   register(i)   i < workers and not yet registered: the run's assignment
//                 (workload primes, workers, range, chunks). Otherwise an
//                 assignment with workers = 0, which a worker refuses to
//                 compute: nothing is counted.
//   report(r)     from a registered worker that has not reported, with
//                 endTsc >= startTsc: stored, accepted = true. Otherwise
//                 accepted = false and nothing stored.
//   result()      not served (the results go to the console): bad_method.
// A message that does not parse is malformed_message; an interface or
// method that is not Coordinator's is bad_method.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "capos/abi/status.h"
#include "capos/capnp/capnp.h"
#include "capos/schema/coordinator.capnp.h"
#include "primes.h"

namespace benchcap {

class CoordinatorService {
public:
    static constexpr uint32_t kMaxWorkers = 32;
    static constexpr size_t kResultBytes = 256;  // the largest results (an assignment) framed

    struct Report {
        bench::PrimeResult r;
        uint64_t start, end;
        uint32_t cpu_start, cpu_end, taken;
    };

    // A new run of k workers (k <= kMaxWorkers) over [lo, hi) in `chunks` pieces.
    void reset(uint32_t k, uint32_t lo, uint32_t hi, uint32_t chunks) {
        *this = CoordinatorService{};
        k_ = k <= kMaxWorkers ? k : kMaxWorkers;
        lo_ = lo;
        hi_ = hi;
        chunks_ = chunks;
    }

    uint32_t registered() const { return registered_; }
    uint32_t reported() const { return reported_; }
    bool done(uint32_t i) const { return i < k_ && done_[i]; }
    Report reports[kMaxWorkers] = {};

    // One call: params[0..len) in, the framed results written to out (at
    // most `cap` bytes, *written of them); *written = 0 with an error status.
    capos::abi::Status serve(uint64_t iface, uint16_t method, const void* params, uint32_t len, void* out, size_t cap,
                             size_t* written) {
        *written = 0;
        cap::capnp::FlatMessageReader<4> in;
        alignas(8) unsigned char seg[kResultBytes];
        cap::capnp::MessageBuilder res(seg, sizeof seg);
        cap::capnp::Error e = in.init_flat(params, len);
        if (e == cap::capnp::Error::Ok) e = cap::schema::Coordinator_dispatch(iface, method, in, res, *this);
        if (e == cap::capnp::Error::UnknownInterface || e == cap::capnp::Error::UnknownMethod)
            return capos::abi::Status::bad_method;
        if (e != cap::capnp::Error::Ok) return capos::abi::Status::malformed_message;
        size_t n = 0;
        if (res.write_flat(out, cap, &n) != cap::capnp::Error::Ok) return capos::abi::Status::internal;
        *written = n;
        return capos::abi::Status::ok;
    }

    // The dispatch's implementation (generated Coordinator_dispatch calls these).
    cap::capnp::Error register_(cap::schema::Coordinator_RegisterParams_Reader p,
                                cap::schema::Coordinator_RegisterResults_Builder res) {
        const uint32_t i = p.worker_index();
        auto w = res.init_work();
        w.set_workload(cap::schema::Workload::Primes);
        w.set_worker_index(i);
        if (i >= k_ || seen_[i]) return cap::capnp::Error::Ok;  // workers = 0: nothing to compute
        seen_[i] = true;
        ++registered_;
        w.set_workers(k_);
        w.set_range_lo(lo_);
        w.set_range_hi(hi_);
        w.set_chunks(chunks_);
        return cap::capnp::Error::Ok;
    }
    cap::capnp::Error report(cap::schema::Coordinator_ReportParams_Reader p,
                             cap::schema::Coordinator_ReportResults_Builder res) {
        const auto rep = p.report();
        const uint32_t i = rep.worker_index();
        if (i >= k_ || !seen_[i] || done_[i] || rep.end_tsc() < rep.start_tsc()) {
            res.set_accepted(false);
            return cap::capnp::Error::Ok;
        }
        done_[i] = true;
        ++reported_;
        reports[i] = Report{bench::PrimeResult{rep.primes(), rep.checksum()},
                            rep.start_tsc(),
                            rep.end_tsc(),
                            rep.cpu_start(),
                            rep.cpu_end(),
                            rep.chunks_taken()};
        res.set_accepted(true);
        return cap::capnp::Error::Ok;
    }
    cap::capnp::Error result(cap::schema::Coordinator_ResultParams_Reader,
                             cap::schema::Coordinator_ResultResults_Builder) {
        return cap::capnp::Error::UnknownMethod;
    }

private:
    uint32_t k_ = 0, lo_ = 0, hi_ = 0, chunks_ = 0;
    uint32_t registered_ = 0, reported_ = 0;
    bool seen_[kMaxWorkers] = {};
    bool done_[kMaxWorkers] = {};
};

}  // namespace benchcap
