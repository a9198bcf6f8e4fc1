# Test-only schema: every type, defaults, unions, groups and nested lists, for binding tests.
@0xe1a0d5781346134e;

# Colours for enum fields and lists.
enum Color {
  red @0;    # first enumerant
  green @1;  # second enumerant
  blue @2;   # third enumerant
}

# A small struct used inside lists and as a field.
struct Inner {
  id @0 :UInt32;       # an identifier
  name @1 :Text;       # a label
  values @2 :List(Int16);  # a short list of numbers
}

# Every field type once without defaults.
struct AllTypes {
  voidField @0 :Void;          # nothing
  boolField @1 :Bool;          # one bit
  int8Field @2 :Int8;          # signed byte
  int16Field @3 :Int16;        # signed 16
  int32Field @4 :Int32;        # signed 32
  int64Field @5 :Int64;        # signed 64
  uint8Field @6 :UInt8;        # unsigned byte
  uint16Field @7 :UInt16;      # unsigned 16
  uint32Field @8 :UInt32;      # unsigned 32
  uint64Field @9 :UInt64;      # unsigned 64
  float32Field @10 :Float32;   # single
  float64Field @11 :Float64;   # double
  textField @12 :Text;         # text
  dataField @13 :Data;         # bytes
  structField @14 :Inner;      # nested struct
  enumField @15 :Color;        # enum
  boolList @16 :List(Bool);    # bit list
  int8List @17 :List(Int8);    # byte list
  int64List @18 :List(Int64);  # word list
  float64List @19 :List(Float64);  # double list
  textList @20 :List(Text);    # pointer list of text
  dataList @21 :List(Data);    # pointer list of data
  structList @22 :List(Inner); # composite list
  enumList @23 :List(Color);   # enum list
  listList @24 :List(List(UInt32));  # list of lists
  listListList @25 :List(List(List(Text)));  # three levels
  voidList @26 :List(Void);    # void list
  cap @27 :Target;             # a capability
  capList @28 :List(Target);   # capabilities in a list
  anyField @29 :AnyPointer;    # untyped pointer
}

# Every field type with a non-zero default (exercises XOR-ed defaults).
struct Defaults {
  boolField @0 :Bool = true;             # default true
  int8Field @1 :Int8 = -5;               # default -5
  int16Field @2 :Int16 = -1234;          # default -1234
  int32Field @3 :Int32 = -123456;        # default -123456
  int64Field @4 :Int64 = -1234567890123; # default
  uint8Field @5 :UInt8 = 200;            # default 200
  uint16Field @6 :UInt16 = 60000;        # default 60000
  uint32Field @7 :UInt32 = 4000000000;   # default
  uint64Field @8 :UInt64 = 12345678901234567890;  # default
  float32Field @9 :Float32 = 1.5;        # default 1.5
  float64Field @10 :Float64 = -2.25e10;  # default
  textField @11 :Text = "hello";         # default text
  dataField @12 :Data = 0x"01 02 03";    # default data
  structField @13 :Inner = (id = 7, name = "seven", values = [1, -2, 3]);  # default struct
  enumField @14 :Color = blue;           # default enum
  int32List @15 :List(Int32) = [10, 20, 30];  # default list
  structList @16 :List(Inner) = [(id = 1), (id = 2, name = "two")];  # default struct list
  textList @17 :List(Text) = ["a", "bc"];  # default text list
}

# Unnamed and named unions, and a plain group.
struct Unions {
  union {
    none @0 :Void;        # nothing set
    number @1 :Int32;     # a number
    text @2 :Text;        # some text
    inner @3 :Inner;      # a struct
    list @4 :List(UInt16); # a list
  }
  extra @5 :UInt64;       # a field outside the union
  shape :union {
    circle @6 :Float64;   # radius
    rect :group {
      width @7 :Float64;  # width
      height @8 :Float64; # height
    }
    unknown @9 :Void;     # no shape
  }
  position :group {
    x @10 :Int32;         # x coordinate
    y @11 :Int32;         # y coordinate
    label @12 :Text;      # a label
  }
}

# A deeply nestable struct (linked list) for nesting tests.
struct Node {
  value @0 :UInt32;   # payload
  next @1 :Node;      # the next node or null
  children @2 :List(Node);  # fan-out
}

# An interface to test stubs and dispatch.
interface Target {
  # Adds two numbers.
  add @0 (a :Int32, b :Int32) -> (sum :Int32);
  # Echoes text back.
  echo @1 (text :Text) -> (text :Text);
  # Accepts a capability and returns it.
  pass @2 (target :Target) -> (target :Target);
}

# A derived interface.
interface Derived extends(Target) {
  # A method of the derived interface.
  twice @0 (x :UInt32) -> (y :UInt32);
}

struct Box(T) {
  # A generic struct: its parameter is AnyPointer in the generated code.
  value @0 :T;     # the boxed value
  tag @1 :UInt32;  # a plain field beside it
  struct Pair(U) {
    # Nested generic, with the outer parameter in scope.
    first @0 :T;   # outer parameter
    second @1 :U;  # its own
  }
}

struct Generics {
  # Branded uses of Box.
  boxText @0 :Box(Text);               # bound to Text
  boxInner @1 :Box(Inner);             # bound to a struct
  boxList @2 :Box(List(UInt32));       # bound to a list
  pair @3 :Box(Text).Pair(Inner);      # nested, both bound
  unbound @4 :Box;                     # no brand: AnyPointer in both libraries
}

interface EndpointEcho {
  # The Endpoint guest tests' service (test/guest/utest_endpoint.cpp serves it,
  # test/guest/guest_echo_client.cpp calls it), so their calls are addressed
  # and encoded through generated code too.
  echo @0 (value :UInt64) -> (sum :UInt64, cpu :UInt64);
  # The client moves a MemoryObject of 4096 * (1 + value % 3) bytes in; the
  # server answers value * 2 + that size, the CPU it ran on, and a
  # MemoryObject of its own.
  carry @1 () -> ();
  # A call that only carries capabilities (abandoned and queued calls).
  fail @2 () -> ();
  # A call the server answers with an error status.
}

interface Sink {
  # A streaming method (results: capnp's StreamResult) beside a normal one.
  write @0 (chunk :Data) -> stream;
  done @1 () -> (bytes :UInt64);
}

const answer :UInt32 = 42;  # a constant
const greeting :Text = "hi";  # a text constant
# Float constants of every kind the generator must emit as valid, exact C++.
const floatWhole :Float32 = 456;       # an integral value
const floatNeg :Float32 = -1.5;        # negative
const floatTiny :Float32 = 1e-40;      # a subnormal
const floatInf :Float32 = inf;         # infinity
const floatNegInf :Float64 = -inf;     # negative infinity
const floatNan :Float64 = nan;         # not a number
const floatNegZero :Float64 = -0.0;    # negative zero
const floatPi :Float64 = 3.141592653589793;  # needs all 17 digits
