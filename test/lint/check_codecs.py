#!/usr/bin/env python3
"""check_codecs.py: Cap'n Proto layouts only through generated code, and user space off kernel internals.

Two rules (issue 14), checked over microkernel/, libcap/, servers/, benchmarks/ and test/guest/:

  hand codec   a use of the old hand-written single-segment wire
               reader/builder (an include of lib/capnp_wire.h, deleted, or a
               `wire::` name), a struct laid out by position through the
               schema runtime's raw API (root_pointer(), init_struct/
               get_struct, set<T>(index)/get<T>(index), set_bool/get_bool
               with a bit number), or one of the generated interface ids
               (read from the generated headers given by --gen) written as a
               literal. Field positions and interface ids come from
               capnpc-capos output; schema/runtime is not scanned.
  kernel include
               a user-space file (libcap/, servers/, benchmarks/, test/guest/)
               including a microkernel header other than microkernel/abi/
               (`#include "lib/...`, "core/...", "object/...", "arch/..."`).

The tree has not been fully converted yet, so the check is a ratchet: the
per-file counts in hand_codec_baseline.txt are the most each file may have,
a file that is not listed may have none, and a count below its baseline is
reported so the baseline can be lowered (`--write-baseline` rewrites it from
the tree). It prints the totals it checks.
"""
import argparse
import pathlib
import re
import sys

ROOTS = ["microkernel", "libcap", "servers", "benchmarks", "test/guest"]
USER_ROOTS = ("libcap/", "servers/", "benchmarks/", "test/guest/")
# Files allowed the raw runtime API, each with its reason.
RAW_ALLOWED = {
    # words_msg: the hand-made params of the tests that drive the raw ABI
    # and of the in-guest fuzzer (see guest.h); production code never uses it.
    "test/guest/guest.cpp",
}
SUFFIXES = {".cpp", ".h", ".cc", ".hpp"}

HAND = [
    re.compile(r'#\s*include\s+"lib/capnp_wire\.h"'),
    re.compile(r"\bwire::(?:Reader|Builder|StructView|Struct)\b"),
]
RAW = [
    re.compile(r"\broot_pointer\(\)"),
    re.compile(r"\b(?:init_struct|get_struct)\s*\("),
    re.compile(r"\.(?:set|get)<\s*(?:u?int(?:8|16|32|64)_t|bool|float|double)\s*>\s*\("),
    re.compile(r"\b(?:set_bool|get_bool)\s*\(\s*\d"),
]
HEX = re.compile(r"\b0x([0-9a-fA-F]{16})(?:u?ll|ull|ULL)?\b")


def interface_ids(gen: pathlib.Path) -> set[int]:
    """Every interface id capnpc-capos generated (kInterfaceId = 0x...ull)."""
    ids: set[int] = set()
    for h in gen.glob("*.capnp.h"):
        for m in re.finditer(r"kInterfaceId = 0x([0-9a-fA-F]{16})ull", h.read_text()):
            ids.add(int(m.group(1), 16))
    return ids
KERNEL_INCLUDE = re.compile(r'#\s*include\s+"(?:lib|core|object|arch)/')


def count(root: pathlib.Path, ids: set[int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for top in ROOTS:
        for p in sorted((root / top).rglob("*")):
            if p.suffix not in SUFFIXES or not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            text = p.read_text(errors="replace")
            hand = sum(len(r.findall(text)) for r in HAND)
            if rel not in RAW_ALLOWED:
                hand += sum(len(r.findall(text)) for r in RAW)
            # An interface id written by hand instead of taken from the generated header.
            hand += sum(1 for m in HEX.finditer(text) if int(m.group(1), 16) in ids)
            kinc = len(KERNEL_INCLUDE.findall(text)) if rel.startswith(USER_ROOTS) else 0
            if hand or kinc:
                out[rel] = {"hand": hand, "kinclude": kinc}
    return out


def read_baseline(path: pathlib.Path) -> dict[str, dict[str, int]]:
    base: dict[str, dict[str, int]] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        rel, hand, kinc = line.split()
        base[rel] = {"hand": int(hand), "kinclude": int(kinc)}
    return base


def write_baseline(path: pathlib.Path, counts: dict[str, dict[str, int]]) -> None:
    lines = ["# test/lint/hand_codec_baseline.txt: the most hand-codec uses and kernel includes each file may",
             "# still have (check_codecs.py). Lower a count when a file is converted; never raise one.",
             "# path  hand  kernel-includes"]
    for rel, c in sorted(counts.items()):
        lines.append(f"{rel} {c['hand']} {c['kinclude']}")
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[2])
    ap.add_argument("--baseline", type=pathlib.Path,
                    default=pathlib.Path(__file__).resolve().parent / "hand_codec_baseline.txt")
    ap.add_argument("--gen", type=pathlib.Path, required=True,
                    help="directory of the generated headers (build/schema/gen/capos/schema)")
    ap.add_argument("--write-baseline", action="store_true")
    a = ap.parse_args()
    ids = interface_ids(a.gen)
    if len(ids) < 10:
        print(f"check_codecs: only {len(ids)} interface ids under {a.gen}: wrong --gen?")
        return 2
    counts = count(a.root, ids)
    if a.write_baseline:
        write_baseline(a.baseline, counts)
        print(f"check_codecs: wrote {a.baseline} ({len(counts)} files)")
        return 0
    base = read_baseline(a.baseline)
    bad, lower = [], []
    for rel, c in sorted(counts.items()):
        b = base.get(rel, {"hand": 0, "kinclude": 0})
        for key, what in (("hand", "hand-codec uses"), ("kinclude", "microkernel includes outside abi/")):
            if c[key] > b[key]:
                bad.append(f"{rel}: {c[key]} {what}, allowed {b[key]}")
            elif c[key] < b[key]:
                lower.append(f"{rel}: {c[key]} {what}, baseline {b[key]}")
    for rel, b in sorted(base.items()):
        if rel not in counts and (b["hand"] or b["kinclude"]):
            lower.append(f"{rel}: 0, baseline {b['hand']} {b['kinclude']}")
    total_hand = sum(c["hand"] for c in counts.values())
    total_kinc = sum(c["kinclude"] for c in counts.values())
    allowed_hand = sum(b["hand"] for b in base.values())
    allowed_kinc = sum(b["kinclude"] for b in base.values())
    print(f"check_codecs: {len(ids)} generated interface ids; hand-codec uses {total_hand} (allowed {allowed_hand}) in "
          f"{sum(1 for c in counts.values() if c['hand'])} files; microkernel includes from user space "
          f"{total_kinc} (allowed {allowed_kinc})")
    for line in lower:
        print(f"  below baseline (lower it): {line}")
    for line in bad:
        print(f"  FAIL: {line}")
    if bad:
        print("check_codecs: FAIL: decode and encode with the generated bindings (capos/schema/*.capnp.h) and "
              "take interface ids from them; user space includes only microkernel/abi/ (docs/schema.md)")
        return 1
    print("check_codecs: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
