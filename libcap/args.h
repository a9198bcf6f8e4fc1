// args.h - small string helpers and `key=value` module arguments (freestanding, host-tested).
//
// A module command line (StartInfo::args) is a space-separated list of
// `key=value` words. These helpers read it in place: no copy, no heap.
#pragma once

#include <stdint.h>

namespace cap {

// Length of a NUL-terminated string; 0 for nullptr.
uint32_t len_of(const char* s);
// True if both are equal NUL-terminated strings (two nullptrs are equal).
bool str_eq(const char* a, const char* b);
// True if the `alen` bytes at `a` equal the NUL-terminated `b`.
bool str_eq(const char* a, uint32_t alen, const char* b);

// Value of `key=` in a space-separated argument string as a decimal number;
// `def` if absent or not starting with a digit (reading stops at the first
// non-digit).
uint64_t arg_u64(const char* args, const char* key, uint64_t def);
// Copies the value of `key=` (up to the next space) into out, NUL-terminated
// and truncated to cap-1 bytes; false if absent or cap is 0.
bool arg_str(const char* args, const char* key, char* out, uint32_t cap);

}  // namespace cap
