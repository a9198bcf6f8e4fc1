// capnp_wire.h - the small part of the Cap'n Proto wire format the kernel speaks.
//
// Kernel objects read parameter messages and write result messages in the
// standard stream framing, but only in the shape their schemas need: one
// segment, a root struct whose scalar fields are read by offset (fields past
// the struct's data section read as 0, as Cap'n Proto's defaults require),
// and pointers to byte lists (Text/Data), capabilities (an index into the
// call's capability array) and nested structs. Anything else is refused
// with Error::malformed. Host-tested against messages built by the official
// library's layout (test/unit/userspace/capnp_wire_test.cpp).
//
// Older kernel code; new code uses the generated bindings (schema/runtime,
// capos/schema/*.capnp.h), which the kernel build has had since issue 13
// (lib/kstats_codec). The few fixed layouts here are checked against
// `capnp compile -ocapnp` output in the object files that use them.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"

namespace kern::wire {

// A struct inside a validated message.
struct StructView {
  const uint64_t* data = nullptr;  // data section (may be null when data_words == 0)
  const uint64_t* ptrs = nullptr;  // pointer section
  uint16_t data_words = 0;
  uint16_t ptr_words = 0;
};

struct Bytes {
  const uint8_t* data = nullptr;
  uint32_t size = 0;  // for Text, without the NUL terminator
};

class Reader {
 public:
  // Parses the framing of msg[0..len) (8-byte aligned kernel copy) and the
  // root struct pointer. Errors: malformed (not one segment, sizes
  // disagree, root not a struct or out of bounds).
  [[nodiscard]] Result<void> init(const void* msg, size_t len);
  const StructView& root() const { return root_; }

  // Scalars by index in units of their own size (Cap'n Proto's offsets).
  static uint64_t u64(const StructView& s, uint32_t index);
  static uint32_t u32(const StructView& s, uint32_t index);
  static uint16_t u16(const StructView& s, uint32_t index);
  static bool bit(const StructView& s, uint32_t bit_index);

  // Pointer `index` as a byte list (Data) or Text (NUL required, not
  // counted). A null pointer reads as empty. Errors: malformed.
  [[nodiscard]] Result<Bytes> data(const StructView& s, uint32_t index) const;
  [[nodiscard]] Result<Bytes> text(const StructView& s, uint32_t index) const;
  // Pointer `index` as a capability: its index in the call's cap array.
  // Errors: malformed (null or not a capability pointer).
  [[nodiscard]] Result<uint32_t> cap(const StructView& s, uint32_t index) const;
  // Pointer `index` as a struct (null reads as an empty struct).
  [[nodiscard]] Result<StructView> child(const StructView& s, uint32_t index) const;
  // Lists: pointer `index` as a list of pointers (List(Text)) or of
  // structs (inline composite). A null pointer is an empty list.
  struct List {
    const uint64_t* elems = nullptr;  // first element (after the tag for structs)
    uint32_t count = 0;
    uint16_t dw = 0, pw = 0;           // struct lists: element layout
  };
  [[nodiscard]] Result<List> pointer_list(const StructView& s, uint32_t index) const;
  [[nodiscard]] Result<List> struct_list(const StructView& s, uint32_t index) const;
  // Element i of a pointer list as Text.
  [[nodiscard]] Result<Bytes> list_text(const List& l, uint32_t i) const;
  // Element i of a struct list.
  static StructView list_struct(const List& l, uint32_t i);
  // Pointer `index` as a list of UInt32 (null = empty). Errors: malformed.
  [[nodiscard]] Result<Bytes> u32_list(const StructView& s, uint32_t index, uint32_t* count) const;

 private:
  [[nodiscard]] Result<const uint64_t*> target(const uint64_t* ptr, uint64_t words) const;
  [[nodiscard]] Result<Bytes> bytes_at(const uint64_t* ptr) const;

  const uint64_t* seg_ = nullptr;
  uint32_t seg_words_ = 0;
  StructView root_;
};

// Builds a one-segment message into a caller buffer.
class Builder {
 public:
  struct Struct {
    uint64_t* data = nullptr;
    uint64_t* ptrs = nullptr;
    uint16_t data_words = 0;
    uint16_t ptr_words = 0;
  };

  // buf must be 8-byte aligned; cap in bytes.
  Builder(void* buf, size_t cap);
  // Allocates the root struct. Fails (returns an empty Struct, ok() false)
  // when the buffer is too small.
  Struct root(uint16_t data_words, uint16_t ptr_words);
  // A struct referenced by s's pointer `index`.
  Struct child(Struct& s, uint16_t index, uint16_t data_words, uint16_t ptr_words);
  // s's pointer `index` -> a byte list copy of bytes[0..n) (Data).
  void set_data(Struct& s, uint16_t index, const void* bytes, uint32_t n);
  // Like set_data but returns the (zeroed) bytes for the caller to fill;
  // nullptr if it does not fit.
  uint8_t* alloc_data(Struct& s, uint16_t index, uint32_t n);
  // s's pointer `index` -> Text (bytes plus the NUL terminator).
  void set_text(Struct& s, uint16_t index, const char* text, uint32_t n);
  // s's pointer `index` -> a list of `count` structs; returns element 0's
  // view in *first (element i is at first->data + i * (dw + pw)).
  void struct_list(Struct& s, uint16_t index, uint32_t count, uint16_t dw, uint16_t pw, Struct* first);
  // s's pointer `index` -> a list of `count` pointers; returns them (zeroed).
  uint64_t* pointer_list(Struct& s, uint16_t index, uint32_t count);
  // Text into the pointer at *slot (an element of pointer_list()).
  void set_text_at(uint64_t* slot, const char* text, uint32_t n);
  // s's pointer `index` -> capability `cap_index`.
  void set_cap(Struct& s, uint16_t index, uint32_t cap_index);

  static void set_u64(Struct& s, uint32_t index, uint64_t v);
  static void set_u32(Struct& s, uint32_t index, uint32_t v);
  static void set_u16(Struct& s, uint32_t index, uint16_t v);
  static void set_bit(Struct& s, uint32_t bit_index, bool v);

  bool ok() const { return ok_; }
  // Writes the framing; returns the message size in bytes (0 if it failed).
  uint32_t finish();

 private:
  uint64_t* alloc(uint32_t words);
  static uint64_t struct_ptr(const uint64_t* at, const uint64_t* target, uint16_t dw, uint16_t pw);

  uint64_t* words_;
  uint32_t cap_words_;
  uint32_t used_ = 2;  // framing word, root pointer
  bool ok_;
};

// Size in bytes of a message holding a root struct and one Data blob of n bytes.
constexpr uint32_t message_size(uint16_t data_words, uint16_t ptr_words, uint32_t blob_bytes) {
  return 8u * (2u + data_words + ptr_words) + ((blob_bytes + 7u) & ~7u);
}

}  // namespace kern::wire
