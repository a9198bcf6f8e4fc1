#!/usr/bin/env python3
"""check_codecs.py: Cap'n Proto layouts only through generated code, and user space off kernel internals.

Three rules (issue 14), checked over microkernel/, libcap/, servers/, benchmarks/ and test/guest/:

  hand codec   a use of the old hand-written single-segment wire
               reader/builder (an include of lib/capnp_wire.h, deleted, or a
               `wire::` name), a struct laid out by position through the
               schema runtime's raw API (root_pointer(), init_struct/
               get_struct, set<T>(index)/get<T>(index), set_bool/get_bool
               with a bit number), or one of the generated interface ids
               (read from the generated headers given by --gen) written as a
               literal. Field positions and interface ids come from
               capnpc-capos output; schema/runtime is not scanned.
  hand ordinal in production code (not test/guest/, whose raw-ABI tests
               send unknown and hand-picked methods on purpose): a method
               ordinal written as a number, `Method{iface, 3}` or
               `raw_call(cap, iface, 3, ...)`.
  kernel include
               a user-space file (libcap/, servers/, benchmarks/, test/guest/)
               including a microkernel header other than microkernel/abi/
               (`#include "sched/...`, "cap/...", "object/...", "arch/..."`, any of the
               kernel's folders).
               Code both sides compile lives in support/ (support/README.md).

Any finding fails the check; it prints the totals it checks. `--self-test`
runs the rules over a small tree of known violations first and fails if one
is missed, so the check itself is shown to be able to fail.
"""
import argparse
import pathlib
import re
import sys
import tempfile

ROOTS = ["microkernel", "libcap", "servers", "benchmarks", "test/guest"]
USER_ROOTS = ("libcap/", "servers/", "benchmarks/", "test/guest/")
TEST_ROOTS = ("test/guest/",)
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
ORDINAL = [
    re.compile(r"\bMethod\s*\{[^,{}]+,\s*\d+\s*\}"),
    re.compile(r"\braw_call\s*\([^,()]+,\s*[A-Za-z_][\w:]*\s*,\s*\d+\s*[,)]"),
]
HEX = re.compile(r"\b0x([0-9a-fA-F]{16})(?:u?ll|ull|ULL)?\b")
KERNEL_INCLUDE = re.compile(r'#\s*include\s+"(?:boot|cpu|mm|sched|ipc|cap|object|debug|ktest|lib|arch)/')


def interface_ids(gen: pathlib.Path) -> set[int]:
    """Every interface id capnpc-capos generated (kInterfaceId = 0x...ull)."""
    ids: set[int] = set()
    for h in gen.glob("*.capnp.h"):
        for m in re.finditer(r"kInterfaceId = 0x([0-9a-fA-F]{16})ull", h.read_text()):
            ids.add(int(m.group(1), 16))
    return ids


def scan(rel: str, text: str, ids: set[int]) -> dict[str, int]:
    """The findings of one file, by rule."""
    hand = sum(len(r.findall(text)) for r in HAND)
    if rel not in RAW_ALLOWED:
        hand += sum(len(r.findall(text)) for r in RAW)
    # An interface id written by hand instead of taken from the generated header.
    hand += sum(1 for m in HEX.finditer(text) if int(m.group(1), 16) in ids)
    ordinal = 0 if rel.startswith(TEST_ROOTS) else sum(len(r.findall(text)) for r in ORDINAL)
    kinc = len(KERNEL_INCLUDE.findall(text)) if rel.startswith(USER_ROOTS) else 0
    return {"hand": hand, "ordinal": ordinal, "kinclude": kinc}


def count(root: pathlib.Path, ids: set[int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for top in ROOTS:
        for p in sorted((root / top).rglob("*")):
            if p.suffix not in SUFFIXES or not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            c = scan(rel, p.read_text(errors="replace"), ids)
            if any(c.values()):
                out[rel] = c
    return out


# Known violations, one per rule, each of which must be found.
SELF_TEST = {
    "libcap/a.cpp": ('#include "lib/capnp_wire.h"\n', "hand"),
    "servers/b.cpp": ("s.set<uint32_t>(2, expected);\n", "hand"),
    "servers/c.cpp": ("auto s = msg.init_struct(2, 0);\n", "hand"),
    "benchmarks/d.cpp": ("call(0x{id:016x}ull, 3);\n", "hand"),
    "servers/e.cpp": ("a.method = cap::iface::Method{srv::kEndpoint, 0};\n", "ordinal"),
    "libcap/f.cpp": ("Cqe c = raw_call(t, kTimer, 2, p, n);\n", "ordinal"),
    "test/guest/g.cpp": ('#include "sched/sched.h"\n', "kinclude"),
    "microkernel/h.cpp": ('#include "sched/sched.h"\n', None),  # the kernel may include itself
    "test/guest/i.cpp": ("raw_call(con, kConsole, 77);\n", None),  # raw-ABI tests may
}


def self_test(ids: set[int]) -> bool:
    some_id = min(ids)
    with tempfile.TemporaryDirectory() as d:
        root = pathlib.Path(d)
        for rel, (text, _) in SELF_TEST.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text.replace("{id:016x}", f"{some_id:016x}"))
        found = count(root, ids)
    ok = True
    for rel, (_, rule) in SELF_TEST.items():
        got = found.get(rel, {})
        if rule is None and got:
            print(f"check_codecs: self-test: {rel} flagged {got}, expected nothing")
            ok = False
        elif rule is not None and got.get(rule, 0) != 1:
            print(f"check_codecs: self-test: {rel} not flagged as {rule} ({got})")
            ok = False
    print(f"check_codecs: self-test {'ok' if ok else 'FAIL'} ({len(SELF_TEST)} cases)")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[2])
    ap.add_argument("--gen", type=pathlib.Path, required=True,
                    help="directory of the generated headers (build/schema/gen/capos/schema)")
    ap.add_argument("--self-test", action="store_true", help="first check the rules against known violations")
    a = ap.parse_args()
    ids = interface_ids(a.gen)
    if len(ids) < 10:
        print(f"check_codecs: only {len(ids)} interface ids under {a.gen}: wrong --gen?")
        return 2
    if a.self_test and not self_test(ids):
        return 1
    counts = count(a.root, ids)
    total = {k: sum(c[k] for c in counts.values()) for k in ("hand", "ordinal", "kinclude")}
    print(f"check_codecs: {len(ids)} generated interface ids; hand-codec uses {total['hand']}, hand method "
          f"ordinals {total['ordinal']}, microkernel includes from user space {total['kinclude']} (allowed 0 each)")
    for rel, c in sorted(counts.items()):
        print(f"  FAIL: {rel}: {c['hand']} hand-codec uses, {c['ordinal']} hand ordinals, "
              f"{c['kinclude']} microkernel includes outside abi/")
    if counts:
        print("check_codecs: FAIL: decode and encode with the generated bindings (capos/schema/*.capnp.h), take "
              "interface ids and ordinals from them; user space includes only microkernel/abi/ and support/ "
              "(docs/schema.md)")
        return 1
    print("check_codecs: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
