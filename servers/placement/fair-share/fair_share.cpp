// fair_share.cpp: the fair-share policy logic (server and host library).
#include "fair_share.h"

namespace placement {

bool FairShare::configure(const KeyValues& args, ArgError& err) {
    uint64_t ms = 0;
    if (!single_u64_arg(args, name(), "slice_ms", 1, kMaxSliceNs / 1'000'000, ms, err)) return false;
    if (ms != 0) base_slice_ns_ = ms * 1'000'000;  // all checked: nothing changes on a refusal
    return true;
}

void FairShare::start(uint32_t ncpus) {
    ncpus_ = ncpus == 0 ? 1 : (ncpus > kMaxCpus ? kMaxCpus : ncpus);
    // A successor started with fewer CPUs than its predecessor had: threads
    // on CPUs it does not place on are placed afresh.
    for (uint32_t i = 0; i < threads_.n; ++i)
        if (threads_.t[i].cpu >= ncpus_) threads_.t[i].cpu = kNoCpu;
}

uint64_t FairShare::eff_weight(const ThreadPlacement& t) const {
    uint64_t n = 0;
    for (uint32_t i = 0; i < threads_.n; ++i)
        if (threads_.t[i].runnable && threads_.t[i].process_id == t.process_id) ++n;
    if (n == 0) n = 1;
    uint64_t w = t.weight == 0 ? 1 : t.weight;
    return w * 1024 / n;
}

uint64_t FairShare::slice_for(const ThreadPlacement& t) const {
    uint64_t ref = 0;
    for (uint32_t i = 0; i < threads_.n; ++i) {
        if (!threads_.t[i].runnable) continue;
        uint64_t w = eff_weight(threads_.t[i]);
        if (ref == 0 || w < ref) ref = w;
    }
    uint64_t mine = eff_weight(t);
    if (ref == 0) ref = mine;
    uint64_t s = base_slice_ns_ * mine / ref;
    if (s < base_slice_ns_) s = base_slice_ns_;
    if (s > kMaxSliceNs) s = kMaxSliceNs;
    return s;
}

uint64_t FairShare::cpu_load(uint32_t cpu, uint64_t except_tid) const {
    uint64_t l = 0;
    for (uint32_t i = 0; i < threads_.n; ++i) {
        const ThreadPlacement& t = threads_.t[i];
        if (t.runnable && t.cpu == cpu && t.thread_id != except_tid) l += eff_weight(t);
    }
    return l;
}

uint32_t FairShare::choose(const ThreadPlacement& t, uint32_t kernel_cpu) const {
    uint32_t cur = t.cpu < ncpus_ ? t.cpu : (kernel_cpu < ncpus_ ? kernel_cpu : 0);
    uint32_t best = cur;
    uint64_t best_load = cpu_load(cur, t.thread_id);
    for (uint32_t c = 0; c < ncpus_; ++c) {
        uint64_t l = cpu_load(c, t.thread_id);
        if (l < best_load) {
            best = c;
            best_load = l;
        }
    }
    // Stay while staying is fair: the current CPU carries no more than the
    // best one plus this thread's own weight.
    if (cpu_load(cur, t.thread_id) <= best_load + eff_weight(t) / 2) return cur;
    return best;
}

void FairShare::rebalance(const Event& e, Decisions& out) {
    if (e.cpu >= ncpus_) return;
    reported_[e.cpu] = e.runnable;
    if (e.runnable != 0) {
        if (ncpus_ < 2 || ++load_reports_ % kRotateEvery != 0) return;
        uint32_t runnable = 0;
        for (uint32_t i = 0; i < threads_.n; ++i) runnable += threads_.t[i].runnable ? 1 : 0;
        if (runnable <= ncpus_) return;  // nobody shares a CPU: nothing to even out
        uint32_t other = (e.cpu + 1) % ncpus_;
        ThreadPlacement* a = nullptr;
        ThreadPlacement* b = nullptr;
        for (uint32_t i = 0; i < threads_.n; ++i) {
            ThreadPlacement& t = threads_.t[i];
            if (!t.runnable) continue;
            if (t.cpu == e.cpu && (a == nullptr || t.moved_seq < a->moved_seq)) a = &t;
            if (t.cpu == other && (b == nullptr || t.moved_seq < b->moved_seq)) b = &t;
        }
        if (a == nullptr || b == nullptr) return;
        a->cpu = other;
        b->cpu = e.cpu;
        a->moved_seq = b->moved_seq = e.seq;
        out.push(assign(0, a->thread_id, a->cpu, a->slice_ns));
        out.push(assign(0, b->thread_id, b->cpu, b->slice_ns));
        return;
    }
    // e.cpu idles: pull one waiting thread from the busiest queue the policy knows.
    uint32_t busiest = kNoCpu;
    uint32_t most = 1;
    for (uint32_t c = 0; c < ncpus_; ++c) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < threads_.n; ++i)
            if (threads_.t[i].runnable && threads_.t[i].cpu == c) ++n;
        if (n > most) {
            most = n;
            busiest = c;
        }
    }
    if (busiest == kNoCpu) return;
    // The last one assigned there is likely still queued (the first runs).
    for (uint32_t i = threads_.n; i-- > 0;) {
        ThreadPlacement& t = threads_.t[i];
        if (t.runnable && t.cpu == busiest) {
            t.cpu = e.cpu;
            t.moved_seq = e.seq;
            t.slice_ns = slice_for(t);
            out.push(assign(0, t.thread_id, e.cpu, t.slice_ns));
            return;
        }
    }
}

void FairShare::refresh_slices(uint64_t skip, Decisions& out) {
    for (uint32_t i = 0; i < threads_.n; ++i) {
        ThreadPlacement& t = threads_.t[i];
        if (!t.runnable || t.thread_id == skip) continue;
        uint64_t s = slice_for(t);
        if (s == t.slice_ns) continue;
        t.slice_ns = s;
        Decision d;
        d.kind = DecisionKind::slice;
        d.thread_id = t.thread_id;
        d.value = s;
        out.push(d);
    }
}

void FairShare::on_event(const Event& e, Decisions& out) {
    last_seq_ = e.seq;
    switch (e.kind) {
        case EventKind::thread_created: {
            ThreadPlacement* t = threads_.get(e.thread_id, e.process_id);
            if (t != nullptr) t->weight = e.weight;
            return;
        }
        case EventKind::thread_runnable: {
            ThreadPlacement* t = threads_.get(e.thread_id, e.process_id);
            if (t == nullptr) return;  // table full: the kernel's default places it
            t->weight = e.weight;
            t->runnable = true;
            t->vruntime_ns = e.run_ns * 1024 / (e.weight == 0 ? 1 : e.weight);
            uint32_t c = choose(*t, e.cpu);
            if (c != t->cpu) t->moved_seq = e.seq;
            t->cpu = c;
            t->slice_ns = slice_for(*t);
            out.push(assign(e.seq, t->thread_id, c, t->slice_ns));
            refresh_slices(t->thread_id, out);
            return;
        }
        case EventKind::thread_blocked: {
            if (ThreadPlacement* t = threads_.find(e.thread_id)) {
                t->runnable = false;
                t->vruntime_ns = e.run_ns * 1024 / (e.weight == 0 ? 1 : e.weight);
                refresh_slices(0, out);
            }
            return;
        }
        case EventKind::thread_exited:
            threads_.remove(e.thread_id);
            refresh_slices(0, out);
            return;
        case EventKind::cpu_load:
            rebalance(e, out);
            return;
        default:
            return;
    }
}

void FairShare::export_state(PolicyState& s) const {
    export_table(*this, threads_, ncpus_, last_seq_, s);
    s.default_slice_ns = base_slice_ns_;
    s.opaque_len = 0;
}

bool FairShare::import_state(const PolicyState& s) {
    if (s.ncpus == 0 || s.ncpus > kMaxCpus || s.nthreads > kMaxThreads) return false;
    for (uint32_t i = 0; i < s.nthreads; ++i)
        if (s.threads[i].thread_id == 0) return false;
    ncpus_ = s.ncpus;
    threads_.n = s.nthreads;
    for (uint32_t i = 0; i < s.nthreads; ++i) {
        threads_.t[i] = s.threads[i];
        if (threads_.t[i].cpu >= ncpus_) threads_.t[i].cpu = kNoCpu;
    }
    last_seq_ = s.last_seq;
    return true;
}

uint32_t FairShare::cpu_of(uint64_t tid) const {
    for (uint32_t i = 0; i < threads_.n; ++i)
        if (threads_.t[i].thread_id == tid) return threads_.t[i].cpu;
    return kNoCpu;
}

}  // namespace placement
