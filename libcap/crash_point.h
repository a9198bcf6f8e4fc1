// crash_point.h - test-only deaths of a server at a named step (issue 18: servers killed at chosen points).
//
// A server names the steps a test may interrupt and calls hit("<point>") at
// each. Nothing is armed unless the module's command line says
//
//   crash_at=<point>[:<n>][,<point>[:<n>]...]   die the n-th time (default 1) <point> is reached
//   crash_how=fault|stall                       fault (default): a store to an unmapped page, so the
//                                               kernel ends the process as faulted (#PF, code 14);
//                                               stall: block forever, for a test that kills the
//                                               server through its ProcessHandle
//
// A list names one point per instance of the server: select(i) arms the
// i-th (a restarted placement server picks it by its attach epoch); an
// instance past the end of the list runs normally. A single point (no
// list) arms every instance, whatever select() is given. An unknown point or mode
// is refused by configure() with a message naming the known points, so a
// test that misspells one fails at start instead of never crashing.
//
// Disarmed, hit() is one load and one branch: production manifests pay
// nothing, and no code path arms a point without the explicit argument.
#pragma once

#include <stdint.h>

#include "libcap/args.h"
#include "libcap/endpoint.h"
#include "libcap/print.h"

namespace cap {

class CrashPoints {
public:
    // Reads crash_at= / crash_how= from args and arms entry 0 of the list.
    // False (and a printed reason) when a name is not one of points[0..n).
    bool configure(const char* server, const char* args, const char* const* points, uint32_t npoints) {
        server_ = server;
        if (!arg_str(args, "crash_at", spec_, sizeof spec_)) return true;
        char how[16] = {};
        if (arg_str(args, "crash_how", how, sizeof how)) {
            if (str_eq(how, "stall")) stall_ = true;
            else if (!str_eq(how, "fault")) {
                print("[%s] crash_how='%s' refused: known modes fault, stall\n", server, how);
                return false;
            }
        }
        for (uint32_t i = 0;; ++i) {
            const char* p = nullptr;
            uint32_t len = 0, count = 0;
            if (!entry(i, p, len, count)) break;
            bool known = false;
            for (uint32_t k = 0; k < npoints && !known; ++k) known = str_eq(p, len, points[k]);
            if (!known || count == 0) {
                char list[160];
                uint32_t o = 0;
                for (uint32_t k = 0; k < npoints && o + 1 < sizeof list; ++k)
                    o += static_cast<uint32_t>(
                        snprint(list + o, sizeof list - o, "%s%s", k == 0 ? "" : ", ", points[k]));
                print("[%s] crash_at='%s' refused: unknown crash point '%.*s' (known: %s)\n", server, spec_,
                      static_cast<int>(len), p, list);
                return false;
            }
        }
        select(0);
        return true;
    }

    // Arms entry i of the crash_at list (none past its end; a one-entry list
    // arms its entry for every i).
    void select(uint32_t i) {
        armed_ = false;
        const char* p = nullptr;
        uint32_t len = 0, count = 0;
        if (!entry(1, p, len, count)) i = 0;
        if (spec_[0] == '\0' || !entry(i, p, len, count) || len >= sizeof point_) return;
        __builtin_memcpy(point_, p, len);
        point_[len] = '\0';
        left_ = count;
        armed_ = true;
    }

    bool armed() const { return armed_; }

    // The step named `point` is about to run (or has just run: see each caller).
    void hit(const char* point) {
        if (__builtin_expect(armed_, false)) reached(point);
    }

private:
    // Entry i of spec_: name [p, p+len) and count; false past the end.
    bool entry(uint32_t i, const char*& p, uint32_t& len, uint32_t& count) const {
        const char* s = spec_;
        for (uint32_t k = 0; k < i; ++k) {
            while (*s != '\0' && *s != ',') ++s;
            if (*s == '\0') return false;
            ++s;
        }
        if (*s == '\0') return false;
        p = s;
        while (*s != '\0' && *s != ',' && *s != ':') ++s;
        len = static_cast<uint32_t>(s - p);
        count = 1;
        if (*s == ':') {
            count = 0;
            for (++s; *s >= '0' && *s <= '9'; ++s) count = count * 10 + static_cast<uint32_t>(*s - '0');
        }
        return len != 0;
    }

    [[gnu::noinline]] void reached(const char* point) {
        if (!str_eq(point, point_) || --left_ != 0) return;
        armed_ = false;
        if (stall_) {
            print("[%s] crash point %s reached: stalling until killed (test)\n", server_, point_);
            // A receive on an endpoint nobody else holds never completes.
            auto ep = create_endpoint();
            alignas(8) static uint8_t buf[256];
            for (;;) {
                if (ep.ok()) (void)receive(ep.value(), 0, buf, sizeof buf);
                else __builtin_ia32_pause();
            }
        }
        print("[%s] crash point %s reached: faulting (test)\n", server_, point_);
        // Below kUserImageBase nothing is ever mapped (capos/abi/layout.h).
        *reinterpret_cast<volatile uint64_t*>(uintptr_t{0x1000}) = 0xdead;
        __builtin_trap();
    }

    const char* server_ = "";
    char spec_[128] = {};
    char point_[32] = {};
    uint32_t left_ = 0;
    bool armed_ = false;
    bool stall_ = false;
};

}  // namespace cap
