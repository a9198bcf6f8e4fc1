// cap_table_test.cpp - capability tables: rights, generations, derive, drop, revoke, transfer.
#include <catch2/catch_test_macros.hpp>

#include <vector>

#include "cap/cap_table.h"

using namespace kern;
namespace abi = capos::abi;

namespace {

// Counts its own destruction instead of freeing memory.
class TestObject final : public KernelObject {
public:
    TestObject() : KernelObject(ObjectType::test) {}
    int destroyed = 0;

protected:
    void on_last_ref() override { destroyed++; }
};

// A table with its own slot storage; cleared before destruction.
struct Table {
    explicit Table(uint32_t capacity, uint32_t quota = ~0u) : slots(capacity), table(slots.data(), capacity, quota) {}
    ~Table() {
        while (!table.clear(16)) {}
    }
    std::vector<CapSlot> slots;
    CapTable table;
};

constexpr Rights kAll = abi::kRightCall | abi::kRightCopy | abi::kRightTransfer | abi::kRightRead | abi::kRightWrite;

CapHandle must(Result<CapHandle> r) {
    REQUIRE(r.ok());
    return r.value();
}

}  // namespace

TEST_CASE("insert and lookup check generation and rights", "[cap]") {
    TestObject obj;
    {
        Table t(8);
        CapHandle h = must(t.table.insert(&obj, abi::kRightCall | abi::kRightRead));
        CHECK(abi::handle_generation(h) != 0);
        CHECK(obj.ref_count() == 2);

        auto r = t.table.lookup(h, abi::kRightCall);
        REQUIRE(r.ok());
        CHECK(r.value().object == &obj);
        CHECK(r.value().rights == (abi::kRightCall | abi::kRightRead));

        CHECK(t.table.lookup(h, abi::kRightWrite).error() == Error::no_rights);
        CHECK(t.table.lookup(h, abi::kRightCall | abi::kRightWrite).error() == Error::no_rights);
        // Forged handles.
        CHECK(t.table.lookup(abi::kNullCap, 0).error() == Error::invalid_slot);
        CHECK(t.table.lookup(abi::make_handle(8, 1), 0).error() == Error::invalid_slot);
        CHECK(t.table.lookup(abi::make_handle(0xffffffffu, 0xffffffffu), 0).error() == Error::invalid_slot);
        CHECK(t.table.lookup(abi::make_handle(abi::handle_slot(h), abi::handle_generation(h) + 1), 0).error() ==
              Error::stale_slot);
        // A never-used slot with a guessed first generation is empty, not stale.
        CHECK(t.table.lookup(abi::make_handle(5, 1), 0).error() == Error::invalid_slot);
        CHECK(t.table.insert(nullptr, 0).error() == Error::invalid_argument);
    }
    CHECK(obj.ref_count() == 1);
    CHECK(obj.destroyed == 0);
}

TEST_CASE("drop makes the handle stale and slot reuse gets a new generation", "[cap]") {
    TestObject a, b;
    Table t(1);
    CapHandle ha = must(t.table.insert(&a, kAll));
    CHECK(t.table.insert(&b, kAll).error() == Error::quota);
    REQUIRE(t.table.drop(ha).ok());
    CHECK(a.ref_count() == 1);
    CHECK(t.table.lookup(ha, 0).error() == Error::stale_slot);
    CHECK(t.table.drop(ha).error() == Error::stale_slot);

    CapHandle hb = must(t.table.insert(&b, kAll));
    CHECK(abi::handle_slot(hb) == abi::handle_slot(ha));
    CHECK(abi::handle_generation(hb) != abi::handle_generation(ha));
    CHECK(t.table.lookup(ha, 0).error() == Error::stale_slot);
    CHECK(t.table.lookup(hb, 0).value().object == &b);
}

TEST_CASE("last reference released when the last slot drops", "[cap]") {
    auto* obj = new TestObject;
    {
        Table t(4);
        CapHandle h = must(t.table.insert(obj, kAll));
        CapHandle c = must(t.table.copy(h));
        obj->release();  // the creator's reference; the slots keep it alive
        CHECK(obj->ref_count() == 2);
        REQUIRE(t.table.drop(h).ok());
        CHECK(obj->destroyed == 0);
        REQUIRE(t.table.drop(c).ok());
        CHECK(obj->destroyed == 1);
    }
    delete obj;
}

TEST_CASE("derive only narrows rights and needs the copy right", "[cap]") {
    TestObject obj;
    Table t(8);
    CapHandle h = must(t.table.insert(&obj, kAll));
    CapHandle ro = must(t.table.derive(h, abi::kRightCall | abi::kRightRead));
    CHECK(t.table.lookup(ro, abi::kRightRead).ok());
    CHECK(t.table.lookup(ro, abi::kRightWrite).error() == Error::no_rights);
    // Cannot regain rights from the narrowed capability.
    CHECK(t.table.derive(ro, abi::kRightCall | abi::kRightWrite).error() == Error::no_rights);
    // ro lacks kRightCopy: no copies or derivations at all.
    CHECK(t.table.copy(ro).error() == Error::no_rights);
    CHECK(t.table.derive(ro, abi::kRightCall).error() == Error::no_rights);
    // Derive with the same rights equals copy; with zero rights is allowed.
    CapHandle none = must(t.table.derive(h, 0));
    CHECK(t.table.lookup(none, abi::kRightCall).error() == Error::no_rights);
    CHECK(t.table.lookup(none, 0).ok());
    CHECK(obj.ref_count() == 4);
}

TEST_CASE("quota limits slots below capacity and can be changed", "[cap]") {
    TestObject obj;
    Table t(8, 3);
    CHECK(t.table.quota() == 3);
    CapHandle h = must(t.table.insert(&obj, kAll));
    must(t.table.copy(h));
    must(t.table.copy(h));
    CHECK(t.table.used() == 3);
    CHECK(t.table.copy(h).error() == Error::quota);
    CHECK(t.table.derive(h, 0).error() == Error::quota);
    CHECK(t.table.insert(&obj, kAll).error() == Error::quota);
    t.table.set_quota(100);
    CHECK(t.table.quota() == 8);  // clamped to capacity
    for (int i = 0; i < 5; i++) must(t.table.copy(h));
    CHECK(t.table.copy(h).error() == Error::quota);  // table full
    t.table.set_quota(2);                            // below used: nothing evicted, nothing insertable
    CHECK(t.table.used() == 8);
    CHECK(t.table.available() == 0);
}

TEST_CASE("revoke removes all transitive descendants and keeps the root", "[cap][revoke]") {
    TestObject obj;
    Table t(32);
    CapHandle root = must(t.table.insert(&obj, kAll));
    CapHandle a = must(t.table.copy(root));
    CapHandle b = must(t.table.derive(root, abi::kRightCopy | abi::kRightCall));
    CapHandle a1 = must(t.table.copy(a));
    CapHandle a11 = must(t.table.derive(a1, abi::kRightCopy));
    CapHandle b1 = must(t.table.copy(b));
    // An unrelated root to the same object survives.
    CapHandle other = must(t.table.insert(&obj, kAll));
    CapHandle other_child = must(t.table.copy(other));
    CHECK(obj.ref_count() == 9);

    auto r = t.table.revoke(root, 100);
    REQUIRE(r.ok());
    CHECK(r.value().done);
    CHECK(r.value().deleted == 5);
    for (CapHandle h : {a, b, a1, a11, b1}) CHECK(t.table.lookup(h, 0).error() == Error::stale_slot);
    CHECK(t.table.lookup(root, abi::kRightCall).ok());
    CHECK(t.table.lookup(other, 0).ok());
    CHECK(t.table.lookup(other_child, 0).ok());
    CHECK(obj.ref_count() == 4);
    CHECK(t.table.used() == 3);

    // Revoking a leaf or revoking again is a no-op that succeeds.
    auto again = t.table.revoke(root, 1);
    REQUIRE(again.ok());
    CHECK(again.value().deleted == 0);
    CHECK(again.value().done);
    CHECK(t.table.revoke(a, 1).error() == Error::stale_slot);
    CHECK(t.table.revoke(root, 0).error() == Error::invalid_argument);
}

TEST_CASE("revoke of a middle node leaves ancestors and siblings", "[cap][revoke]") {
    TestObject obj;
    Table t(16);
    CapHandle root = must(t.table.insert(&obj, kAll));
    CapHandle a = must(t.table.copy(root));
    CapHandle b = must(t.table.copy(root));
    CapHandle a1 = must(t.table.copy(a));
    CapHandle a2 = must(t.table.copy(a));
    CapHandle a11 = must(t.table.copy(a1));
    auto r = t.table.revoke(a, 10);
    REQUIRE(r.ok());
    CHECK(r.value().deleted == 3);
    CHECK(t.table.lookup(a1, 0).error() == Error::stale_slot);
    CHECK(t.table.lookup(a2, 0).error() == Error::stale_slot);
    CHECK(t.table.lookup(a11, 0).error() == Error::stale_slot);
    CHECK(t.table.lookup(root, 0).ok());
    CHECK(t.table.lookup(a, 0).ok());
    CHECK(t.table.lookup(b, 0).ok());
}

TEST_CASE("dropping a middle node keeps its children revocable from above", "[cap][revoke]") {
    TestObject obj;
    Table t(16);
    CapHandle root = must(t.table.insert(&obj, kAll));
    CapHandle mid = must(t.table.copy(root));
    CapHandle c1 = must(t.table.copy(mid));
    CapHandle c2 = must(t.table.copy(mid));
    CapHandle c21 = must(t.table.copy(c2));
    CapHandle sib = must(t.table.copy(root));
    REQUIRE(t.table.drop(mid).ok());
    CHECK(t.table.lookup(c1, 0).ok());  // drop affects only the slot itself
    REQUIRE(t.table.drop(c2).ok());
    CHECK(t.table.lookup(c21, 0).ok());
    auto r = t.table.revoke(root, 10);
    REQUIRE(r.ok());
    CHECK(r.value().deleted == 3);  // c1, c21, sib
    CHECK(t.table.lookup(c1, 0).error() == Error::stale_slot);
    CHECK(t.table.lookup(c21, 0).error() == Error::stale_slot);
    CHECK(t.table.lookup(sib, 0).error() == Error::stale_slot);
    CHECK(t.table.used() == 1);
}

TEST_CASE("dropping a root makes its children independent roots", "[cap][revoke]") {
    TestObject obj;
    Table t(16);
    CapHandle root = must(t.table.insert(&obj, kAll));
    CapHandle c1 = must(t.table.copy(root));
    CapHandle c2 = must(t.table.copy(root));
    CapHandle c11 = must(t.table.copy(c1));
    REQUIRE(t.table.drop(root).ok());
    auto r = t.table.revoke(c1, 10);
    REQUIRE(r.ok());
    CHECK(r.value().deleted == 1);
    CHECK(t.table.lookup(c11, 0).error() == Error::stale_slot);
    CHECK(t.table.lookup(c2, 0).ok());  // a former sibling is not a descendant
    REQUIRE(t.table.drop(c2).ok());
    CHECK(t.table.lookup(c1, 0).ok());
    REQUIRE(t.table.drop(c1).ok());
    CHECK(t.table.used() == 0);
    CHECK(obj.ref_count() == 1);
}

TEST_CASE("revoke is bounded by its budget and resumable", "[cap][revoke]") {
    TestObject obj;
    Table t(300);
    CapHandle root = must(t.table.insert(&obj, kAll));
    // A long chain (depth 100) and a wide fan-out (100) below it.
    CapHandle cur = root;
    std::vector<CapHandle> all;
    for (int i = 0; i < 100; i++) {
        cur = must(t.table.copy(cur));
        all.push_back(cur);
    }
    for (int i = 0; i < 100; i++) all.push_back(must(t.table.copy(root)));
    uint32_t total = 0;
    int calls = 0;
    for (;;) {
        auto r = t.table.revoke(root, 7);
        REQUIRE(r.ok());
        CHECK(r.value().deleted <= 7);
        total += r.value().deleted;
        calls++;
        if (r.value().done) break;
        REQUIRE(calls < 1000);
    }
    CHECK(total == 200);
    CHECK(calls == 29);  // ceil(200 / 7)
    for (CapHandle h : all) CHECK(t.table.lookup(h, 0).error() == Error::stale_slot);
    CHECK(t.table.used() == 1);
    CHECK(obj.ref_count() == 2);
}

TEST_CASE("transfer by copy: receiver's copies are revoked with the sender's", "[cap][transfer]") {
    TestObject x, y;
    Table sender(8), receiver(8), third(8);
    CapHandle hx = must(sender.table.insert(&x, kAll));
    CapHandle hy = must(sender.table.insert(&y, kAll));
    CapHandle in[2] = {hx, hy};
    CapHandle out[2] = {};
    REQUIRE(transfer(sender.table, in, 2, false, receiver.table, out).ok());
    CHECK(receiver.table.lookup(out[0], 0).value().object == &x);
    CHECK(receiver.table.lookup(out[1], 0).value().object == &y);
    CHECK(sender.table.lookup(hx, 0).ok());  // copy: sender keeps it
    // Receiver passes it on to a third table; that is a grandchild of hx.
    CapHandle out3[1] = {};
    REQUIRE(transfer(receiver.table, &out[0], 1, false, third.table, out3).ok());
    // And derives locally.
    CapHandle narrowed = must(receiver.table.derive(out[0], abi::kRightCall));
    CHECK(x.ref_count() == 5);

    auto r = sender.table.revoke(hx, 16);
    REQUIRE(r.ok());
    CHECK(r.value().done);
    CHECK(r.value().deleted == 3);
    CHECK(receiver.table.lookup(out[0], 0).error() == Error::stale_slot);
    CHECK(receiver.table.lookup(narrowed, 0).error() == Error::stale_slot);
    CHECK(third.table.lookup(out3[0], 0).error() == Error::stale_slot);
    CHECK(receiver.table.lookup(out[1], 0).ok());  // y untouched
    CHECK(x.ref_count() == 2);
    CHECK(receiver.table.used() == 1);
    CHECK(third.table.used() == 0);
}

TEST_CASE("transfer by move keeps the capability's place in the tree", "[cap][transfer]") {
    TestObject x;
    Table a(8), b(8);
    CapHandle root = must(a.table.insert(&x, kAll));
    CapHandle child = must(a.table.copy(root));
    CapHandle grandchild = must(a.table.copy(child));
    CapHandle moved[1] = {};
    REQUIRE(transfer(a.table, &child, 1, true, b.table, moved).ok());
    CHECK(a.table.lookup(child, 0).error() == Error::stale_slot);
    CHECK(b.table.lookup(moved[0], 0).value().object == &x);
    CHECK(x.ref_count() == 4);  // the reference moved, no new one
    CHECK(a.table.used() == 2);
    CHECK(b.table.used() == 1);
    // The moved cap still has its child: revoking it reaches the grandchild.
    auto r1 = b.table.revoke(moved[0], 8);
    REQUIRE(r1.ok());
    CHECK(r1.value().deleted == 1);
    CHECK(a.table.lookup(grandchild, 0).error() == Error::stale_slot);
    // And it is still under root.
    auto r2 = a.table.revoke(root, 8);
    REQUIRE(r2.ok());
    CHECK(r2.value().deleted == 1);
    CHECK(b.table.lookup(moved[0], 0).error() == Error::stale_slot);
}

TEST_CASE("transfer is all or nothing", "[cap][transfer]") {
    TestObject x;
    Table a(8), b(8, 2);
    CapHandle h1 = must(a.table.insert(&x, kAll));
    CapHandle h2 = must(a.table.insert(&x, kAll));
    CapHandle h3 = must(a.table.insert(&x, kAll));
    CapHandle no_transfer = must(a.table.insert(&x, abi::kRightCall));
    CapHandle out[4] = {};

    SECTION("quota in the receiver") {
        CapHandle in[3] = {h1, h2, h3};
        CHECK(transfer(a.table, in, 3, false, b.table, out).error() == Error::quota);
        CHECK(transfer(a.table, in, 3, true, b.table, out).error() == Error::quota);
    }
    SECTION("a stale handle late in the list") {
        CapHandle stale = h3;
        REQUIRE(a.table.drop(h3).ok());
        CapHandle in[2] = {h1, stale};
        CHECK(transfer(a.table, in, 2, true, b.table, out).error() == Error::stale_slot);
        CHECK(a.table.lookup(h1, 0).ok());  // the first was not moved
    }
    SECTION("missing transfer right") {
        CapHandle in[2] = {h1, no_transfer};
        CHECK(transfer(a.table, in, 2, false, b.table, out).error() == Error::no_rights);
    }
    SECTION("duplicate handle in a move") {
        CapHandle in[2] = {h1, h1};
        CHECK(transfer(a.table, in, 2, true, b.table, out).error() == Error::invalid_argument);
        // Copying the same cap twice is fine.
        REQUIRE(transfer(a.table, in, 2, false, b.table, out).ok());
        CHECK(b.table.used() == 2);
        return;
    }
    SECTION("too many") {
        CapHandle in[kMaxTransferCaps + 1] = {};
        CHECK(transfer(a.table, in, kMaxTransferCaps + 1, false, b.table, out).error() == Error::invalid_argument);
    }
    CHECK(b.table.used() == 0);
    CHECK(a.table.lookup(h1, 0).ok());
    CHECK(a.table.lookup(h2, 0).ok());
}

TEST_CASE("clearing a table splices its caps out of other tables' trees", "[cap]") {
    auto* x = new TestObject;
    auto* a = new Table(8);
    Table b(8), c(8);
    CapHandle root = must(a->table.insert(x, kAll));
    CapHandle to_b[1] = {};
    REQUIRE(transfer(a->table, &root, 1, false, b.table, to_b).ok());
    CapHandle to_c[1] = {};
    REQUIRE(transfer(b.table, &to_b[0], 1, false, c.table, to_c).ok());
    // Process b exits: its table is cleared in bounded steps.
    int steps = 0;
    while (!b.table.clear(3)) steps++;
    CHECK(steps >= 2);
    CHECK(b.table.used() == 0);
    CHECK(b.table.lookup(to_b[0], 0).error() == Error::stale_slot);
    // c's copy, a grandchild of root, is still revocable from a.
    CHECK(c.table.lookup(to_c[0], 0).ok());
    auto r = a->table.revoke(root, 8);
    REQUIRE(r.ok());
    CHECK(r.value().deleted == 1);
    CHECK(c.table.lookup(to_c[0], 0).error() == Error::stale_slot);
    x->release();
    CHECK(x->destroyed == 0);
    delete a;  // clears: last slot releases the object
    CHECK(x->destroyed == 1);
    delete x;
}

TEST_CASE("a slot whose generation would wrap is retired, never reissued", "[cap]") {
    TestObject x;
    Table t(2);
    CapHandle h = must(t.table.insert(&x, kAll));
    // Fast-forward the slot's generation to the last value.
    uint32_t idx = abi::handle_slot(h);
    REQUIRE(t.table.drop(h).ok());
    t.slots[idx].generation = UINT32_MAX;
    // Slot idx is at the head of the free list again; it gets the last generation.
    CapHandle last = must(t.table.insert(&x, kAll));
    REQUIRE(abi::handle_slot(last) == idx);
    CHECK(abi::handle_generation(last) == UINT32_MAX);
    REQUIRE(t.table.drop(last).ok());
    CHECK(t.table.available() == 1);  // idx retired
    CapHandle next = must(t.table.insert(&x, kAll));
    CHECK(abi::handle_slot(next) != idx);
    CHECK(t.table.insert(&x, kAll).error() == Error::quota);
    CHECK(t.table.lookup(last, 0).error() == Error::stale_slot);
}

TEST_CASE("random operations keep references and counts consistent", "[cap][random]") {
    TestObject objs[4];
    Table t1(64), t2(64);
    Table* tables[2] = {&t1, &t2};
    std::vector<std::pair<int, CapHandle>> live;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    auto rnd = [&]() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return seed;
    };
    for (int step = 0; step < 20000; step++) {
        int op = static_cast<int>(rnd() % 6);
        int ti = static_cast<int>(rnd() % 2);
        CapTable& t = tables[ti]->table;
        if (live.empty() || op == 0) {
            auto r = t.insert(&objs[rnd() % 4], kAll);
            if (r.ok()) live.push_back({ti, r.value()});
            continue;
        }
        size_t k = rnd() % live.size();
        auto [src_t, h] = live[k];
        CapTable& st = tables[src_t]->table;
        if (!st.lookup(h, 0).ok()) {
            live.erase(live.begin() + static_cast<long>(k));
            continue;
        }
        if (op == 1) {
            auto r = st.copy(h);
            if (r.ok()) live.push_back({src_t, r.value()});
        } else if (op == 2) {
            REQUIRE(st.drop(h).ok());
        } else if (op == 3) {
            REQUIRE(st.revoke(h, 1 + static_cast<uint32_t>(rnd() % 8)).ok());
        } else {
            CapHandle out[1];
            if (transfer(st, &h, 1, op == 5, tables[1 - src_t]->table, out).ok()) live.push_back({1 - src_t, out[0]});
        }
    }
    uint32_t refs = 0;
    for (auto& o : objs) refs += o.ref_count() - 1;
    CHECK(refs == t1.table.used() + t2.table.used());
    while (!t1.table.clear(5)) {}
    while (!t2.table.clear(5)) {}
    for (auto& o : objs) CHECK(o.ref_count() == 1);
}

TEST_CASE("Ref<T> counts adopt, share, copy, move and reset", "[ref]") {
    auto* obj = new TestObject;  // starts with one reference
    {
        Ref<TestObject> a = Ref<TestObject>::adopt(obj);
        CHECK(obj->ref_count() == 1);
        Ref<TestObject> b = a;
        CHECK(obj->ref_count() == 2);
        Ref<TestObject> c = Ref<TestObject>::share(obj);
        CHECK(obj->ref_count() == 3);
        Ref<TestObject> d = static_cast<Ref<TestObject>&&>(b);
        CHECK(!b);
        CHECK(obj->ref_count() == 3);
        c = d;  // same object: count unchanged
        CHECK(obj->ref_count() == 3);
        c.reset();
        CHECK(obj->ref_count() == 2);
        d = Ref<TestObject>();
        CHECK(obj->ref_count() == 1);
        CHECK(obj->destroyed == 0);
        CHECK(a.get() == obj);
    }
    CHECK(obj->destroyed == 1);
    delete obj;
}

namespace {

// A stand-in process: the outside-handle count applies to ObjectType::process.
class FakeProcess final : public KernelObject {
public:
    FakeProcess() : KernelObject(ObjectType::process) {}

protected:
    void on_last_ref() override {}
};

std::vector<KernelObject*> g_orphaned;
void record_orphan(KernelObject* o) { g_orphaned.push_back(o); }

// Installs the recording hook for one test case and removes it after.
struct OrphanHook {
    OrphanHook() {
        g_orphaned.clear();
        set_last_foreign_handle_hook(&record_orphan);
    }
    ~OrphanHook() { set_last_foreign_handle_hook(nullptr); }
};

}  // namespace

TEST_CASE("a process's own slots are not outside handles; the last outside one going is reported once",
          "[cap][orphan]") {
    OrphanHook hook;
    FakeProcess child;
    Table own(8), parent(8), other(8);
    own.table.set_owner(&child);
    CapHandle self = must(own.table.insert(&child, kAll));
    CHECK(child.foreign_handles() == 0);
    CapHandle h = must(parent.table.insert(&child, kAll));
    CapHandle c = must(parent.table.copy(h));
    CHECK(child.foreign_handles() == 2);
    REQUIRE(parent.table.drop(c).ok());
    CHECK(g_orphaned.empty());
    REQUIRE(parent.table.drop(h).ok());
    REQUIRE(g_orphaned.size() == 1);
    CHECK(g_orphaned[0] == &child);
    // Its own slot going is not reported, nor is a table with no process object.
    REQUIRE(own.table.drop(self).ok());
    TestObject plain;
    CapHandle p = must(other.table.insert(&plain, kAll));
    REQUIRE(other.table.drop(p).ok());
    CHECK(g_orphaned.size() == 1);
}

TEST_CASE("moving a process handle between outside tables never reads as the last one going", "[cap][orphan]") {
    OrphanHook hook;
    FakeProcess child;
    Table own(4), spawner(4), transit(4), client(4);
    own.table.set_owner(&child);
    CapHandle h = must(spawner.table.insert(&child, kAll));
    CapHandle t{}, c{};
    REQUIRE(transfer(spawner.table, &h, 1, true, transit.table, &t).ok());
    REQUIRE(transfer(transit.table, &t, 1, true, client.table, &c).ok());
    CHECK(child.foreign_handles() == 1);
    CHECK(g_orphaned.empty());
    // Moved into its own table: no outside handle is left.
    CapHandle back{};
    REQUIRE(transfer(client.table, &c, 1, true, own.table, &back).ok());
    CHECK(child.foreign_handles() == 0);
    CHECK(g_orphaned.size() == 1);
}

TEST_CASE("revoke and teardown of the holder report the orphan", "[cap][orphan]") {
    OrphanHook hook;
    FakeProcess a, b;
    Table parent(8);
    {
        Table holder(8);
        CapHandle ha = must(parent.table.insert(&a, kAll));
        CapHandle copied{};
        REQUIRE(transfer(parent.table, &ha, 1, false, holder.table, &copied).ok());
        REQUIRE(parent.table.drop(ha).ok());
        CHECK(g_orphaned.empty());  // holder still has its copy
        (void)must(holder.table.insert(&b, kAll));
        // holder's teardown (Table's destructor clears it) drops both.
    }
    REQUIRE(g_orphaned.size() == 2);
    FakeProcess c;
    CapHandle root = must(parent.table.insert(&c, kAll));
    Table other(4);
    CapHandle copy{};
    REQUIRE(transfer(parent.table, &root, 1, false, other.table, &copy).ok());
    auto r = parent.table.revoke(root, 16);
    REQUIRE(r.ok());
    CHECK(c.foreign_handles() == 1);  // root itself stays
    REQUIRE(parent.table.drop(root).ok());
    CHECK(g_orphaned.size() == 3);
}
