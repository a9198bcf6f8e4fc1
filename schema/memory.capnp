# MemoryObject: a set of physical frames that can be mapped into address spaces.
@0xef7320f20f4c19d4;

interface MemoryObject {
  # Page-granular memory. Frames are charged to the creating process's
  # frames quota until the last capability to them is dropped.

  size @0 () -> (bytes :UInt64);
  # Size in `bytes` (a multiple of 4096).

  slice @1 (offset :UInt64, length :UInt64) -> (memory :MemoryObject);
  # A capability to [offset, offset + length) of this object, sharing its
  # frames. Both must be page-aligned and inside the object.

  read @2 (offset :UInt64, length :UInt32) -> (bytes :Data);
  # Copies `length` (at most 4096) bytes from `offset` out of the object,
  # for small reads without a mapping.

  write @3 (offset :UInt64, bytes :Data) -> ();
  # Copies `bytes` (at most 4096) into the object at `offset`.
}
