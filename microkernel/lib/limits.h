// limits.h - compile-time capacity limits shared by the kernel's tables.
#pragma once

namespace kern {

// Most CPUs the kernel brings up; per-CPU arrays and the ACPI CPU list are
// sized by it. Raising it costs static memory only.
inline constexpr unsigned kMaxCpus = 64;

}  // namespace kern
