"""harness/capos/cpio.py — write a newc ("070701") cpio archive in pure Python, for initramfs images."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

_MAGIC = b"070701"


@dataclass(frozen=True)
class Entry:
    """One archive member. `name` is relative ("bin/x"), without a leading slash."""

    name: str
    mode: int  # full st_mode: file type bits plus permissions
    data: bytes = b""
    rdev_major: int = 0
    rdev_minor: int = 0


def directory(name: str, perm: int = 0o755) -> Entry:
    return Entry(name, stat.S_IFDIR | perm)


def regular(name: str, data: bytes, perm: int = 0o644) -> Entry:
    return Entry(name, stat.S_IFREG | perm, data)


def char_device(name: str, major: int, minor: int, perm: int = 0o600) -> Entry:
    return Entry(name, stat.S_IFCHR | perm, b"", major, minor)


def _pad4(n: int) -> bytes:
    return b"\0" * ((4 - n % 4) % 4)


def _member(ino: int, e: Entry) -> bytes:
    name = e.name.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(e.mode) else 1
    fields = [ino, e.mode, 0, 0, nlink, 0, len(e.data), 0, 0, e.rdev_major, e.rdev_minor, len(name), 0]
    for f in fields:
        if not 0 <= f <= 0xFFFFFFFF:
            raise ValueError(f"cpio: field {f} of {e.name!r} does not fit 32 bits")
    header = _MAGIC + b"".join(b"%08X" % f for f in fields)
    head = header + name
    return head + _pad4(len(head)) + e.data + _pad4(len(e.data))


def pack(entries: list[Entry]) -> bytes:
    """The archive bytes: members in the given order, then the TRAILER!!! record.

    Parents must precede children (the kernel creates paths in order).
    """
    seen: set[str] = set()
    out = bytearray()
    for ino, e in enumerate(entries, start=1):
        if not e.name or e.name.startswith("/") or e.name in seen:
            raise ValueError(f"cpio: bad or duplicate member name {e.name!r}")
        parent = e.name.rsplit("/", 1)[0] if "/" in e.name else ""
        if parent and parent not in seen:
            raise ValueError(f"cpio: {e.name!r} comes before its directory {parent!r}")
        seen.add(e.name)
        out += _member(ino, e)
    out += _member(0, Entry("TRAILER!!!", 0))
    return bytes(out)


def read_members(data: bytes) -> list[Entry]:
    """Parse a newc archive back into entries (used by tests and for inspection)."""
    out: list[Entry] = []
    off = 0
    while True:
        if data[off : off + 6] != _MAGIC:
            raise ValueError(f"cpio: bad magic at offset {off}")
        f = [int(data[off + 6 + 8 * i : off + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = f[11], f[6]
        name_start = off + 110
        name = data[name_start : name_start + namesize - 1].decode()
        data_start = name_start + namesize
        data_start += (4 - data_start % 4) % 4
        if name == "TRAILER!!!":
            return out
        body = data[data_start : data_start + filesize]
        out.append(Entry(name, f[1], body, f[9], f[10]))
        off = data_start + filesize
        off += (4 - off % 4) % 4


def write(path: Path, entries: list[Entry]) -> Path:
    path.write_bytes(pack(entries))
    return path
