#!/usr/bin/env python3
"""boot.py: boot the capOS ISO once, show the serial console, stop at the boot line (or at --until).

Used by `harness/run boot`. Exits 0 when the kernel printed its boot line
(and, with --until REGEX, when a console line matched REGEX before the
timeout; then every console line is shown, not only the kernel's)."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capos import qemu  # noqa: E402
from capos.serial import find_boot_line  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 usage="%(prog)s [--smp N] [--memory SIZE] [--cpu MODEL] [--machine pc|q35] [--until REGEX] "
                                       "[--uefi] [kernel option ...]")
    ap.add_argument("--build-dir", type=Path, default=Path("build"))
    ap.add_argument("--smp", default="2", help="QEMU -smp: CPU count or a full -smp value (default 2)")
    ap.add_argument("--memory", default="512M", help="QEMU -m (default 512M)")
    ap.add_argument("--cpu", default=None, help="QEMU -cpu (default: host under KVM, max under TCG)")
    ap.add_argument("--machine", default="q35", help="QEMU -machine: q35 (default) or pc")
    ap.add_argument("--uefi", action="store_true", help="boot through OVMF (UEFI) instead of SeaBIOS")
    ap.add_argument("--cmdline", default=None, help="the kernel command line as one string")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--until", default=None, metavar="REGEX",
                    help="run on until a console line matches REGEX (e.g. 'system up'), then show the whole console")
    ap.add_argument("options", nargs="*", metavar="kernel option", help="kernel command line words, e.g. test=paging")
    args = ap.parse_intermixed_args(argv)
    if args.cmdline is not None and args.options:
        ap.error("give the kernel command line either as words or with --cmdline, not both")
    args.cmdline = args.cmdline if args.cmdline is not None else " ".join(args.options)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    build = args.build_dir.resolve()
    iso = build / "iso" / "capos.iso"
    acc = qemu.detect_accel(build, iso)
    print(f"[boot] accelerator: {acc.name} ({acc.reason})", flush=True)
    spec = qemu.QemuSpec(accel=acc, smp=args.smp, memory=args.memory, cpu=args.cpu or acc.default_cpu, iso=iso,
                         cmdline=args.cmdline, log=build / "boot.log", timeout=args.timeout,
                         machine=args.machine, uefi=args.uefi)
    until = re.compile(args.until, re.M) if args.until else None
    if until is None:
        res = qemu.run(spec, lambda text: "boot" if find_boot_line(text) else None)
    else:
        res = qemu.run(spec, lambda text: "until" if until.search(text) else None)
    for line in res.text.splitlines():
        if until is not None or line.startswith("[capos]") or line.startswith("[ktest]"):
            print(line)
    boot = find_boot_line(res.text)
    if boot is None:
        print(f"[boot] no boot line ({res.exit_name}); last 40 lines:\n{qemu.tail(res.text)}")
        return 1
    print(f"[boot] capOS booted: cpus={boot.cpus} mem={boot.mem_mib} MiB in {res.elapsed:.1f}s")
    if until is not None and not until.search(res.text):
        print(f"[boot] no console line matched --until {args.until!r} within {args.timeout:.0f} s ({res.exit_name})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
