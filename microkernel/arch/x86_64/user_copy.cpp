// user_copy.cpp: the exception table of the user-access instructions.
#include "arch/x86_64/user_copy.h"
#include "arch/x86_64/implements.h"

extern "C" {
uint8_t g_capos_smap = 0;
extern char capos_user_copy_insn[], capos_user_copy_fixup[];
extern char capos_user_load32_insn[], capos_user_load32_fixup[];
}

namespace kern::arch {

uint64_t user_access_fixup(uint64_t rip) {
    struct Entry {
        const char* insn;
        const char* fixup;
    };
    const Entry table[] = {
        {capos_user_copy_insn, capos_user_copy_fixup},
        {capos_user_load32_insn, capos_user_load32_fixup},
    };
    for (const Entry& e : table) {
        if (rip == reinterpret_cast<uint64_t>(e.insn)) return reinterpret_cast<uint64_t>(e.fixup);
    }
    return 0;
}

}  // namespace kern::arch
