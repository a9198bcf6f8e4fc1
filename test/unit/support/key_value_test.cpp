// key_value_test.cpp: support/'s key=value splitter (capos::kv) against hostile input, under ASan.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "capos/kv/key_value.h"

using capos::kv::Pair;
using capos::kv::ParseResult;
using capos::kv::Refusal;

namespace {

// The text in a heap block of exactly its length, no NUL after it: a read
// past `len` is a heap-buffer-overflow that ASan reports.
struct Exact {
    std::unique_ptr<char[]> buf;
    size_t len;
    explicit Exact(const std::string& s) : buf(new char[s.size() == 0 ? 1 : s.size()]), len(s.size()) {
        std::memcpy(buf.get(), s.data(), s.size());
    }
};

// Each word as "key=value", "key" (no value) or "key=" (empty value).
std::vector<std::string> words(const std::string& s, const char* seps, size_t len = std::string::npos) {
    Exact e(s);
    std::vector<std::string> out;
    const size_t n =
        capos::kv::for_each_pair(e.buf.get(), len == std::string::npos ? e.len : len, seps, [&](const Pair& p) {
            std::string w(p.key, p.key_len);
            if (p.has_value()) w += "=" + std::string(p.value, p.value_len);
            CHECK(p.word_len() == w.size());
            out.push_back(w);
        });
    CHECK(n == out.size());
    return out;
}

using W = std::vector<std::string>;

ParseResult parse(const std::string& s, const char* seps, Pair* table, size_t cap) {
    static std::vector<Exact> keep;  // the pairs point into the text
    keep.emplace_back(s);
    return capos::kv::parse_pairs(keep.back().buf.get(), keep.back().len, seps, table, cap);
}

std::string key(const Pair& p) { return std::string(p.key, p.key_len); }

}  // namespace

TEST_CASE("words: split at any separator, at the first '='", "[support][kv]") {
    CHECK(words("a=1 b c=", " ") == W{"a=1", "b", "c="});
    CHECK(words("x=a=b y=k:v,w", " ") == W{"x=a=b", "y=k:v,w"});  // a value keeps '=', ':' and ','
    CHECK(words("a=1,b=2 c", ",") == W{"a=1", "b=2 c"});          // only the separators given split
    CHECK(words("a\tb c", " \t") == W{"a", "b", "c"});
    CHECK(words("a\tb", " ") == W{"a\tb"});
}

TEST_CASE("words: empty words and empty texts are skipped", "[support][kv]") {
    CHECK(words("", " ").empty());
    CHECK(words("    ", " ").empty());
    CHECK(words(",,,", ",").empty());
    CHECK(words(",,a=1,,,b,,", ",") == W{"a=1", "b"});
    CHECK(words("  a  ", " ") == W{"a"});
    CHECK(capos::kv::for_each_pair(nullptr, 10, " ", [](const Pair&) { FAIL("no word in a nullptr text"); }) == 0);
    CHECK(words("a b", "") == W{"a b"});  // no separators: one word
}

TEST_CASE("words: a missing key or value is kept as written", "[support][kv]") {
    Exact e("=v = k= k");
    std::vector<Pair> ps;
    capos::kv::for_each_pair(e.buf.get(), e.len, " ", [&](const Pair& p) { ps.push_back(p); });
    REQUIRE(ps.size() == 4);
    CHECK(ps[0].key_len == 0);
    CHECK(std::string(ps[0].value, ps[0].value_len) == "v");
    CHECK(ps[1].key_len == 0);
    CHECK(ps[1].has_value());
    CHECK(ps[1].value_len == 0);
    CHECK(ps[2].has_value());  // `k=`: an empty value is a value
    CHECK(ps[2].value_len == 0);
    CHECK_FALSE(ps[3].has_value());  // `k`: none
    CHECK(ps[3].value == nullptr);
}

TEST_CASE("words: the text ends at len or at a NUL, never later", "[support][kv]") {
    // Unterminated: the last word runs to the end of the buffer.
    CHECK(words("a=1 b=22", " ") == W{"a=1", "b=22"});
    CHECK(words("a=1 b=22", " ", 5) == W{"a=1", "b"});
    CHECK(words("a=1 b=22", " ", 6) == W{"a=1", "b="});
    CHECK(words("a=1 b=22", " ", 0).empty());
    CHECK(words("k=", " ") == W{"k="});
    CHECK(words("=", " ") == W{"="});
    // A NUL ends the text before len.
    CHECK(words(std::string("a b\0c d", 7), " ") == W{"a", "b"});
    CHECK(words(std::string("a=\0x", 4), " ") == W{"a="});
    CHECK(words(std::string("\0a", 2), " ").empty());
    // A NUL-terminated string with len SIZE_MAX reads up to the NUL only.
    std::unique_ptr<char[]> z(new char[4]{'a', ' ', 'b', '\0'});
    std::vector<std::string> got;
    capos::kv::for_each_pair(z.get(), ~size_t{0}, " ", [&](const Pair& p) { got.emplace_back(p.key, p.key_len); });
    CHECK(got == W{"a", "b"});
}

TEST_CASE("words: an overlong word is one word of its full length", "[support][kv]") {
    const std::string big = "k=" + std::string(1 << 20, 'x');
    auto w = words(big + " j=1", " ");
    REQUIRE(w.size() == 2);
    CHECK(w[0].size() == big.size());
    CHECK(w[1] == "j=1");
    const std::string many_seps = std::string(1 << 16, ' ') + "a" + std::string(1 << 16, ' ');
    CHECK(words(many_seps, " ") == W{"a"});
}

TEST_CASE("next_pair resumes where it stopped and stays at the end", "[support][kv]") {
    Exact e("a b");
    size_t pos = 0;
    Pair p;
    REQUIRE(capos::kv::next_pair(e.buf.get(), e.len, " ", pos, p));
    CHECK(key(p) == "a");
    REQUIRE(capos::kv::next_pair(e.buf.get(), e.len, " ", pos, p));
    CHECK(key(p) == "b");
    CHECK(pos == e.len);
    CHECK_FALSE(capos::kv::next_pair(e.buf.get(), e.len, " ", pos, p));
    CHECK_FALSE(capos::kv::next_pair(e.buf.get(), e.len, " ", pos, p));
    CHECK(key(p) == "b");  // untouched at the end
}

TEST_CASE("key_is and value_is compare whole strings", "[support][kv]") {
    Exact e("tick=periodic tic quiet");
    std::vector<Pair> ps;
    capos::kv::for_each_pair(e.buf.get(), e.len, " ", [&](const Pair& p) { ps.push_back(p); });
    REQUIRE(ps.size() == 3);
    CHECK(ps[0].key_is("tick"));
    CHECK_FALSE(ps[0].key_is("tic"));
    CHECK_FALSE(ps[0].key_is("ticks"));
    CHECK_FALSE(ps[0].key_is(""));
    CHECK(ps[0].value_is("periodic"));
    CHECK_FALSE(ps[0].value_is("period"));
    CHECK_FALSE(ps[0].value_is("periodical"));
    CHECK(ps[1].key_is("tic"));
    CHECK_FALSE(ps[2].value_is(""));  // no value is not the empty value
}

TEST_CASE("find_value: the first word with the key and a value", "[support][kv]") {
    Exact e("n work=1 n=2 n=3 workers=4");
    Pair p;
    REQUIRE(capos::kv::find_value(e.buf.get(), e.len, " ", "n", p));
    CHECK(std::string(p.value, p.value_len) == "2");  // the bare `n` has no value
    REQUIRE(capos::kv::find_value(e.buf.get(), e.len, " ", "workers", p));
    CHECK(std::string(p.value, p.value_len) == "4");
    CHECK_FALSE(capos::kv::find_value(e.buf.get(), e.len, " ", "wor", p));
    CHECK_FALSE(capos::kv::find_value(e.buf.get(), e.len, " ", "orkers", p));
    CHECK_FALSE(capos::kv::find_value(nullptr, 5, " ", "n", p));
}

TEST_CASE("copy_value: NUL-terminated, cut to cap-1 with the cut reported", "[support][kv]") {
    Exact e("test=abcdef flag");
    std::vector<Pair> ps;
    capos::kv::for_each_pair(e.buf.get(), e.len, " ", [&](const Pair& p) { ps.push_back(p); });
    REQUIRE(ps.size() == 2);
    char out[8];
    std::memset(out, '#', sizeof out);
    CHECK(capos::kv::copy_value(ps[0], out, sizeof out));
    CHECK(std::string(out) == "abcdef");
    char exact[6];
    CHECK_FALSE(capos::kv::copy_value(ps[0], exact, sizeof exact));  // 6 bytes need 7
    CHECK(std::string(exact) == "abcde");
    char one[1] = {'#'};
    CHECK_FALSE(capos::kv::copy_value(ps[0], one, 1));
    CHECK(one[0] == '\0');
    CHECK_FALSE(capos::kv::copy_value(ps[0], out, 0));
    CHECK(capos::kv::copy_value(ps[1], out, sizeof out));  // no value copies as empty
    CHECK(std::string(out).empty());
}

TEST_CASE("parse_pairs: a table of distinct keys, or a refusal naming the word", "[support][kv]") {
    Pair t[4];
    auto ok = parse(",a=1,,b,c=x=y,", ",", t, 4);
    CHECK(ok.refusal == Refusal::none);
    REQUIRE(ok.n == 3);
    CHECK(key(t[0]) == "a");
    CHECK(key(t[1]) == "b");
    CHECK(std::string(t[2].value, t[2].value_len) == "x=y");
    CHECK(parse("", ",", t, 4).n == 0);
    CHECK(parse(",,,", ",", t, 4).refusal == Refusal::none);

    auto no_key = parse("a=1,=2", ",", t, 4);
    CHECK(no_key.refusal == Refusal::no_key);
    CHECK(no_key.n == 0);
    CHECK(std::string(no_key.word.value, no_key.word.value_len) == "2");
    CHECK(parse("=", ",", t, 4).refusal == Refusal::no_key);

    auto twice = parse("a=1,b,a", ",", t, 4);
    CHECK(twice.refusal == Refusal::key_twice);
    CHECK(twice.n == 0);
    CHECK(key(twice.word) == "a");
    CHECK_FALSE(twice.word.has_value());                           // the second `a`
    CHECK(parse("ab=1,a=1", ",", t, 4).refusal == Refusal::none);  // a prefix is another key

    CHECK(parse("a,b,c,d", ",", t, 4).n == 4);  // exactly full
    auto many = parse("a,b,c,d,e", ",", t, 4);
    CHECK(many.refusal == Refusal::too_many);
    CHECK(key(many.word) == "e");
    CHECK(many.n == 0);
    CHECK(parse("a", ",", t, 0).refusal == Refusal::too_many);
    CHECK(parse("", ",", nullptr, 0).refusal == Refusal::none);
}
