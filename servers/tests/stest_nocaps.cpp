// stest_nocaps.cpp - a process holds exactly what its creator granted (manifest caps-test, issue 6).
//
// Started by init from a manifest entry that grants nothing (no arguments) or
// only the console (argument `expect=console`). It checks its StartBlock
// (console, park, timer are kNullCap unless granted; its own Process and
// Thread are always there) and that Console, Park and Timer calls on guessed
// handles (every slot 0..63, generations 0..4, except its own Process/Thread
// handles) fail with invalid_slot or stale_slot. A process granted nothing
// cannot print, so the result is the exit status, which init reports:
// `[init] <entry> (process <pid>) exited: code=0 reason=exited` when all
// holds; otherwise a mask: 1 a well-known slot is wrong, 2 the named
// capabilities are not exactly the grants, 4 a guessed handle worked, 8 a
// guessed handle failed with another error, 16 the granted console failed.
#include "capos/abi/cap.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"
#include "srv.h"

namespace {

using capos::abi::CapHandle;
using capos::abi::kNullCap;
using cap::Status;

constexpr uint32_t kSlots = 64, kGenerations = 5;

bool slot_error(Status s) { return s == Status::invalid_slot || s == Status::stale_slot; }

uint32_t g_word = 0;  // a park word (park_wake on a guessed handle)

}  // namespace

int main(cap::StartInfo& info) {
    const bool want_console = srv::str_eq(info.args(), "expect=console");
    int code = 0;
    const CapHandle self = info.process(), thread = info.cap(cap::StartCap::thread);
    if (self == kNullCap || thread == kNullCap) code |= 1;
    if (info.park() != kNullCap || info.timer() != kNullCap) code |= 1;
    if ((info.console() != kNullCap) != want_console) code |= 1;
    // Named: exactly the grants (none, or "console", the same handle).
    if (info.raw().named_count != (want_console ? 1u : 0u)) code |= 2;
    if (want_console && info.named("console") != info.console()) code |= 2;
    if (info.named("spawner") != kNullCap || info.named("init") != kNullCap) code |= 2;

    uint32_t tried = 0, worked = 0, other = 0;
    cap::Ring& r = cap::this_ring();
    for (uint32_t slot = 0; slot < kSlots; ++slot) {
        for (uint32_t gen = 0; gen < kGenerations; ++gen) {
            const CapHandle h = capos::abi::make_handle(slot, gen);
            // Its own Process and Thread answer (bad_method): they are its own.
            if (h == self || h == thread || (want_console && h == info.console())) continue;
            const Status s[3] = {cap::console_write(r, h, "x", 1).status(), cap::timer_now(r, h).status(),
                                 cap::park_wake(r, h, &g_word, 1).status()};
            for (Status st : s) {
                ++tried;
                if (st == Status::ok) ++worked;
                else if (!slot_error(st)) ++other;
            }
        }
    }
    if (worked != 0) code |= 4;
    if (other != 0) code |= 8;
    if (want_console) {
        // The one capability it was given works.
        cap::print("[nocaps] console only: %u guessed-handle calls, %u worked, %u other errors, mask %d\n", tried,
                   worked, other, code);
        static constexpr char kLine[] = "[nocaps] the granted console works\n";
        if (!cap::console_write(r, info.console(), kLine, sizeof kLine - 1).ok()) code |= 16;
    }
    return code;
}
