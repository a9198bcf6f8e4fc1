// benchmarks/linux/procstats.h — what the Linux kernel did during one benchmark run, from /proc (the counterpart of capOS's [kstats] lines).
//
// take() reads /proc/stat (per-CPU user/system/idle time, context switches),
// /proc/interrupts (per-CPU local timer, rescheduling, function-call and TLB
// shootdown interrupts) and /proc/schedstat (per-CPU run time, run-queue
// wait and time slices); print_delta() prints the differences as
// `[linux-stats] scope=<label> cpu=<n|all> key=value ...` lines. Both run
// outside the timed section (before the window's begin line and after its
// end line), so the reads cost the measurement nothing.
#pragma once

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "linux_common.h"
#include "paired.h"
#include "result_line.h"

namespace bench::linux_baseline {

inline constexpr uint32_t kStatsMaxCpus = 16;

struct CpuStats {
    uint64_t user_j, system_j, idle_j, irq_j;  // /proc/stat, USER_HZ ticks (user includes nice)
    uint64_t loc, res, cal, tlb;               // /proc/interrupts columns of this CPU
    uint64_t run_ns, wait_ns, slices;          // /proc/schedstat
};

struct ProcSnapshot {
    uint32_t cpus = 0;
    uint64_t ctxt = 0;
    CpuStats cpu[kStatsMaxCpus] = {};
};

// Reads a whole small /proc file into buf (NUL-terminated); false if it cannot.
inline bool read_proc(const char* path, char* buf, size_t cap) {
    const int fd = open(path, O_RDONLY);
    if (fd < 0) return false;
    size_t n = 0;
    while (n + 1 < cap) {
        const ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0) break;
        n += static_cast<size_t>(r);
    }
    close(fd);
    buf[n] = '\0';
    return n > 0;
}

inline uint64_t next_u64(const char*& p) {
    while (*p == ' ' || *p == '\t') ++p;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<uint64_t>(*p++ - '0');
    return v;
}

inline const char* next_line(const char* p) {
    while (*p != '\0' && *p != '\n') ++p;
    return *p == '\n' ? p + 1 : p;
}

inline bool take(ProcSnapshot& s) {
    static char buf[65536];
    s = ProcSnapshot{};
    if (!read_proc("/proc/stat", buf, sizeof buf)) return false;
    for (const char* p = buf; *p != '\0'; p = next_line(p)) {
        if (strncmp(p, "ctxt ", 5) == 0) {
            const char* q = p + 5;
            s.ctxt = next_u64(q);
        } else if (strncmp(p, "cpu", 3) == 0 && p[3] >= '0' && p[3] <= '9') {
            const char* q = p + 3;
            const uint64_t c = next_u64(q);
            if (c >= kStatsMaxCpus) continue;
            CpuStats& cs = s.cpu[c];
            const uint64_t user = next_u64(q), nice = next_u64(q), system = next_u64(q), idle = next_u64(q);
            const uint64_t iowait = next_u64(q), irq = next_u64(q), softirq = next_u64(q);
            cs.user_j = user + nice;
            cs.system_j = system;
            cs.idle_j = idle + iowait;
            cs.irq_j = irq + softirq;
            if (c + 1 > s.cpus) s.cpus = static_cast<uint32_t>(c + 1);
        }
    }
    if (read_proc("/proc/interrupts", buf, sizeof buf)) {
        for (const char* p = next_line(buf); *p != '\0'; p = next_line(p)) {
            const char* q = p;
            while (*q == ' ') ++q;
            size_t off = 0;
            if (strncmp(q, "LOC:", 4) == 0) off = offsetof(CpuStats, loc);
            else if (strncmp(q, "RES:", 4) == 0) off = offsetof(CpuStats, res);
            else if (strncmp(q, "CAL:", 4) == 0) off = offsetof(CpuStats, cal);
            else if (strncmp(q, "TLB:", 4) == 0) off = offsetof(CpuStats, tlb);
            else continue;
            q += 4;
            for (uint32_t c = 0; c < s.cpus; ++c) {
                *reinterpret_cast<uint64_t*>(reinterpret_cast<char*>(&s.cpu[c]) + off) = next_u64(q);
            }
        }
    }
    if (read_proc("/proc/schedstat", buf, sizeof buf)) {
        for (const char* p = buf; *p != '\0'; p = next_line(p)) {
            if (strncmp(p, "cpu", 3) != 0 || p[3] < '0' || p[3] > '9') continue;
            const char* q = p + 3;
            const uint64_t c = next_u64(q);
            if (c >= kStatsMaxCpus) continue;
            // Fields 1-6 are legacy yield/schedule counts; 7-9 are run time,
            // wait time (ns) and time slices (Documentation/scheduler/sched-stats).
            for (int k = 0; k < 6; ++k) (void)next_u64(q);
            s.cpu[c].run_ns = next_u64(q);
            s.cpu[c].wait_ns = next_u64(q);
            s.cpu[c].slices = next_u64(q);
        }
    }
    return s.cpus != 0;
}

inline void print_cpu(const char* scope, const char* cpu, const CpuStats& d, uint64_t ms_per_j, uint64_t switches) {
    char line[kResultLineMax];
    LineWriter w(line, sizeof line);
    w.str("[linux-stats] scope=").str(scope).str(" cpu=").str(cpu);
    w.kv("ticks", d.loc).kv("ipi_rx_resched", d.res).kv("ipi_rx_call", d.cal).kv("ipi_rx_tlb", d.tlb);
    w.kv("user_ms", d.user_j * ms_per_j).kv("kernel_ms", (d.system_j + d.irq_j) * ms_per_j);
    w.kv("idle_ms", d.idle_j * ms_per_j).kv("run_ns", d.run_ns).kv("wait_ns", d.wait_ns).kv("slices", d.slices);
    if (switches != ~0ull) w.kv("switches", switches);
    if (w.ok()) emit_line(line);
}

inline void print_delta(const char* scope, const ProcSnapshot& a, const ProcSnapshot& b) {
    const long hz = sysconf(_SC_CLK_TCK);
    const uint64_t ms_per_j = hz > 0 && hz <= 1000 ? static_cast<uint64_t>(1000 / hz) : 10;
    CpuStats sum{};
    const uint32_t n = b.cpus < a.cpus ? b.cpus : a.cpus;
    for (uint32_t c = 0; c < n; ++c) {
        const CpuStats& x = a.cpu[c];
        const CpuStats& y = b.cpu[c];
        const CpuStats d{y.user_j - x.user_j, y.system_j - x.system_j, y.idle_j - x.idle_j, y.irq_j - x.irq_j,
                         y.loc - x.loc,       y.res - x.res,           y.cal - x.cal,       y.tlb - x.tlb,
                         y.run_ns - x.run_ns, y.wait_ns - x.wait_ns,   y.slices - x.slices};
        char name[16];
        snprintf(name, sizeof name, "%u", c);
        print_cpu(scope, name, d, ms_per_j, ~0ull);
        sum.user_j += d.user_j, sum.system_j += d.system_j, sum.idle_j += d.idle_j, sum.irq_j += d.irq_j;
        sum.loc += d.loc, sum.res += d.res, sum.cal += d.cal, sum.tlb += d.tlb;
        sum.run_ns += d.run_ns, sum.wait_ns += d.wait_ns, sum.slices += d.slices;
    }
    print_cpu(scope, "all", sum, ms_per_j, b.ctxt - a.ctxt);
}

// One run's window: the host-side marker lines (paired.h) and the /proc
// snapshots around them. begin() before the run's first timestamp, end()
// after its last.
class Window {
public:
    explicit Window(const char* label) : label_(label) {}
    void begin() {
        have_ = take(before_);
        marker(true);
    }
    void end() {
        marker(false);
        ProcSnapshot after;
        if (have_ && take(after)) print_delta(label_, before_, after);
    }

private:
    void marker(bool is_begin) {
        char line[kResultLineMax];
        if (format_window_line(line, sizeof line, is_begin, label_) != 0) emit_line(line);
    }
    const char* label_;
    bool have_ = false;
    ProcSnapshot before_;
};

}  // namespace bench::linux_baseline
