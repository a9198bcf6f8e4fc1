#!/usr/bin/env python3
"""check_bench_trace.py: the benchmark's --trace path in one boot, checked on the host.

Boots bench-smoke-fair-share with placement=slice_ms=8,trace=1 (what
`harness/bench.py --trace --policy fair-share:slice_ms=8` passes): the server
records from just before it attaches, the coordinator asks for the dump after
its last window (Placement.traceDump), and the dump is in the log before the
coordinator's last line. Then, on the host, the harness's own code
(harness/capos/placement_trace.py) takes the dump and runs placement-tool:
the replay under fair-share:slice_ms=8 must be IDENTICAL, with records and
none lost. A second boot without trace=1 must answer "not recorded" and dump
nothing.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "harness"))
from capos import placement_trace  # noqa: E402

SPEC = "fair-share:slice_ms=8"


def boot(args: argparse.Namespace, name: str, cmdline: str, expect: list[str], reject: list[str]) -> str | None:
    cmd = [sys.executable, args.boottest, "--iso", args.iso, "--build-dir", args.build_dir, "--name", name,
           "--timeout", "120", "--smp", "2", "--memory", "256M", "--cmdline", cmdline, "--exit", "none",
           "--until", r"^\[utest\] smp-bench [0-9]+ passed, [0-9]+ failed$"]
    for e in expect:
        cmd += ["--expect", e]
    for r in reject:
        cmd += ["--reject", r]
    if subprocess.run(cmd).returncode != 0:
        return None
    log = Path(args.build_dir) / "test-logs" / f"{name}.log"
    return log.read_text(errors="replace") if log.exists() else ""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iso", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--boottest", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--name", required=True)
    a = ap.parse_args()
    common_reject = [r"PANIC|EXCEPTION vector|verified=false|\[placement\] fallback"]
    traced = boot(a, a.name, placement_trace.cmdline_with_trace("manifest=bench-smoke-fair-share placement=slice_ms=8"),
                  [r"^\[placement\] fair-share v[0-9]+ serving epoch 1 on 2 cpus .* args=slice_ms=8$",
                   r"^\[placement\] fair-share: trace dumped in [0-9]+ ms$",
                   r"(?s)^\[strace\] tsc_hz=[0-9]+\n.*^\[bench\] placement trace: dumped\n\[utest\] smp-bench 2 passed, 0 failed$"],
                  common_reject + [r"trace=1 but the kernel refused|traceDump refused"])
    if traced is None:
        print("check_bench_trace: the traced boot failed (see above)")
        return 1
    out = Path(a.build_dir) / "test-logs"
    r = placement_trace.save_and_check(traced, out, a.name, SPEC, Path(a.tool))
    print(f"check_bench_trace: {r.describe()}")
    ok = r.file is not None and r.records > 0 and r.lost == 0 and r.replay == "IDENTICAL"
    if not ok:
        print(f"check_bench_trace: FAIL: want records > 0, lost 0, replay IDENTICAL under {SPEC}")
        return 1
    plain = boot(a, a.name + "_untraced", "manifest=bench-smoke-fair-share",
                 [r"^\[bench\] placement trace: not recorded$"], common_reject + [r"^\[strace\] T "])
    if plain is None:
        print("check_bench_trace: the untraced boot failed (see above)")
        return 1
    if re.search(r"trace dumped in", plain):
        print("check_bench_trace: FAIL: a server without trace=1 dumped a trace")
        return 1
    print("check_bench_trace: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
