// Schema fuzzing: the reader walk shared by the fuzz target, its seed generator
// and the hostile-message unit tests.
#pragma once

#include "capos/schema/console.capnp.h"
#include "capos/schema/coordinator.capnp.h"
#include "capos/schema/endpoint.capnp.h"
#include "capos/schema/manifest.capnp.h"
#include "capos/schema/placement.capnp.h"
#include "capos/schema/process.capnp.h"
#include "capos/schema/scheduler.capnp.h"
#include "capos/schema/spawner.capnp.h"
#include "capos/schema/test.capnp.h"

namespace schema_fuzz {

// Reads everything generated visit() reports, touching every byte of every
// blob, so AddressSanitizer sees any out-of-bounds read.
struct Touch {
    uint64_t sum = 0;
    uint32_t max_list = 256;  // elements walked per list: bounds time on bomb inputs
    void discriminant(uint16_t d) { sum += d; }
    template <typename T>
    void value(const char*, T v) {
        uint64_t bits = 0;
        __builtin_memcpy(&bits, &v, sizeof(T));  // floats may not fit an integer
        sum += bits;
    }
    void enumerant(const char*, uint16_t v) { sum += v; }
    void text(const char*, bool, cap::capnp::Text::Reader t) {
        for (uint32_t i = 0; i <= t.size(); ++i) sum += static_cast<uint8_t>(t.c_str()[i]);
    }
    void data(const char*, bool, cap::capnp::Data::Reader d) {
        for (uint32_t i = 0; i < d.size(); ++i) sum += d.data()[i];
    }
    template <typename R>
    void structure(const char*, bool has, const R& r) {
        if (has) visit(r, *this);
    }
    template <typename R>
    void group(const char*, const R& r) {
        visit(r, *this);
    }
    template <typename L>
    void list(const char*, bool, const L& l) {
        touch_list(l);
    }
    template <typename L>
    void touch_list(const L& l) {
        using T = typename L::Element;
        constexpr auto k = cap::capnp::kind_of<T>();
        uint32_t n = l.size() < max_list ? l.size() : max_list;
        for (uint32_t i = 0; i < n; ++i) {
            if constexpr (k == cap::capnp::Kind::Struct) {
                visit(l[i], *this);
            } else if constexpr (k == cap::capnp::Kind::List) {
                touch_list(l[i]);
            } else if constexpr (k == cap::capnp::Kind::Text) {
                text("", true, l[i]);
            } else if constexpr (k == cap::capnp::Kind::Data) {
                data("", true, l[i]);
            } else if constexpr (k == cap::capnp::Kind::Interface) {
                sum += l[i].slot;
            } else if constexpr (k == cap::capnp::Kind::Void) {
                sum += 1;
            } else {
                T v = l[i];
                uint64_t bits = 0;
                __builtin_memcpy(&bits, &v, sizeof(T));
                sum += bits;
            }
        }
    }
    void capability(const char*, cap::capnp::CapSlot c) { sum += c.slot; }
    void any(const char*, const cap::capnp::PointerReader& p) { sum += p.is_null() ? 0 : 1; }
};

// Root types the fuzzer reads each input as.
template <typename F>
void for_each_root(F& f) {
    f.template operator()<cap::schema::AllTypes>();
    f.template operator()<cap::schema::Defaults>();
    f.template operator()<cap::schema::Unions>();
    f.template operator()<cap::schema::Node>();
    f.template operator()<cap::schema::BootManifest>();
    f.template operator()<cap::schema::PlacementEvent>();
    f.template operator()<cap::schema::PlacementSnapshot>();
    f.template operator()<cap::schema::IncomingCall>();
    f.template operator()<cap::schema::BenchResult>();
    f.template operator()<cap::schema::SchedulerControl_PlaceParams>();
    f.template operator()<cap::schema::ProcessSpawner_SpawnParams>();
}

}  // namespace schema_fuzz
