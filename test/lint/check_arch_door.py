#!/usr/bin/env python3
"""check_arch_door.py: generic kernel code reaches the hardware only through arch/interface/.

The rule (issue 15 point 4): no file of microkernel/ outside microkernel/arch/
includes a header of an architecture's own folder (`#include "arch/x86_64/..."`,
with quotes or angle brackets, with or without a leading path). Generic code
includes arch/interface/*.h, whose x86_64 side is checked at compile time
there (static_asserts in the interface headers, arch/x86_64/implements.h in
the implementing .cpp files).

Any finding fails the check and is printed as path:line. `--self-test` first
runs the rule over a small tree with a planted include (and with includes the
rule must allow) and fails if it misses or over-reports, so the check is
shown to be able to fail.
"""
import argparse
import pathlib
import re
import sys
import tempfile

SUFFIXES = {".cpp", ".h", ".cc", ".hpp", ".S"}
# Any architecture's own folder under arch/ (everything but interface/).
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"](?:[\w./-]*/)?arch/(?!interface/)[\w-]+/', re.M)


def findings(root: pathlib.Path) -> list[str]:
    kernel = root / "microkernel"
    out = []
    for p in sorted(kernel.rglob("*")):
        if p.suffix not in SUFFIXES or not p.is_file():
            continue
        rel = p.relative_to(kernel).as_posix()
        if rel.startswith("arch/"):
            continue
        text = p.read_text(errors="replace")
        for m in INCLUDE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            out.append(f"microkernel/{rel}:{line}: {text.splitlines()[line - 1].strip()}")
    return out


def self_test() -> bool:
    cases = {
        # Must be found.
        "microkernel/sched/planted.cpp": '#include "arch/x86_64/paging.h"\n',
        "microkernel/mm/planted_angle.h": "#pragma once\n  #  include <arch/x86_64/tlb.h>\n",
        "microkernel/ipc/planted_path.cpp": '#include "../arch/x86_64/syscall.h"\n',
        "microkernel/boot/planted_other_arch.cpp": '#include "arch/aarch64/mmu.h"\n',
        # Must be allowed.
        "microkernel/object/fine.cpp": '#include "arch/interface/paging.h"\n// #include "arch/x86_64/x.h" in a comment\n',
        "microkernel/arch/x86_64/fine.cpp": '#include "arch/x86_64/asm.h"\n',
        "microkernel/arch/interface/fine.h": '#include "arch/x86_64/smp.h"\n',
    }
    with tempfile.TemporaryDirectory() as d:
        root = pathlib.Path(d)
        for rel, text in cases.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        got = {f.split(":")[0] for f in findings(root)}
    want = {rel for rel in cases if "planted" in rel}
    if got != want:
        print(f"self-test FAILED: found {sorted(got)}, expected {sorted(want)}", file=sys.stderr)
        return False
    print(f"self-test ok: {len(want)} planted includes found, {len(cases) - len(want)} allowed ones not reported")
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[2])
    ap.add_argument("--self-test", action="store_true", help="first check the rule against planted includes")
    a = ap.parse_args()
    if a.self_test and not self_test():
        return 1
    found = findings(a.root)
    for f in found:
        print(f"arch door: {f}")
    print(f"generic files including an architecture's own headers: {len(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
