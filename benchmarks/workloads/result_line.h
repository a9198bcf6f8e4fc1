// benchmarks/workloads/result_line.h — formats the benchmark result lines into a caller's buffer.
//
// Freestanding: no libc, no heap. The capOS coordinator and the Linux
// baseline print byte-identical lines through these helpers, and
// harness/capos/resultline.py parses them; docs/benchmarks.md is the
// contract for the fields.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace bench {

// Appends text to a fixed buffer, always NUL-terminated; on overflow it stops
// writing and remembers it, so a truncated line is detected, never printed.
class LineWriter {
public:
    LineWriter(char* buf, size_t cap) : buf_(buf), cap_(cap) {
        if (cap_ != 0) {
            buf_[0] = '\0';
        }
    }

    LineWriter& str(const char* s) {
        while (s != nullptr && *s != '\0') {
            put(*s++);
        }
        return *this;
    }

    LineWriter& u64(uint64_t v) {
        char tmp[20];
        size_t n = 0;
        do {
            tmp[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n != 0) {
            put(tmp[--n]);
        }
        return *this;
    }

    // 0x followed by exactly 16 lowercase hex digits.
    LineWriter& hex64(uint64_t v) {
        put('0');
        put('x');
        for (int shift = 60; shift >= 0; shift -= 4) {
            put("0123456789abcdef"[(v >> shift) & 0xfu]);
        }
        return *this;
    }

    // " key=" then the value.
    LineWriter& kv(const char* key, uint64_t v) { return str(" ").str(key).str("=").u64(v); }
    LineWriter& kv_hex(const char* key, uint64_t v) { return str(" ").str(key).str("=").hex64(v); }
    LineWriter& kv_str(const char* key, const char* v) { return str(" ").str(key).str("=").str(v); }

    [[nodiscard]] bool ok() const { return !overflow_ && cap_ != 0; }
    [[nodiscard]] size_t size() const { return len_; }
    [[nodiscard]] const char* c_str() const { return buf_; }

private:
    void put(char c) {
        if (len_ + 1 < cap_) {
            buf_[len_++] = c;
            buf_[len_] = '\0';
        } else {
            overflow_ = true;
        }
    }

    char* buf_;
    size_t cap_;
    size_t len_ = 0;
    bool overflow_ = false;
};

inline constexpr size_t kResultLineMax = 320;

struct ProcessScaleLine {
    uint32_t cpus;
    uint32_t workers;
    uint32_t lo;
    uint32_t hi;
    uint64_t primes;
    uint64_t checksum;
    uint64_t elapsed_cycles;  // the timed compute window: first worker start to last worker end
    uint64_t total_cycles;    // spawn of the first worker to the end of the last (the parent's view)
    bool verified;
};

// [smp-process-scale] cpus=<n> workers=<n> range=<lo>..<hi> primes=<count>
//   checksum=<hex> elapsed=<cycles> total=<cycles> verified=<true|false>
// Returns the length written (without the newline the caller adds), 0 if buf is too small.
inline size_t format_process_line(char* buf, size_t cap, const ProcessScaleLine& l) {
    LineWriter w(buf, cap);
    w.str("[smp-process-scale]").kv("cpus", l.cpus).kv("workers", l.workers);
    w.str(" range=").u64(l.lo).str("..").u64(l.hi);
    w.kv("primes", l.primes).kv_hex("checksum", l.checksum).kv("elapsed", l.elapsed_cycles);
    w.kv("total", l.total_cycles);
    w.kv_str("verified", l.verified ? "true" : "false");
    return w.ok() ? w.size() : 0;
}

struct ThreadScaleLine {
    uint32_t cpus;
    uint32_t threads;
    uint32_t blocks;
    uint32_t rounds;
    uint64_t root;
    uint64_t spawn_ready_cycles;
    uint64_t work_cycles;
    uint64_t shutdown_cycles;
    uint64_t total_cycles;
    bool verified;
};

// [smp-thread-scale] cpus=<n> threads=<n> blocks=<n> rounds=<n> root=<hex>
//   spawn_ready=<cycles> work=<cycles> shutdown=<cycles> total=<cycles> verified=<true|false>
inline size_t format_thread_line(char* buf, size_t cap, const ThreadScaleLine& l) {
    LineWriter w(buf, cap);
    w.str("[smp-thread-scale]").kv("cpus", l.cpus).kv("threads", l.threads);
    w.kv("blocks", l.blocks).kv("rounds", l.rounds).kv_hex("root", l.root);
    w.kv("spawn_ready", l.spawn_ready_cycles).kv("work", l.work_cycles);
    w.kv("shutdown", l.shutdown_cycles).kv("total", l.total_cycles);
    w.kv_str("verified", l.verified ? "true" : "false");
    return w.ok() ? w.size() : 0;
}

// [smp-env] os=<name> cpus=<n> tsc_hz=<hz> cycle_source=rdtsc
// Optional context line; tsc_hz=0 when the guest does not know it.
inline size_t format_env_line(char* buf, size_t cap, const char* os, uint32_t cpus, uint64_t tsc_hz) {
    LineWriter w(buf, cap);
    w.str("[smp-env]").kv_str("os", os).kv("cpus", cpus).kv("tsc_hz", tsc_hz).kv_str("cycle_source", "rdtsc");
    return w.ok() ? w.size() : 0;
}

}  // namespace bench
