// capOS freestanding Cap'n Proto runtime: the few type traits it needs, without any C++ library header.
#pragma once

// The runtime and generated headers must build with -nostdinc++, where no
// C++ library header (not even <type_traits>) is on the include path, so the
// traits they use are spelled out here over compiler built-ins.
#include <stddef.h>
#include <stdint.h>

namespace cap::capnp::traits {

template <typename A, typename B>
inline constexpr bool is_same = false;
template <typename A>
inline constexpr bool is_same<A, A> = true;

template <typename A, typename B>
concept SameAs = is_same<A, B> && is_same<B, A>;

template <typename T>
inline constexpr bool is_enum = __is_enum(T);

template <typename T>
inline constexpr bool is_arithmetic =
    is_same<T, bool> || is_same<T, int8_t> || is_same<T, int16_t> || is_same<T, int32_t> || is_same<T, int64_t> ||
    is_same<T, uint8_t> || is_same<T, uint16_t> || is_same<T, uint32_t> || is_same<T, uint64_t> || is_same<T, float> ||
    is_same<T, double> || is_same<T, char>;

template <size_t N>
struct UnsignedOfSize;
template <>
struct UnsignedOfSize<1> {
    using type = uint8_t;
};
template <>
struct UnsignedOfSize<2> {
    using type = uint16_t;
};
template <>
struct UnsignedOfSize<4> {
    using type = uint32_t;
};
template <>
struct UnsignedOfSize<8> {
    using type = uint64_t;
};

}  // namespace cap::capnp::traits
