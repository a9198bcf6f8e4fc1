// Writes the kernel decode fuzzer's seeds: one valid call per method (kernel_decode_input.h), each
// also with encoder checks switched on, and OUTDIR/seeds.list naming them (-seed_inputs=@...).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "kernel_decode_input.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    // Absolute paths in seeds.list: the fuzzer may run from any directory.
    std::filesystem::create_directories(std::string(argv[1]) + "/long-corpus");
    const std::string dir = std::filesystem::absolute(argv[1]).string();
    std::vector<std::string> names;
    int i = 0;
    auto write = [&](const kdfuzz::Seed& s, uint8_t extra_flags) {
        uint8_t header[kdfuzz::kHeader];
        kdfuzz::Header h = s.h;
        h.flags = static_cast<uint8_t>(h.flags | extra_flags);
        kdfuzz::put_header(header, h);
        const std::string path = dir + "/seed-" + std::to_string(i++);
        FILE* f = std::fopen(path.c_str(), "wb");
        if (f == nullptr) return false;
        bool ok = std::fwrite(header, 1, sizeof header, f) == sizeof header && std::fwrite(s.msg, 1, s.len, f) == s.len;
        ok = std::fclose(f) == 0 && ok;
        names.push_back(path);
        return ok;
    };
    bool ok = true;
    kdfuzz::for_each_seed([&](const kdfuzz::Seed& s) {
        ok = write(s, 0) && ok;
        ok = write(s, 0x80) && ok;
    });
    FILE* f = std::fopen((dir + "/seeds.list").c_str(), "w");
    if (f == nullptr) return 1;
    for (size_t k = 0; k < names.size(); ++k) std::fprintf(f, "%s%s", k != 0 ? "," : "", names[k].c_str());
    ok = std::fclose(f) == 0 && ok;
    std::printf("wrote %zu kernel decode seeds to %s\n", names.size(), dir.c_str());
    return ok ? 0 : 1;
}
