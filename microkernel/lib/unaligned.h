// unaligned.h - little-endian loads and stores of 16/32/64-bit values at any byte address.
#pragma once

#include <stdint.h>

namespace kern {

// For parsing byte buffers laid out by someone else (ACPI tables, the
// Multiboot2 block, ELF images): a field may sit at any offset, and casting
// the byte pointer to a wider one would be undefined behaviour (alignment
// and aliasing). A fixed-size __builtin_memcpy is both defined and, on
// x86_64, a single move. The formats are little-endian, so a big-endian host
// swaps. Callers bounds-check: these read or write exactly N/8 bytes at p.

namespace unaligned_detail {
template <typename T>
inline T load_le(const uint8_t* p) {
    T v;
    __builtin_memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    if constexpr (sizeof v == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof v == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof v == 8) v = __builtin_bswap64(v);
#endif
    return v;
}
template <typename T>
inline void store_le(uint8_t* p, T v) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    if constexpr (sizeof v == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof v == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof v == 8) v = __builtin_bswap64(v);
#endif
    __builtin_memcpy(p, &v, sizeof v);
}
}  // namespace unaligned_detail

inline uint16_t load_le16(const uint8_t* p) { return unaligned_detail::load_le<uint16_t>(p); }
inline uint32_t load_le32(const uint8_t* p) { return unaligned_detail::load_le<uint32_t>(p); }
inline uint64_t load_le64(const uint8_t* p) { return unaligned_detail::load_le<uint64_t>(p); }

inline void store_le16(uint8_t* p, uint16_t v) { unaligned_detail::store_le(p, v); }
inline void store_le32(uint8_t* p, uint32_t v) { unaligned_detail::store_le(p, v); }
inline void store_le64(uint8_t* p, uint64_t v) { unaligned_detail::store_le(p, v); }

}  // namespace kern
