// run_queue_test.cpp: host tests of the intrusive per-CPU run queue.
#include <catch2/catch_test_macros.hpp>

#include <vector>

#include "lib/run_queue.h"

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

TEST_CASE("run queue is FIFO and keeps totals", "[run_queue]") {
    RunQueue q;
    int ids[4] = {0, 1, 2, 3};
    RunQueueLink l[4];
    for (int i = 0; i < 4; ++i) {
        l[i].entity = &ids[i];
        l[i].weight = static_cast<uint32_t>(100 * (i + 1));
    }
    REQUIRE(q.empty());
    REQUIRE(q.pop_front() == nullptr);
    for (auto& x : l) REQUIRE(q.push_back(x).ok());
    REQUIRE(q.count() == 4);
    REQUIRE(q.queued_weight() == 1000);
    REQUIRE(order(q) == std::vector<int>{0, 1, 2, 3});
    REQUIRE(q.check().ok());
    REQUIRE(q.pop_front() == &l[0]);
    REQUIRE(l[0].owner == nullptr);
    REQUIRE(q.pop_front() == &l[1]);
    REQUIRE(q.count() == 2);
    REQUIRE(q.queued_weight() == 700);
    REQUIRE(q.push_back(l[0]).ok());
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
    REQUIRE(q.push_back(l[1]).ok());
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
        REQUIRE(q.push_back(l[i]).ok());
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
    REQUIRE(q.push_back(l[4]).ok());
    REQUIRE(q.pop_front() == &l[4]);
}

TEST_CASE("run queue rejects double enqueue and foreign links", "[run_queue]") {
    RunQueue a, b;
    RunQueueLink x, y;
    REQUIRE(a.push_back(x).ok());
    REQUIRE(a.push_back(x).error() == Error::exists);
    REQUIRE(a.push_front(x).error() == Error::exists);
    REQUIRE(b.push_back(x).error() == Error::exists);
    REQUIRE(b.remove(x).error() == Error::not_found);
    REQUIRE(a.count() == 1);
    REQUIRE(b.count() == 0);
    REQUIRE(x.owner == &a);
    REQUIRE(a.contains(x));
    REQUIRE_FALSE(b.contains(x));
    y.weight = 0;
    REQUIRE(b.push_back(y).error() == Error::invalid_argument);
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
    REQUIRE(q.push_back(a).ok());
    REQUIRE(q.push_back(b).ok());
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
    REQUIRE(q.push_back(a).ok());
    REQUIRE(q.push_back(b).ok());
    b.prev = nullptr;  // break the back link
    REQUIRE(q.check().error() == Error::malformed);
    b.prev = &a;
    REQUIRE(q.check().ok());
    a.weight = 3;  // weight changed behind the queue's back
    REQUIRE(q.check().error() == Error::malformed);
}
