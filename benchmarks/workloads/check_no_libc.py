#!/usr/bin/env python3
"""benchmarks/workloads/check_no_libc.py — fail if the freestanding workload object needs libc symbols."""
import subprocess
import sys

# The compiler may emit these even for -ffreestanding code; libcap provides them.
ALLOWED = {"memset", "memcpy", "memmove", "memcmp"}


def main() -> int:
    nm, archive = sys.argv[1], sys.argv[2]
    out = subprocess.run([nm, "-u", archive], check=True, capture_output=True, text=True).stdout
    undefined = {line.split()[-1] for line in out.splitlines() if line.strip() and not line.endswith(":")}
    bad = sorted(undefined - ALLOWED)
    if bad:
        print(f"freestanding workload code references: {', '.join(bad)}")
        return 1
    print(f"ok: no libc references ({len(undefined)} allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
