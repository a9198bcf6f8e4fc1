#!/usr/bin/env python3
"""boottest.py: one bounded QEMU boot test of the capOS ISO.

Boots the ISO with the given -smp/-m/-cpu and kernel command line, waits for
QEMU to exit (isa-debug-exit) or for the timeout, then checks the exit status
and the serial log against expectations. On failure prints why and the last
40 log lines. QEMU is always killed."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capos import qemu  # noqa: E402
from capos.serial import find_panic  # noqa: E402

EXPECT_EXIT = {"pass": qemu.EXIT_PASS, "fail": qemu.EXIT_FAIL, "stop": qemu.EXIT_STOP}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--iso", type=Path, required=True)
    ap.add_argument("--build-dir", type=Path, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--smp", default="1", help="QEMU -smp value, e.g. 2 or 2,maxcpus=4")
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--cpu", default=None, help="QEMU -cpu (default: max under TCG, host under KVM)")
    ap.add_argument("--cmdline", default="")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--exit", dest="expect_exit", choices=sorted(EXPECT_EXIT) + ["none", "ended"], default="pass",
                    help="expected outcome; 'none' means QEMU keeps running and --until ends it; 'ended' "
                         "accepts pass or fail (a test that ran to its end under injected faults)")
    ap.add_argument("--until", action="append", default=[],
                    help="regex: stop QEMU once the log matches it; given more than once, once it matches each "
                         "(in any order: two servers' lines may interleave)")
    ap.add_argument("--expect", action="append", default=[], help="regex the log must match")
    ap.add_argument("--reject", action="append", default=[], help="regex the log must not match")
    ap.add_argument("--accel", default=None, help="force an accelerator (kvm, tcg-mt, tcg)")
    ap.add_argument("--machine", default="q35", help="QEMU -machine (default q35; or pc)")
    ap.add_argument("--uefi", action="store_true", help="boot through OVMF (UEFI) instead of SeaBIOS")
    args = ap.parse_args()

    logdir = args.build_dir / "test-logs"
    logdir.mkdir(parents=True, exist_ok=True)
    if args.accel:
        acc = {"kvm": qemu.KVM, "tcg-mt": qemu.TCG_MT, "tcg": qemu.TCG_ST}[args.accel]
    else:
        acc = qemu.detect_accel(args.build_dir, args.iso)
    cpu = args.cpu or acc.default_cpu
    if acc.name == "kvm" and args.cpu and args.cpu.startswith("max"):
        cpu = args.cpu.replace("max", "host", 1)
    spec = qemu.QemuSpec(accel=acc, smp=args.smp, memory=args.memory, cpu=cpu, iso=args.iso,
                         cmdline=args.cmdline, log=logdir / f"{args.name}.log", timeout=args.timeout,
                         symbols=args.build_dir / "microkernel" / "capos.elf",
                         machine=args.machine, uefi=args.uefi)
    until_res = [re.compile(u, re.M) for u in args.until]

    def until(text: str) -> str | None:
        last = None
        for r in until_res:
            m = r.search(text)
            if m is None:
                return None
            last = m.group(0)
        return last

    print(f"[boottest] {args.name}: accel={acc.name} machine={args.machine} "
          f"firmware={'uefi' if args.uefi else 'bios'} smp={args.smp} m={args.memory} cpu={cpu} "
          f"cmdline={args.cmdline!r}", flush=True)
    res = qemu.run(spec, until if until_res else None)
    problems: list[str] = []
    if args.expect_exit == "none":
        if res.matched is None:
            missing = [u for u, r in zip(args.until, until_res) if r.search(res.text) is None]
            problems.append(f"log never matched {' and '.join(repr(u) for u in missing)} "
                            f"({res.exit_name} after {res.elapsed:.1f}s)")
    else:
        want = EXPECT_EXIT.get(args.expect_exit)
        if res.timed_out:
            problems.append(f"timed out after {args.timeout:.0f}s")
        elif args.expect_exit == "ended":
            if res.exit_code not in (qemu.EXIT_PASS, qemu.EXIT_FAIL):
                problems.append(f"expected exit pass or fail, got {res.exit_name}")
        elif res.exit_code != want:
            problems.append(f"expected exit '{args.expect_exit}' ({want}), got {res.exit_name}")
    for pat in args.expect:
        if re.search(pat, res.text, re.M) is None:
            problems.append(f"log does not match {pat!r}")
    for pat in args.reject:
        m = re.search(pat, res.text, re.M)
        if m is not None:
            problems.append(f"log matches forbidden {pat!r}: {m.group(0)!r}")
    if args.expect_exit != "stop":
        p = find_panic(res.text)
        if p is not None and not any(re.search(e, p) for e in args.expect):
            problems.append(f"kernel reported: {p}")
    if problems:
        print(f"[boottest] {args.name}: FAIL")
        for p in problems:
            print(f"  - {p}")
        print(f"--- last 40 lines of {res.log} ---")
        print(qemu.tail(res.text, 40))
        dump = [line for line in res.text.splitlines() if line.startswith("[hang-dump]")]
        if dump and not any(line.startswith("[hang-dump]") for line in res.text.splitlines()[-40:]):
            print("\n".join(dump))
        return 1
    print(f"[boottest] {args.name}: ok ({res.exit_name}, {res.elapsed:.1f}s, log {res.log})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
