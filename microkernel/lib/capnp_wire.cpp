// capnp_wire.cpp - minimal Cap'n Proto reader/builder for kernel object messages.
#include "lib/capnp_wire.h"

namespace kern::wire {
namespace {

constexpr uint64_t kKindMask = 3;
constexpr uint64_t kStruct = 0;
constexpr uint64_t kList = 1;
constexpr uint64_t kOther = 3;

int64_t ptr_offset(uint64_t p) {
  // Signed 30-bit word offset in bits 2..31.
  return static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(p) & ~3u)) >> 2;
}

}  // namespace

Result<void> Reader::init(const void* msg, size_t len) {
  if (msg == nullptr || (reinterpret_cast<uintptr_t>(msg) & 7) != 0 || len < 16 || (len & 7) != 0)
    return Error::malformed;
  const auto* w = static_cast<const uint32_t*>(msg);
  if (w[0] != 0) return Error::malformed;  // exactly one segment
  const uint64_t words = w[1];
  if (words == 0 || words + 1 != len / 8) return Error::malformed;
  seg_ = static_cast<const uint64_t*>(msg) + 1;
  seg_words_ = static_cast<uint32_t>(words);
  const uint64_t p = seg_[0];
  if (p == 0) {
    root_ = StructView{};
    return ok();
  }
  if ((p & kKindMask) != kStruct) return Error::malformed;
  const uint16_t dw = static_cast<uint16_t>(p >> 32);
  const uint16_t pw = static_cast<uint16_t>(p >> 48);
  const uint64_t* t = TRY(target(&seg_[0], uint64_t{dw} + pw));
  root_ = StructView{t, t + dw, dw, pw};
  return ok();
}

Result<const uint64_t*> Reader::target(const uint64_t* ptr, uint64_t words) const {
  const int64_t off = ptr_offset(*ptr);
  const int64_t start = (ptr - seg_) + 1 + off;
  if (start < 0 || static_cast<uint64_t>(start) > seg_words_) return Error::malformed;
  if (words > seg_words_ - static_cast<uint64_t>(start)) return Error::malformed;
  return seg_ + start;
}

uint64_t Reader::u64(const StructView& s, uint32_t index) {
  return index < s.data_words ? s.data[index] : 0;
}
uint32_t Reader::u32(const StructView& s, uint32_t index) {
  if (index / 2 >= s.data_words) return 0;
  return static_cast<uint32_t>(s.data[index / 2] >> (32 * (index % 2)));
}
uint16_t Reader::u16(const StructView& s, uint32_t index) {
  if (index / 4 >= s.data_words) return 0;
  return static_cast<uint16_t>(s.data[index / 4] >> (16 * (index % 4)));
}
bool Reader::bit(const StructView& s, uint32_t bit_index) {
  if (bit_index / 64 >= s.data_words) return false;
  return ((s.data[bit_index / 64] >> (bit_index % 64)) & 1) != 0;
}

Result<Bytes> Reader::bytes_at(const uint64_t* ptr) const {
  const uint64_t p = *ptr;
  if (p == 0) return Bytes{};
  if ((p & kKindMask) != kList) return Error::malformed;
  if (((p >> 32) & 7) != 2) return Error::malformed;  // element size: byte
  const uint32_t n = static_cast<uint32_t>(p >> 35);
  const uint64_t* t = TRY(target(ptr, (uint64_t{n} + 7) / 8));
  return Bytes{reinterpret_cast<const uint8_t*>(t), n};
}

Result<Bytes> Reader::data(const StructView& s, uint32_t index) const {
  if (index >= s.ptr_words) return Bytes{};
  return bytes_at(&s.ptrs[index]);
}

Result<Reader::List> Reader::pointer_list(const StructView& s, uint32_t index) const {
  if (index >= s.ptr_words || s.ptrs[index] == 0) return List{};
  const uint64_t p = s.ptrs[index];
  if ((p & kKindMask) != kList || ((p >> 32) & 7) != 6) return Error::malformed;
  const uint32_t n = static_cast<uint32_t>(p >> 35);
  const uint64_t* t = TRY(target(&s.ptrs[index], n));
  return List{t, n, 0, 1};
}

Result<Reader::List> Reader::struct_list(const StructView& s, uint32_t index) const {
  if (index >= s.ptr_words || s.ptrs[index] == 0) return List{};
  const uint64_t p = s.ptrs[index];
  if ((p & kKindMask) != kList || ((p >> 32) & 7) != 7) return Error::malformed;
  const uint32_t words = static_cast<uint32_t>(p >> 35);
  const uint64_t* t = TRY(target(&s.ptrs[index], uint64_t{words} + 1));
  const uint64_t tag = t[0];
  if ((tag & kKindMask) != kStruct) return Error::malformed;
  const uint32_t n = static_cast<uint32_t>(tag) >> 2;
  const uint16_t dw = static_cast<uint16_t>(tag >> 32);
  const uint16_t pw = static_cast<uint16_t>(tag >> 48);
  if (uint64_t{n} * (uint64_t{dw} + pw) > words) return Error::malformed;
  return List{t + 1, n, dw, pw};
}

Result<Bytes> Reader::list_text(const List& l, uint32_t i) const {
  if (i >= l.count) return Error::malformed;
  Bytes b = TRY(bytes_at(&l.elems[i]));
  if (b.size == 0) return b;
  if (b.data[b.size - 1] != 0) return Error::malformed;
  b.size -= 1;
  return b;
}

StructView Reader::list_struct(const List& l, uint32_t i) {
  if (i >= l.count) return StructView{};
  const uint64_t* e = l.elems + uint64_t{i} * (uint64_t{l.dw} + l.pw);
  return StructView{e, e + l.dw, l.dw, l.pw};
}

Result<Bytes> Reader::text(const StructView& s, uint32_t index) const {
  Bytes b = TRY(data(s, index));
  if (b.size == 0) return b;  // null text
  if (b.data[b.size - 1] != 0) return Error::malformed;
  b.size -= 1;
  return b;
}

Result<uint32_t> Reader::cap(const StructView& s, uint32_t index) const {
  if (index >= s.ptr_words) return Error::malformed;
  const uint64_t p = s.ptrs[index];
  if ((p & kKindMask) != kOther || static_cast<uint32_t>(p) != 3) return Error::malformed;
  return static_cast<uint32_t>(p >> 32);
}

Result<StructView> Reader::child(const StructView& s, uint32_t index) const {
  if (index >= s.ptr_words || s.ptrs[index] == 0) return StructView{};
  const uint64_t p = s.ptrs[index];
  if ((p & kKindMask) != kStruct) return Error::malformed;
  const uint16_t dw = static_cast<uint16_t>(p >> 32);
  const uint16_t pw = static_cast<uint16_t>(p >> 48);
  const uint64_t* t = TRY(target(&s.ptrs[index], uint64_t{dw} + pw));
  return StructView{t, t + dw, dw, pw};
}

Result<Bytes> Reader::u32_list(const StructView& s, uint32_t index, uint32_t* count) const {
  *count = 0;
  if (index >= s.ptr_words || s.ptrs[index] == 0) return Bytes{};
  const uint64_t p = s.ptrs[index];
  if ((p & kKindMask) != kList) return Error::malformed;
  if (((p >> 32) & 7) != 4) return Error::malformed;  // element size: 4 bytes
  const uint32_t n = static_cast<uint32_t>(p >> 35);
  const uint64_t* t = TRY(target(&s.ptrs[index], (uint64_t{n} * 4 + 7) / 8));
  *count = n;
  return Bytes{reinterpret_cast<const uint8_t*>(t), n * 4};
}

Builder::Builder(void* buf, size_t cap)
    : words_(static_cast<uint64_t*>(buf)),
      cap_words_(static_cast<uint32_t>(cap / 8 > 0xffffffu ? 0xffffffu : cap / 8)),
      ok_(buf != nullptr && (reinterpret_cast<uintptr_t>(buf) & 7) == 0 && cap >= 16) {
  if (ok_) {
    words_[0] = 0;
    words_[1] = 0;
  }
}

uint64_t* Builder::alloc(uint32_t words) {
  if (!ok_ || words > cap_words_ - used_) {
    ok_ = false;
    return nullptr;
  }
  uint64_t* p = words_ + used_;
  for (uint32_t i = 0; i < words; ++i) p[i] = 0;
  used_ += words;
  return p;
}

uint64_t Builder::struct_ptr(const uint64_t* at, const uint64_t* target, uint16_t dw, uint16_t pw) {
  const int64_t off = target - (at + 1);
  return (static_cast<uint64_t>(static_cast<uint32_t>(off << 2))) | (uint64_t{dw} << 32) |
         (uint64_t{pw} << 48);
}

Builder::Struct Builder::root(uint16_t data_words, uint16_t ptr_words) {
  uint64_t* t = alloc(uint32_t{data_words} + ptr_words);
  if (t == nullptr) return Struct{};
  words_[1] = struct_ptr(&words_[1], t, data_words, ptr_words);
  return Struct{t, t + data_words, data_words, ptr_words};
}

Builder::Struct Builder::child(Struct& s, uint16_t index, uint16_t data_words, uint16_t ptr_words) {
  if (index >= s.ptr_words) {
    ok_ = false;
    return Struct{};
  }
  uint64_t* t = alloc(uint32_t{data_words} + ptr_words);
  if (t == nullptr) return Struct{};
  s.ptrs[index] = struct_ptr(&s.ptrs[index], t, data_words, ptr_words);
  return Struct{t, t + data_words, data_words, ptr_words};
}

uint8_t* Builder::alloc_data(Struct& s, uint16_t index, uint32_t n) {
  if (index >= s.ptr_words || n >= (1u << 29)) {
    ok_ = false;
    return nullptr;
  }
  uint64_t* t = alloc((n + 7) / 8);
  if (t == nullptr) return nullptr;
  const int64_t off = t - (&s.ptrs[index] + 1);
  s.ptrs[index] = static_cast<uint64_t>(static_cast<uint32_t>(off << 2)) | kList | (uint64_t{2} << 32) |
                  (uint64_t{n} << 35);
  return reinterpret_cast<uint8_t*>(t);
}

void Builder::set_data(Struct& s, uint16_t index, const void* bytes, uint32_t n) {
  uint8_t* t = alloc_data(s, index, n);
  if (t != nullptr && n != 0) __builtin_memcpy(t, bytes, n);
}

void Builder::set_text_at(uint64_t* slot, const char* text, uint32_t n) {
  if (n >= (1u << 29) - 1) {
    ok_ = false;
    return;
  }
  uint64_t* t = alloc((n + 1 + 7) / 8);
  if (t == nullptr) return;
  if (n != 0) __builtin_memcpy(t, text, n);
  const int64_t off = t - (slot + 1);
  *slot = static_cast<uint64_t>(static_cast<uint32_t>(off << 2)) | kList | (uint64_t{2} << 32) |
          (uint64_t{n + 1} << 35);
}

void Builder::set_text(Struct& s, uint16_t index, const char* text, uint32_t n) {
  if (index >= s.ptr_words) {
    ok_ = false;
    return;
  }
  set_text_at(&s.ptrs[index], text, n);
}

void Builder::struct_list(Struct& s, uint16_t index, uint32_t count, uint16_t dw, uint16_t pw, Struct* first) {
  *first = Struct{};
  const uint64_t words = uint64_t{count} * (uint64_t{dw} + pw);
  if (index >= s.ptr_words || words >= (1u << 29)) {
    ok_ = false;
    return;
  }
  uint64_t* t = alloc(static_cast<uint32_t>(words) + 1);
  if (t == nullptr) return;
  const int64_t off = t - (&s.ptrs[index] + 1);
  s.ptrs[index] = static_cast<uint64_t>(static_cast<uint32_t>(off << 2)) | kList | (uint64_t{7} << 32) |
                  (words << 35);
  t[0] = (uint64_t{count} << 2) | (uint64_t{dw} << 32) | (uint64_t{pw} << 48);  // tag
  *first = Struct{t + 1, t + 1 + dw, dw, pw};
}

uint64_t* Builder::pointer_list(Struct& s, uint16_t index, uint32_t count) {
  if (index >= s.ptr_words || count >= (1u << 29)) {
    ok_ = false;
    return nullptr;
  }
  uint64_t* t = alloc(count);
  if (t == nullptr) return nullptr;
  const int64_t off = t - (&s.ptrs[index] + 1);
  s.ptrs[index] = static_cast<uint64_t>(static_cast<uint32_t>(off << 2)) | kList | (uint64_t{6} << 32) |
                  (uint64_t{count} << 35);
  return t;
}

void Builder::set_cap(Struct& s, uint16_t index, uint32_t cap_index) {
  if (index >= s.ptr_words) {
    ok_ = false;
    return;
  }
  s.ptrs[index] = kOther | (uint64_t{cap_index} << 32);
}

void Builder::set_u64(Struct& s, uint32_t index, uint64_t v) {
  if (index < s.data_words) s.data[index] = v;
}
void Builder::set_u32(Struct& s, uint32_t index, uint32_t v) {
  if (index / 2 >= s.data_words) return;
  const uint32_t sh = 32 * (index % 2);
  s.data[index / 2] = (s.data[index / 2] & ~(uint64_t{0xffffffffu} << sh)) | (uint64_t{v} << sh);
}
void Builder::set_u16(Struct& s, uint32_t index, uint16_t v) {
  if (index / 4 >= s.data_words) return;
  const uint32_t sh = 16 * (index % 4);
  s.data[index / 4] = (s.data[index / 4] & ~(uint64_t{0xffffu} << sh)) | (uint64_t{v} << sh);
}
void Builder::set_bit(Struct& s, uint32_t bit_index, bool v) {
  if (bit_index / 64 >= s.data_words) return;
  const uint64_t m = uint64_t{1} << (bit_index % 64);
  s.data[bit_index / 64] = v ? (s.data[bit_index / 64] | m) : (s.data[bit_index / 64] & ~m);
}

uint32_t Builder::finish() {
  if (!ok_) return 0;
  const uint32_t seg = used_ - 1;
  words_[0] = uint64_t{seg} << 32;  // segment count - 1 = 0, then the segment's size
  return used_ * 8;
}

}  // namespace kern::wire
