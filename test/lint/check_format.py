#!/usr/bin/env python3
"""check_format.py: every C/C++ source of the tree is formatted as .clang-format says.

Runs `clang-format --dry-run --Werror` (clang-format 14, Debian 12's) over
the .c/.cpp/.h files below the source folders and lists each file it would
change. To fix: `clang-format -i FILE`. Build folders (any folder holding a
build.ninja or named build*) are skipped.

Usage: check_format.py CLANG_FORMAT ROOT
"""
import os
import subprocess
import sys

FOLDERS = ["microkernel", "libcap", "servers", "support", "schema", "benchmarks", "test", "harness"]
SUFFIXES = (".c", ".cpp", ".h")


def sources(root: str) -> list[str]:
    out = []
    for top in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith("build") and not d.startswith(".")
                                 and not os.path.exists(os.path.join(dirpath, d, "build.ninja")))
            out += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(SUFFIXES)]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    clang_format, root = argv
    files = sources(root)
    if not files:
        print(f"check_format: no sources found below {root}")
        return 1
    bad = []
    for i in range(0, len(files), 64):
        chunk = files[i:i + 64]
        r = subprocess.run([clang_format, "--dry-run", "--Werror", f"--style=file:{os.path.join(root, '.clang-format')}"]
                           + chunk, capture_output=True, text=True)
        if r.returncode != 0:
            for f in chunk:
                if f + ":" in r.stderr:
                    bad.append(os.path.relpath(f, root))
            if not any(os.path.join(root, b) in chunk for b in bad):
                print(r.stderr[-2000:])
                return 1
    print(f"check_format: {len(files)} files checked against .clang-format, {len(bad)} not formatted")
    for b in bad:
        print(f"  not formatted: {b} (clang-format -i {b})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
