// saturating.h - unsigned additions that stop at the maximum instead of wrapping.
#pragma once

#include <stdint.h>

namespace kern {

// a + b, or UINT64_MAX if that does not fit. For deadlines ("now + a
// duration" in ns or ticks): a duration a caller controls, however large,
// must mean "far in the future" (never fires), not wrap into the past and
// fire at once.
constexpr uint64_t saturating_add(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

}  // namespace kern
