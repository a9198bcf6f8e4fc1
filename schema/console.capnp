# Console: the kernel's serial console, handed to servers that may print.
@0xafbccffecc5cc73f;

interface Console {
  # Writes to the system console. Output from concurrent writers is
  # interleaved per call: one call's bytes are never split by another's.

  write @0 (text :Text) -> ();
  # Writes `text` as-is (no newline is added). Fails with an argument error
  # if the text exceeds the per-call limit (4 KiB).

  writeBytes @1 (bytes :Data) -> ();
  # Writes raw `bytes`, for output that is not valid UTF-8 (same limit).
}
