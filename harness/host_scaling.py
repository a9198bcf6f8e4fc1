#!/usr/bin/env python3
"""host_scaling.py: the host's own 1->2 scaling of the benchmark workloads, no guest at all.

Runs the Linux baseline's static programs (build/benchmarks/smp-process-scale,
smp-thread-scale) directly on this host, in the paired ABBA design the gate
uses (`--paired 2`: 1,2,2,1,1,2,2,1 workers), several times, and prints each
invocation's speedup (mean work at 1 worker / mean at 2) and their mean with
the same 95 % bootstrap interval as `harness/run bench`. This is the ceiling
and the noise floor the host itself sets: under multi-threaded TCG each
vCPU is one host thread, so no guest can scale better, or measure more
steadily, than this.

    python3 harness/host_scaling.py --build-dir build --reps 5
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capos import resultline, stats  # noqa: E402
from capos.hostload import Meter  # noqa: E402

PROGRAMS = {"process": "smp-process-scale", "thread": "smp-thread-scale"}


def speedup_of(text: str) -> tuple[float, list[int], list[int]]:
    """Mean work of the 1-worker runs / mean of the 2-worker runs in one paired invocation's output."""
    w1: list[int] = []
    w2: list[int] = []
    for r in resultline.results(text):
        if r.parallelism in (1, 2):
            (w1 if r.parallelism == 1 else w2).append(r.work)
    if not w1 or not w2:
        raise ValueError("no 1-worker or no 2-worker run in the output")
    return stats.mean([float(w) for w in w1]) / stats.mean([float(w) for w in w2]), w1, w2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", type=Path, default=Path("build"))
    ap.add_argument("--reps", type=int, default=5, help="paired invocations per workload (default 5)")
    ap.add_argument("--workloads", nargs="+", choices=sorted(PROGRAMS), default=sorted(PROGRAMS))
    a = ap.parse_args(argv)
    meter = Meter()  # children (the measured programs) count as our own
    for wl in a.workloads:
        exe = a.build_dir / "benchmarks" / PROGRAMS[wl]
        if not exe.is_file():
            print(f"[host-scaling] {exe} not built (ninja -C {a.build_dir})", file=sys.stderr)
            return 1
        speedups = []
        for k in range(a.reps):
            t0 = time.monotonic()
            out = subprocess.run([str(exe), "--paired", "2"], capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                print(f"[host-scaling] {wl} rep {k + 1}: exit {out.returncode}: {out.stderr.strip()}", file=sys.stderr)
                return 1
            sp, w1, w2 = speedup_of(out.stdout)
            speedups.append(sp)
            print(f"[host-scaling] {wl} rep {k + 1}/{a.reps}: speedup {sp:.4f}x, 1-worker work "
                  f"{min(w1) / 1e6:,.0f}-{max(w1) / 1e6:,.0f} Mcyc, 2-worker {min(w2) / 1e6:,.0f}-"
                  f"{max(w2) / 1e6:,.0f} Mcyc ({time.monotonic() - t0:.1f}s)", flush=True)
        iv = stats.mean_interval(speedups)
        print(f"[host-scaling] {wl}: host 1->2 speedup {iv.fmt(suffix='x')} over {len(speedups)} paired invocations "
              f"(per invocation {', '.join(f'{s:.3f}' for s in speedups)})", flush=True)
    print(f"[host-scaling] other host work: {meter.stop().describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
