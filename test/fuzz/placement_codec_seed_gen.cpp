// Writes the placement codec fuzzer's seeds (placement_codec_input.h: messages the codec's own encoders
// wrote, one place call with each decision kind), checks each passes the fuzz target's checks, and writes
// OUTDIR/seeds.list naming them (-seed_inputs=@...).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "placement_codec_input.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    std::filesystem::create_directories(std::string(argv[1]) + "/long-corpus");
    const std::string dir = std::filesystem::absolute(argv[1]).string();
    static pcfuzz::Scratch k, check;
    std::vector<std::string> names;
    bool ok = true;
    pcfuzz::for_each_seed(k, [&](const uint8_t* data, size_t size) {
        if (pcfuzz::Finding f = pcfuzz::run(data, size, check)) {
            std::fprintf(stderr, "seed %zu fails a check: %s\n", names.size(), f);
            ok = false;
        }
        const std::string path = dir + "/seed-" + std::to_string(names.size());
        FILE* out = std::fopen(path.c_str(), "wb");
        if (out == nullptr) {
            ok = false;
            return;
        }
        ok = std::fwrite(data, 1, size, out) == size && ok;
        ok = std::fclose(out) == 0 && ok;
        names.push_back(path);
    });
    FILE* f = std::fopen((dir + "/seeds.list").c_str(), "w");
    if (f == nullptr) return 1;
    for (size_t i = 0; i < names.size(); ++i) std::fprintf(f, "%s%s", i != 0 ? "," : "", names[i].c_str());
    ok = std::fclose(f) == 0 && ok;
    std::printf("wrote %zu placement codec seeds to %s\n", names.size(), dir.c_str());
    return ok ? 0 : 1;
}
