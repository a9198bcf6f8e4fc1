// run_queue_test.cpp: host tests of the per-CPU run queue: list and totals, weighted order, joins, wake-up preemption.
#include <catch2/catch_test_macros.hpp>

#include <vector>

#include "sched/run_queue.h"

using kern::Error;
using kern::RunQueue;
using kern::RunQueueLink;

namespace {
std::vector<int> order(const RunQueue& q) {
    std::vector<int> out;
    q.for_each([&](const RunQueueLink& l) { out.push_back(*static_cast<int*>(l.entity)); });
    return out;
}
}  // namespace

TEST_CASE("run queue keeps equal vruntimes in arrival order and keeps totals", "[run_queue]") {
    RunQueue q;
    int ids[4] = {0, 1, 2, 3};
    RunQueueLink l[4];
    for (int i = 0; i < 4; ++i) {
        l[i].entity = &ids[i];
        l[i].weight = static_cast<uint32_t>(100 * (i + 1));
    }
    REQUIRE(q.empty());
    REQUIRE(q.pop_front() == nullptr);
    for (auto& x : l) REQUIRE(q.enqueue(x).ok());
    REQUIRE(q.count() == 4);
    REQUIRE(q.queued_weight() == 1000);
    REQUIRE(order(q) == std::vector<int>{0, 1, 2, 3});
    REQUIRE(q.check().ok());
    REQUIRE(q.pop_front() == &l[0]);
    REQUIRE(l[0].owner == nullptr);
    REQUIRE(q.pop_front() == &l[1]);
    REQUIRE(q.count() == 2);
    REQUIRE(q.queued_weight() == 700);
    REQUIRE(q.enqueue(l[0]).ok());
    REQUIRE(order(q) == std::vector<int>{2, 3, 0});
    REQUIRE(q.check().ok());
    REQUIRE(q.total_enqueued() == 5);
}

TEST_CASE("run queue push_front runs next", "[run_queue]") {
    RunQueue q;
    int ids[3] = {0, 1, 2};
    RunQueueLink l[3];
    for (int i = 0; i < 3; ++i) l[i].entity = &ids[i];
    REQUIRE(q.push_front(l[0]).ok());  // onto an empty queue
    REQUIRE(q.enqueue(l[1]).ok());
    REQUIRE(q.push_front(l[2]).ok());
    REQUIRE(order(q) == std::vector<int>{2, 0, 1});
    REQUIRE(q.check().ok());
}

TEST_CASE("run queue removes from head, middle and tail", "[run_queue]") {
    RunQueue q;
    int ids[5] = {0, 1, 2, 3, 4};
    RunQueueLink l[5];
    for (int i = 0; i < 5; ++i) {
        l[i].entity = &ids[i];
        REQUIRE(q.enqueue(l[i]).ok());
    }
    REQUIRE(q.remove(l[2]).ok());
    REQUIRE(order(q) == std::vector<int>{0, 1, 3, 4});
    REQUIRE(q.remove(l[0]).ok());
    REQUIRE(q.remove(l[4]).ok());
    REQUIRE(order(q) == std::vector<int>{1, 3});
    REQUIRE(q.check().ok());
    REQUIRE(q.remove(l[2]).error() == Error::not_found);  // already out
    REQUIRE(q.remove(l[1]).ok());
    REQUIRE(q.remove(l[3]).ok());
    REQUIRE(q.empty());
    REQUIRE(q.front() == nullptr);
    REQUIRE(q.queued_weight() == 0);
    REQUIRE(q.check().ok());
    // Reusable after draining.
    REQUIRE(q.enqueue(l[4]).ok());
    REQUIRE(q.pop_front() == &l[4]);
}

TEST_CASE("run queue rejects double enqueue and foreign links", "[run_queue]") {
    RunQueue a, b;
    RunQueueLink x, y;
    REQUIRE(a.enqueue(x).ok());
    REQUIRE(a.enqueue(x).error() == Error::exists);
    REQUIRE(a.push_front(x).error() == Error::exists);
    REQUIRE(b.enqueue(x).error() == Error::exists);
    REQUIRE(b.remove(x).error() == Error::not_found);
    REQUIRE(a.count() == 1);
    REQUIRE(b.count() == 0);
    REQUIRE(x.owner == &a);
    REQUIRE(a.contains(x));
    REQUIRE_FALSE(b.contains(x));
    y.weight = 0;
    REQUIRE(b.enqueue(y).error() == Error::invalid_argument);
    REQUIRE(b.empty());
    REQUIRE(a.check().ok());
    REQUIRE(b.check().ok());
}

TEST_CASE("run queue load counts queued and running weight", "[run_queue]") {
    RunQueue q;
    RunQueueLink a, b;
    a.weight = 512;
    b.weight = 2048;
    REQUIRE(q.load() == 0);
    REQUIRE(q.nr_runnable() == 0);
    q.set_running_weight(kern::kDefaultWeight);
    REQUIRE(q.load() == 1024);
    REQUIRE(q.nr_runnable() == 1);
    REQUIRE(q.enqueue(a).ok());
    REQUIRE(q.enqueue(b).ok());
    REQUIRE(q.load() == 1024 + 512 + 2048);
    REQUIRE(q.nr_runnable() == 3);
    REQUIRE(q.set_weight(a, 100).ok());
    REQUIRE(q.queued_weight() == 2148);
    REQUIRE(q.set_weight(a, 0).error() == Error::invalid_argument);
    RunQueue other;
    REQUIRE(other.set_weight(a, 5).error() == Error::not_owned);
    REQUIRE(a.weight == 100);
    RunQueueLink c;
    REQUIRE(other.set_weight(c, 7).ok());  // unqueued: just set
    REQUIRE(c.weight == 7);
    q.set_running_weight(0);
    REQUIRE(q.load() == 2148);
    REQUIRE(q.check().ok());
}

TEST_CASE("run queue check catches corruption", "[run_queue]") {
    RunQueue q;
    RunQueueLink a, b;
    REQUIRE(q.enqueue(a).ok());
    REQUIRE(q.enqueue(b).ok());
    b.prev = nullptr;  // break the back link
    REQUIRE(q.check().error() == Error::malformed);
    b.prev = &a;
    REQUIRE(q.check().ok());
    a.weight = 3;  // weight changed behind the queue's back
    REQUIRE(q.check().error() == Error::malformed);
}

// --- weighted order --------------------------------------------------------------
//
// A simulated CPU: every turn is one slice of kSlice cycles (what the tick
// hands a CPU-bound thread), then the running entity is charged, requeued,
// and the head runs next, exactly as sched/sched.cpp's schedule() does it.
namespace {
constexpr uint64_t kSlice = 20'000'000;  // 20 ms at 1 GHz, the default 5-tick slice

struct Sim {
    RunQueue q;
    uint64_t now = 1;
    // Puts the head on the CPU (the running one is charged and requeued first).
    RunQueueLink* switch_next() {
        q.charge(now);
        if (RunQueueLink* r = q.running()) REQUIRE(q.enqueue(*r).ok());
        RunQueueLink* n = q.pop_front();
        q.set_running(n, now);
        return n;
    }
    // Runs `slices` whole turns; ran[i] counts cycles of links[i].
    void run(RunQueueLink* links, uint64_t* ran, size_t n, int slices) {
        for (int s = 0; s < slices; ++s) {
            RunQueueLink* cur = switch_next();
            REQUIRE(cur != nullptr);
            now += kSlice;
            for (size_t i = 0; i < n; ++i)
                if (cur == &links[i]) ran[i] += kSlice;
            REQUIRE(q.check().ok());
        }
    }
};
}  // namespace

TEST_CASE("run queue shares CPU time by weight 1024/335/110", "[run_queue][weights]") {
    Sim sim;
    RunQueueLink l[3];
    const uint32_t w[3] = {1024, 335, 110};
    for (int i = 0; i < 3; ++i) {
        l[i].weight = w[i];
        REQUIRE(sim.q.join(l[i], sim.now).ok());
    }
    uint64_t ran[3] = {0, 0, 0};
    constexpr int kSlices = 3000;
    sim.run(l, ran, 3, kSlices);
    const double total = static_cast<double>(kSlices) * kSlice;
    constexpr double kTol = 0.002;  // absolute share error: a few of the 3000 whole slices
    for (int i = 0; i < 3; ++i) {
        const double want = w[i] / 1469.0;
        const double got = static_cast<double>(ran[i]) / total;
        INFO("weight " << w[i] << ": share " << got << ", fair " << want << ", bound +-" << kTol << " over " << kSlices
                       << " slices");
        CHECK(got > want - kTol);
        CHECK(got < want + kTol);
    }
}

TEST_CASE("run queue alternates equal weights turn by turn", "[run_queue][weights]") {
    Sim sim;
    RunQueueLink l[3];
    for (auto& x : l) REQUIRE(sim.q.join(x, sim.now).ok());
    // Round robin in arrival order, for as long as we look.
    for (int s = 0; s < 300; ++s) {
        INFO("turn " << s);
        REQUIRE(sim.switch_next() == &l[s % 3]);
        sim.now += kSlice;
    }
}

TEST_CASE("run queue: a new thread is neither starved nor allowed to monopolise", "[run_queue][weights]") {
    Sim sim;
    sim.q.set_params(kSlice / 2, 1'000'000);
    RunQueueLink l[3];
    for (int i = 0; i < 2; ++i) REQUIRE(sim.q.join(l[i], sim.now).ok());
    uint64_t ran[3] = {0, 0, 0};
    sim.run(l, ran, 2, 1000);  // two hogs far into their clocks
    REQUIRE(sim.q.join(l[2], sim.now).ok());
    REQUIRE(l[2].vruntime == sim.q.min_vruntime());  // a newcomer starts at the minimum, no credit
    ran[0] = ran[1] = 0;
    // Starts within one turn of the others (they are at the minimum too)...
    int first = -1;
    for (int s = 0; s < 3 && first < 0; ++s) {
        if (sim.switch_next() == &l[2]) first = s;
        sim.now += kSlice;
    }
    INFO("newcomer first ran at turn " << first << " (bound: within 3 turns)");
    REQUIRE(first >= 0);
    // ...and from then on gets a third, give or take a turn (bound printed).
    uint64_t later[3] = {0, 0, 0};
    sim.run(l, later, 3, 300);
    for (int i = 0; i < 3; ++i) {
        INFO("thread " << i << ": " << later[i] / kSlice << " of 300 turns, bound 100 +- 1");
        CHECK(later[i] / kSlice >= 99);
        CHECK(later[i] / kSlice <= 101);
    }
}

TEST_CASE("run queue: a sleeper is owed at most the wake credit", "[run_queue][weights]") {
    Sim sim;
    const uint64_t credit = kSlice / 2;
    sim.q.set_params(credit, 1'000'000);
    RunQueueLink l[3];
    for (auto& x : l) REQUIRE(sim.q.join(x, sim.now).ok());
    uint64_t ran[3] = {0, 0, 0};
    sim.run(l, ran, 3, 30);
    // Thread 2 blocks when it next runs, and sleeps for 2000 turns.
    while (sim.switch_next() != &l[2]) sim.now += kSlice;
    sim.now += kSlice / 4;
    sim.q.charge(sim.now);
    sim.q.leave(l[2], sim.now, true);
    sim.q.set_running(sim.q.pop_front(), sim.now);
    uint64_t hogs[3] = {0, 0, 0};
    sim.run(l, hogs, 2, 2000);
    // Woken: at most `credit` below the minimum, however long it slept.
    sim.q.charge(sim.now);
    REQUIRE(sim.q.join(l[2], sim.now).ok());
    const int64_t below = static_cast<int64_t>(sim.q.min_vruntime() - l[2].vruntime);
    INFO("woken " << below << " cycles below the minimum, bound " << credit);
    REQUIRE(below >= 0);
    REQUIRE(static_cast<uint64_t>(below) <= credit);
    REQUIRE(sim.q.front() == &l[2]);  // owed: it is next
    // Over the next 30 turns it gets its third plus at most the credit
    // (one turn here, since credit < one slice), not the 2000 turns it missed.
    uint64_t after[3] = {0, 0, 0};
    sim.run(l, after, 3, 30);
    INFO("woken thread ran " << after[2] / kSlice << " of 30 turns, bound <= 11");
    CHECK(after[2] / kSlice >= 9);
    CHECK(after[2] / kSlice <= 11);
}

TEST_CASE("run queue: lag survives a move between queues with different clocks", "[run_queue][weights]") {
    Sim a, b;
    a.q.set_params(kSlice / 2, 0);
    b.q.set_params(kSlice / 2, 0);
    RunQueueLink la[2], lb[2];
    for (auto& x : la) REQUIRE(a.q.join(x, a.now).ok());
    for (auto& x : lb) REQUIRE(b.q.join(x, b.now).ok());
    uint64_t ra[2] = {0, 0}, rb[2] = {0, 0};
    a.run(la, ra, 2, 500);  // a's clock far ahead of b's
    b.run(lb, rb, 2, 5);
    REQUIRE(a.q.min_vruntime() > 100 * b.q.min_vruntime());
    RunQueueLink* moving = a.q.front();
    REQUIRE(moving != nullptr);
    const int64_t lag = static_cast<int64_t>(moving->vruntime - a.q.min_vruntime());
    REQUIRE(a.q.remove(*moving).ok());
    REQUIRE(moving->lag == lag);
    REQUIRE(b.q.join(*moving, b.now).ok());
    // Placed on b's clock: it neither waits for b to catch up with a nor jumps far ahead.
    REQUIRE(moving->vruntime == b.q.min_vruntime() + static_cast<uint64_t>(lag));
    int ran_moved = 0;
    for (int s = 0; s < 3; ++s) {
        if (b.switch_next() == moving) ++ran_moved;
        b.now += kSlice;
    }
    INFO("moved thread ran " << ran_moved << " of its first 3 turns on b, bound exactly 1");
    REQUIRE(ran_moved == 1);
}

TEST_CASE("run queue push_front keeps the order (urgent threads, resumed slices)", "[run_queue]") {
    RunQueue q;
    RunQueueLink a, b, u;
    a.vruntime = 100;
    b.vruntime = 200;
    REQUIRE(q.enqueue(a).ok());
    REQUIRE(q.enqueue(b).ok());
    u.vruntime = 500;
    REQUIRE(q.push_front(u).ok());
    REQUIRE(q.front() == &u);
    REQUIRE(u.vruntime == 100);  // lowered to the head's: the list stays sorted
    REQUIRE(q.check().ok());
}

TEST_CASE("run queue check catches an unsorted queue", "[run_queue]") {
    RunQueue q;
    RunQueueLink a, b;
    a.vruntime = 1;
    b.vruntime = 2;
    REQUIRE(q.enqueue(a).ok());
    REQUIRE(q.enqueue(b).ok());
    REQUIRE(q.check().ok());
    a.vruntime = 3;
    REQUIRE(q.check().error() == Error::malformed);
}

TEST_CASE("run queue vruntime order is wrap-safe", "[run_queue]") {
    RunQueue q;
    RunQueueLink a, b;
    a.vruntime = UINT64_MAX - 10;  // about to wrap
    b.vruntime = 5;                // already wrapped: after a
    REQUIRE(q.enqueue(b).ok());
    REQUIRE(q.enqueue(a).ok());
    REQUIRE(q.front() == &a);
    REQUIRE(q.check().ok());
    REQUIRE(kern::weighted_cycles(uint64_t{1} << 60, 2048) == uint64_t{1} << 59);  // no overflow in the product
    REQUIRE(kern::weighted_cycles(3000, 335) == 3000 * 1024 / 335);
}

// --- wake-up preemption ------------------------------------------------------------

TEST_CASE("wake_preempt: behind and past the granularity preempts", "[run_queue][preempt]") {
    using kern::WakePreempt;
    using kern::wake_preempt;
    constexpr uint64_t kGran = 1'000'000;
    REQUIRE(wake_preempt(1000, kGran, 999, kGran) == WakePreempt::now);
    REQUIRE(wake_preempt(1000, kGran - 1, 999, kGran) == WakePreempt::later);  // hog not thrashed
    REQUIRE(wake_preempt(1000, 10 * kGran, 1000, kGran) == WakePreempt::no);   // not owed anything
    REQUIRE(wake_preempt(1000, 10 * kGran, 5000, kGran) == WakePreempt::no);
    REQUIRE(wake_preempt(3, kGran, UINT64_MAX - 3, kGran) == WakePreempt::now);  // across the wrap
}

TEST_CASE("run queue check_preempt: a woken sleeper preempts a hog, a requeued thread does not",
          "[run_queue][preempt]") {
    using kern::WakePreempt;
    Sim sim;
    constexpr uint64_t kGran = 1'000'000;
    sim.q.set_params(kSlice / 2, kGran);
    RunQueueLink hog, sleeper;
    REQUIRE(sim.q.join(sleeper, sim.now).ok());
    REQUIRE(sim.q.join(hog, sim.now).ok());
    REQUIRE(sim.switch_next() == &sleeper);
    REQUIRE(sim.q.check_preempt(sim.now) == WakePreempt::no);  // nothing joined
    sim.now += kGran / 10;                                     // runs briefly, then sleeps
    sim.q.charge(sim.now);
    sim.q.leave(sleeper, sim.now, true);
    sim.q.set_running(sim.q.pop_front(), sim.now);
    REQUIRE(sim.q.running() == &hog);
    REQUIRE(sim.q.check_preempt(sim.now) == WakePreempt::no);  // nothing queued
    // The hog runs 20 ms; the sleeper wakes, owed the full credit, and the
    // hog would lose the CPU at once...
    sim.now += kSlice;
    REQUIRE(sim.q.join(sleeper, sim.now).ok());
    REQUIRE(sim.q.front() == &sleeper);
    REQUIRE(sim.q.check_preempt(sim.now) == WakePreempt::now);
    // ...but a hog that started its turn less than the granularity ago keeps
    // it until it has run that long (asked again at the next tick).
    sim.q.charge(sim.now);
    sim.q.set_running(&hog, sim.now);
    REQUIRE(sim.q.check_preempt(sim.now + kGran / 2) == WakePreempt::later);
    REQUIRE(sim.q.check_preempt(sim.now + kGran) == WakePreempt::now);
    // The sleeper runs 12 ms (its 10 ms credit and 2 ms past the hog) and is
    // requeued behind the hog; a thread that was requeued (ran here before)
    // waits for the turn to end, even when it is behind the running one.
    sim.now += kGran;
    REQUIRE(sim.switch_next() == &sleeper);
    sim.now += 12 * kGran;
    REQUIRE(sim.switch_next() == &hog);
    sim.now += 5 * kGran;
    REQUIRE(kern::vruntime_before(sleeper.vruntime, hog.vruntime + 5 * kGran));
    REQUIRE(sim.q.check_preempt(sim.now) == WakePreempt::no);
    // A newcomer (no sleep, no credit) starts at the minimum: not owed, so
    // it does not preempt either.
    RunQueue fresh;
    fresh.set_params(kSlice / 2, kGran);
    RunQueueLink h2, n2;
    REQUIRE(fresh.join(h2, sim.now).ok());
    fresh.set_running(fresh.pop_front(), sim.now);
    fresh.charge(sim.now + kSlice);
    REQUIRE(fresh.join(n2, sim.now + kSlice).ok());
    REQUIRE(n2.vruntime == fresh.min_vruntime());
    REQUIRE(fresh.check_preempt(sim.now + kSlice) == WakePreempt::no);
}

TEST_CASE("run queue FIFO mode (a placement server sets slices) keeps arrival order", "[run_queue]") {
    Sim sim;
    sim.q.set_fifo(true);
    RunQueueLink l[3];
    const uint32_t w[3] = {1024, 335, 110};
    for (int i = 0; i < 3; ++i) {
        l[i].weight = w[i];
        REQUIRE(sim.q.join(l[i], sim.now).ok());
    }
    // Whatever the weights, turns go round in order (the server sizes them).
    for (int s = 0; s < 30; ++s) {
        INFO("turn " << s);
        REQUIRE(sim.switch_next() == &l[s % 3]);
        sim.now += kSlice;
        REQUIRE(sim.q.check().ok());
    }
}
