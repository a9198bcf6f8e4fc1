// Writes the schema fuzzer's seed corpus: every root type filled by the generated builders, in one and in many segments.
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_common.h"

namespace {

// Deterministic values keyed by a counter; lists of 0-3 elements, depth-limited.
class SeedFiller {
public:
    explicit SeedFiller(uint64_t seed) : state_(seed) {}
    template <typename T>
    T value(const char*) {
        return static_cast<T>(next() % 1000);
    }
    template <typename E>
    E enumerant(const char*, uint16_t count) {
        return static_cast<E>(next() % count);
    }
    uint16_t which(uint16_t count) { return static_cast<uint16_t>(next() % count); }
    bool descend(const char*) {
        if (depth_ >= 4 || next() % 4 == 0) return false;
        ++depth_;
        return true;
    }
    void group(const char*) { ++depth_; }
    void ascend() { --depth_; }
    uint32_t size() { return static_cast<uint32_t>(next() % 4); }
    struct Bytes {
        const char* data;
        uint32_t size;
    };
    Bytes text() { return {"seed text", static_cast<uint32_t>(next() % 10)}; }
    struct Raw {
        const uint8_t* data;
        uint32_t size;
    };
    Raw data() {
        return {reinterpret_cast<const uint8_t*>("\x01\x02\x03\x04\x05\x06"), static_cast<uint32_t>(next() % 7)};
    }

    template <typename L>
    void fill_list(L l) {
        using T = typename L::Element;
        constexpr auto k = cap::capnp::kind_of<T>();
        ++depth_;
        for (uint32_t i = 0; i < l.size(); ++i) {
            if constexpr (k == cap::capnp::Kind::Bool || k == cap::capnp::Kind::Primitive) {
                l.set(i, static_cast<T>(next() % 100));
            } else if constexpr (k == cap::capnp::Kind::Enum) {
                l.set(i, static_cast<T>(next() % cap::capnp::EnumInfo<T>::kCount));
            } else if constexpr (k == cap::capnp::Kind::Struct) {
                fill(l[i], *this);
            } else if constexpr (k == cap::capnp::Kind::Text) {
                l.set(i, "element");
            } else if constexpr (k == cap::capnp::Kind::Data) {
                l.set(i, reinterpret_cast<const uint8_t*>("ab"), 2);
            } else if constexpr (k == cap::capnp::Kind::List) {
                if (depth_ < 4) fill_list(l.init(i, size()));
            }
        }
        --depth_;
    }

private:
    uint64_t next() {
        state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
        return state_ >> 33;
    }
    uint64_t state_;
    int depth_ = 0;
};

int written = 0;
std::vector<std::string> seeds;

bool write_seed(const std::string& dir, const cap::capnp::MessageBuilder& b) {
    std::vector<uint8_t> out(b.flat_size());
    size_t n;
    if (b.write_flat(out.data(), out.size(), &n) != cap::capnp::Error::Ok) return false;
    std::string path = dir + "/seed-" + std::to_string(written++);
    seeds.push_back(path);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    bool ok = std::fwrite(out.data(), 1, n, f) == n;
    return std::fclose(f) == 0 && ok;
}

}  // namespace

// Usage: seed_gen OUTDIR [CORPUS_DIR]. Writes OUTDIR/seed-*, an empty
// OUTDIR/long-corpus/ for the long run, and OUTDIR/seeds.list: the seeds and
// the files of CORPUS_DIR, comma-separated, for libFuzzer's
// -seed_inputs=@file (seeding without writing new inputs anywhere).
int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: %s OUTDIR [CORPUS_DIR]\n", argv[0]);
        return 2;
    }
    std::string dir = argv[1];
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir + "/long-corpus", ec);
    if (ec) return 1;
    bool ok = true;
    auto gen = [&]<typename T>() {
        for (uint64_t seed = 1; seed <= 3; ++seed) {
            std::vector<uint64_t> one(4096);
            cap::capnp::MessageBuilder single(one.data(), one.size() * 8);
            SeedFiller f1(seed);
            fill(single.init_root<T>(), f1);
            ok = write_seed(dir, single) && ok;

            // Many small segments: far and double-far pointers.
            std::vector<std::vector<uint64_t>> store;
            std::vector<cap::capnp::SegmentBuffer> segs;
            store.reserve(64);
            for (uint32_t i = 0; i < 64; ++i) {
                uint32_t words = i == 0 ? 1 : 2 + (i * 5) % 13;
                store.emplace_back(words);
                segs.push_back({reinterpret_cast<uint8_t*>(store.back().data()), words, 0});
            }
            cap::capnp::MessageBuilder multi(segs.data(), static_cast<uint32_t>(segs.size()));
            SeedFiller f2(seed);
            fill(multi.init_root<T>(), f2);
            if (multi.error() == cap::capnp::Error::Ok) ok = write_seed(dir, multi) && ok;
        }
    };
    schema_fuzz::for_each_root(gen);
    if (argc == 3) {
        for (const auto& e : std::filesystem::directory_iterator(argv[2]))
            if (e.is_regular_file()) seeds.push_back(std::filesystem::absolute(e.path()).string());
    }
    std::string list;
    for (const auto& p : seeds) list += (list.empty() ? "" : ",") + std::filesystem::absolute(p).string();
    FILE* f = std::fopen((dir + "/seeds.list").c_str(), "w");
    if (f == nullptr) return 1;
    ok = std::fputs(list.c_str(), f) >= 0 && ok;
    ok = std::fclose(f) == 0 && ok;
    std::printf("wrote %d seeds to %s (%zu inputs listed)\n", written, dir.c_str(), seeds.size());
    return ok ? 0 : 1;
}
