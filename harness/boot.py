#!/usr/bin/env python3
"""boot.py: boot the capOS ISO once, stream the serial console, stop at the boot line.

Used by `harness/run boot`. Exits 0 when the kernel printed its boot line."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capos import qemu  # noqa: E402
from capos.serial import find_boot_line  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", type=Path, default=Path("build"))
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--cmdline", default="")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    build = args.build_dir.resolve()
    iso = build / "iso" / "capos.iso"
    acc = qemu.detect_accel(build, iso)
    print(f"[boot] accelerator: {acc.name} ({acc.reason})", flush=True)
    spec = qemu.QemuSpec(accel=acc, smp=args.smp, memory=args.memory, cpu=acc.default_cpu, iso=iso,
                         cmdline=args.cmdline, log=build / "boot.log", timeout=args.timeout)
    res = qemu.run(spec, lambda text: "boot" if find_boot_line(text) else None)
    for line in res.text.splitlines():
        if line.startswith("[capos]") or line.startswith("[ktest]"):
            print(line)
    boot = find_boot_line(res.text)
    if boot is None:
        print(f"[boot] no boot line ({res.exit_name}); last 40 lines:\n{qemu.tail(res.text)}")
        return 1
    print(f"[boot] capOS booted: cpus={boot.cpus} mem={boot.mem_mib} MiB in {res.elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
