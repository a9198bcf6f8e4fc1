#!/usr/bin/env python3
"""micro_compare.py: capOS micro-benchmarks of two builds, interleaved, with intervals (before/after a change).

    harness/micro_compare.py --build-dir build --before old/capos.iso --after build/iso/capos.iso --cycles 4

Boots the two ISOs with utest=bench alternately in ABBA order (A B B A, per
cycle), under the same accelerator, -smp, -m and -cpu, so host drift hits
both alike. Per case it prints the median over boots of each build's
per-boot medians (ns, from each boot's own TSC rate) and after/before with
its 95 % bootstrap interval over boots (harness/capos/stats.py). Output:
results.csv, summary.md and the serial logs in --out. A measurement, not a
test.

Under TCG the single-operation cases move by 10-20 % when only the code's
placement changes (docs/micro-benchmarks.md, "Code placement"): compare two
changes at more than one placement before calling a difference of that size
a regression.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_micro  # noqa: E402
from capos import stats  # noqa: E402


def abba(cycles: int) -> list[str]:
    """The boot order: A B B A per cycle."""
    return [w for _ in range(cycles) for w in ("A", "B", "B", "A")]


def compare(samples: dict[str, dict[str, list[float]]]) -> list[tuple[str, float, int, float, int, stats.Interval]]:
    """Per case present in both builds: before median, n, after median, n, after/before with its interval."""
    rows = []
    for name in sorted(set(samples["A"]) & set(samples["B"])):
        a, b = samples["A"][name], samples["B"][name]
        rows.append((name, stats.median(a), len(a), stats.median(b), len(b), stats.speedup_interval(b, a)))
    return rows


def table_md(rows: list[tuple[str, float, int, float, int, stats.Interval]]) -> str:
    out = ["| case | before median ns (boots) | after median ns (boots) | after/before [95 % CI] |",
           "|---|---:|---:|---|"]
    for name, ma, na, mb, nb, iv in rows:
        out.append(f"| {name} | {ma:.0f} ({na}) | {mb:.0f} ({nb}) | {iv.fmt(3)} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from capos import qemu

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", type=Path, required=True, help="for the accelerator probe's cache")
    ap.add_argument("--before", type=Path, required=True, help="ISO A")
    ap.add_argument("--after", type=Path, required=True, help="ISO B")
    ap.add_argument("--cycles", type=int, default=4, help="ABBA cycles (2 boots of each ISO per cycle)")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--cpu", default=None, help="QEMU -cpu (default: max under TCG, host under KVM)")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    out = a.out or a.build_dir / "benchmarks" / ("micro-compare-" + time.strftime("%Y%m%dT%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    isos = {"A": a.before, "B": a.after}
    acc = qemu.detect_accel(a.build_dir, a.after)
    cpu = a.cpu or acc.default_cpu
    load0 = os.getloadavg()[0]
    print(f"[micro-compare] accel={acc.name} smp={a.smp} m={a.memory} cpu={cpu} cycles={a.cycles} "
          f"host_cores={os.cpu_count()} host_load={load0:.2f} out={out}", flush=True)
    samples: dict[str, dict[str, list[float]]] = {"A": {}, "B": {}}
    csv_rows: list[list[object]] = []
    failures = 0
    for n, which in enumerate(abba(a.cycles), start=1):
        log = out / f"{which}-boot{n}.log"
        spec = qemu.QemuSpec(accel=acc, smp=a.smp, memory=a.memory, cpu=cpu, iso=isos[which],
                             cmdline="utest=bench", log=log, timeout=a.timeout)
        res = qemu.run(spec)
        cases = bench_micro.parse_cases(res.text)
        khz = bench_micro.parse_tsc_khz(res.text, "capos")
        if res.exit_code != qemu.EXIT_PASS or khz is None or not cases:
            failures += 1
            print(f"[micro-compare] {which} boot {n}: FAILED ({res.exit_name}); log {log}", flush=True)
            continue
        for c in cases.values():
            ns = bench_micro.cycles_to_ns(c.cycles, khz)
            samples[which].setdefault(c.name, []).append(ns)
            csv_rows.append([acc.name, a.smp, which, str(isos[which]), n, c.name, c.cycles, f"{ns:.0f}", khz])
        print(f"[micro-compare] {which} boot {n} ok ({res.elapsed:.1f}s)", flush=True)
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["accel", "smp", "build", "iso", "boot", "case", "median_cycles", "median_ns", "tsc_khz"])
        w.writerows(csv_rows)
    load1 = os.getloadavg()[0]
    md = (f"# capOS micro-benchmarks, before/after\n\nbefore (A) {a.before}, after (B) {a.after}; accel={acc.name}, "
          f"-smp {a.smp}, -m {a.memory}, -cpu {cpu}; {a.cycles} ABBA cycles; host {os.cpu_count()} cores, load "
          f"average {load0:.2f} before, {load1:.2f} after\n\n{table_md(compare(samples))}\n")
    (out / "summary.md").write_text(md)
    print()
    print(md)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
