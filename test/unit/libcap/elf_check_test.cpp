// elf_check_test.cpp - user programs linked with libcap pass the kernel's own ELF loader checks.
#include <catch2/catch_test_macros.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "capos/abi/layout.h"
#include "lib/elf.h"

namespace abi = capos::abi;

namespace {

std::vector<uint8_t> slurp(const char* path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void check_program(const char* path) {
    INFO(path);
    auto img = slurp(path);
    REQUIRE(img.size() > 64);
    kern::ElfPlan plan{};
    kern::ElfReject why = kern::ElfReject::none;
    auto r = kern::elf_plan(img.data(), img.size(), plan, &why);
    INFO("reject: " << kern::elf_reject_name(why));
    REQUIRE(r.ok());
    // Entry is _start at the very start of the image (user.ld puts .text.start first).
    CHECK(plan.entry == abi::kUserImageBase);
    // Exactly three segments: R X, R, R W, in that order, page-aligned.
    REQUIRE(plan.segment_count == 3);
    CHECK(plan.segments[0].flags == (kern::kElfFlagR | kern::kElfFlagX));
    CHECK(plan.segments[1].flags == kern::kElfFlagR);
    CHECK(plan.segments[2].flags == (kern::kElfFlagR | kern::kElfFlagW));
    for (uint32_t i = 0; i < plan.segment_count; ++i) {
        CHECK(plan.segments[i].vaddr % abi::kPageSize == 0);
        CHECK(plan.segments[i].vaddr >= abi::kUserImageBase);
    }
    CHECK(plan.segments[0].vaddr == abi::kUserImageBase);
    // libcap's ring pointer is thread_local, so every program has PT_TLS.
    CHECK(plan.tls.present);
}

}  // namespace

TEST_CASE("init and the libcap guest test program pass elf_plan", "[libcap][elf]") {
    check_program(CAPOS_INIT_ELF);
    check_program(CAPOS_UTEST_ELF);
}
