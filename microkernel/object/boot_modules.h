// boot_modules.h: the boot modules GRUB loaded, as init sees them: lookup by
// name, a copy of one module as a MemoryObject, and ProcessSpawner.modules.
//
// Process creation from a boot module is the BootSpawner's job
// (boot/init_process.cpp); this file adds what init needs besides: the names
// of every module (so a manifest naming an unknown one is refused before
// anything starts) and the boot manifest's bytes in a MemoryObject (the
// kernel hands it to init as the named capability "manifest"; it never
// parses it).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "boot/boot_info.h"
#include "lib/result.h"

namespace kern {

class Process;
class MemoryObject;
struct Call;

// The module whose GRUB module string is exactly name[0..len), or nullptr.
const BootModule* find_boot_module(const char* name, size_t len);

// A fresh MemoryObject holding a copy of module m (zero-padded to whole
// pages), charged to owner's frames quota. The caller owns the returned
// creation reference. Errors: invalid_argument (empty module), quota
// (frames), out_of_memory. Call with no lock held (allocates).
[[nodiscard]] Result<MemoryObject*> boot_module_memory(Process& owner, const BootModule& m);

// ProcessSpawner.modules @1 () -> (names :List(Text)): every boot module's
// name, in GRUB order. Fails with result_too_large when the names do not fit
// the result buffer. Changes nothing.
void boot_modules_list(Call& call);

}  // namespace kern
