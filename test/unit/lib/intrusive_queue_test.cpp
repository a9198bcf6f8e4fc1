// intrusive_queue_test.cpp - IntrusiveQueue: order, O(1) erase, remove-if-present, take_all.
#include <catch2/catch_test_macros.hpp>

#include <vector>

#include "lib/intrusive_queue.h"

namespace {

struct Item {
    int v = 0;
    kern::QueueLink<Item> a;  // two links: an element may sit on two queues at once
    kern::QueueLink<Item> b;
};
struct LinkA {
    static kern::QueueLink<Item>& of(Item& i) { return i.a; }
};
struct LinkB {
    static kern::QueueLink<Item>& of(Item& i) { return i.b; }
};
using QueueA = kern::IntrusiveQueue<Item, LinkA>;
using QueueB = kern::IntrusiveQueue<Item, LinkB>;

template <class Q>
std::vector<int> values(Q& q) {
    std::vector<int> out;
    q.for_each([&](Item& i) { out.push_back(i.v); });
    return out;
}

}  // namespace

TEST_CASE("push_back and pop_front keep FIFO order; push_front jumps the line", "[intrusive_queue]") {
    Item it[4];
    for (int i = 0; i < 4; ++i) it[i].v = i;
    QueueA q;
    REQUIRE(q.empty());
    REQUIRE_FALSE(q.peek_unlocked());
    REQUIRE(q.pop_front() == nullptr);
    q.push_back(&it[1]);
    q.push_back(&it[2]);
    q.push_front(&it[0]);
    q.push_back(&it[3]);
    REQUIRE(q.peek_unlocked());
    REQUIRE(values(q) == std::vector<int>{0, 1, 2, 3});
    REQUIRE(q.front() == &it[0]);
    REQUIRE(q.pop_front() == &it[0]);
    REQUIRE(it[0].a.next == nullptr);
    REQUIRE(q.pop_front() == &it[1]);
    REQUIRE(q.pop_front() == &it[2]);
    REQUIRE(q.pop_front() == &it[3]);
    REQUIRE(q.empty());
    // The tail was reset too: a push after draining is the only element.
    q.push_back(&it[2]);
    REQUIRE(values(q) == std::vector<int>{2});
    q.push_front(&it[1]);
    REQUIRE(values(q) == std::vector<int>{1, 2});
}

TEST_CASE("erase unlinks any position, and the ends stay right", "[intrusive_queue]") {
    Item it[5];
    QueueA q;
    for (int i = 0; i < 5; ++i) {
        it[i].v = i;
        q.push_back(&it[i]);
    }
    q.erase(&it[2]);  // middle
    REQUIRE(values(q) == std::vector<int>{0, 1, 3, 4});
    q.erase(&it[0]);  // head
    REQUIRE(values(q) == std::vector<int>{1, 3, 4});
    q.erase(&it[4]);  // tail
    REQUIRE(values(q) == std::vector<int>{1, 3});
    q.push_back(&it[0]);  // after the new tail
    REQUIRE(values(q) == std::vector<int>{1, 3, 0});
    q.erase(&it[1]);
    q.erase(&it[3]);
    q.erase(&it[0]);
    REQUIRE(q.empty());
    REQUIRE_FALSE(q.peek_unlocked());
}

TEST_CASE("remove takes an element only from the queue it is on", "[intrusive_queue]") {
    Item it[3];
    QueueA q1, q2;
    q1.push_back(&it[0]);
    q1.push_back(&it[1]);
    q2.push_back(&it[2]);
    REQUIRE_FALSE(q1.remove(&it[2]));
    REQUIRE(values(q2).size() == 1);
    REQUIRE(q1.contains(&it[1]));
    REQUIRE(q1.remove(&it[1]));
    REQUIRE_FALSE(q1.contains(&it[1]));
    REQUIRE_FALSE(q1.remove(&it[1]));  // already gone
    REQUIRE(q1.front() == &it[0]);
    REQUIRE(q2.remove(&it[2]));
    REQUIRE(q2.empty());
}

TEST_CASE("two links put one element on two queues independently", "[intrusive_queue]") {
    Item it[3];
    QueueA qa;
    QueueB qb;
    for (int i = 0; i < 3; ++i) {
        it[i].v = i;
        qa.push_back(&it[i]);
        qb.push_front(&it[i]);
    }
    REQUIRE(values(qa) == std::vector<int>{0, 1, 2});
    REQUIRE(values(qb) == std::vector<int>{2, 1, 0});
    qa.erase(&it[1]);
    REQUIRE(values(qb) == std::vector<int>{2, 1, 0});
    REQUIRE(values(qa) == std::vector<int>{0, 2});
}

TEST_CASE("find, for_each erasing as it goes, and take_all", "[intrusive_queue]") {
    Item it[6];
    QueueA q;
    for (int i = 0; i < 6; ++i) {
        it[i].v = i;
        q.push_back(&it[i]);
    }
    REQUIRE(q.find([](const Item& i) { return i.v == 4; }) == &it[4]);
    REQUIRE(q.find([](const Item& i) { return i.v == 9; }) == nullptr);
    // Erase the odd ones from inside the walk.
    q.for_each([&](Item& i) {
        if (i.v % 2 == 1) q.erase(&i);
    });
    REQUIRE(values(q) == std::vector<int>{0, 2, 4});
    QueueA taken = q.take_all();
    REQUIRE(q.empty());
    REQUIRE_FALSE(q.peek_unlocked());
    REQUIRE(values(taken) == std::vector<int>{0, 2, 4});
    // The emptied queue is usable again, and the taken one keeps its tail.
    q.push_back(&it[1]);
    taken.push_back(&it[5]);
    REQUIRE(values(q) == std::vector<int>{1});
    REQUIRE(values(taken) == std::vector<int>{0, 2, 4, 5});
}

TEST_CASE("splice_back appends a whole queue in order and empties it", "[intrusive_queue]") {
    Item it[5];
    for (int i = 0; i < 5; ++i) it[i].v = i;
    QueueA dst, a, b, none;
    dst.splice_back(none);  // empty into empty
    REQUIRE(dst.empty());
    a.push_back(&it[0]);
    a.push_back(&it[1]);
    b.push_back(&it[2]);
    b.push_back(&it[3]);
    dst.splice_back(a);     // into empty
    dst.splice_back(none);  // empty into non-empty
    dst.splice_back(b);     // into non-empty
    REQUIRE(a.empty());
    REQUIRE(b.empty());
    REQUIRE(values(dst) == std::vector<int>{0, 1, 2, 3});
    dst.push_back(&it[4]);  // the tail moved with the splice
    REQUIRE(values(dst) == std::vector<int>{0, 1, 2, 3, 4});
    dst.erase(&it[2]);  // prev links across the join are right
    dst.erase(&it[1]);
    REQUIRE(values(dst) == std::vector<int>{0, 3, 4});
    REQUIRE(dst.pop_front() == &it[0]);
    REQUIRE(dst.pop_front() == &it[3]);
    REQUIRE(dst.pop_front() == &it[4]);
    REQUIRE(dst.empty());
}
