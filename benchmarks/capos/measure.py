#!/usr/bin/env python3
"""measure.py: capOS guest benchmark runs interleaved with the Linux baseline, medians and 1->n speedups.

A stand-in until `ninja benchmark-smp` exists: for each run k, workload and
CPU count it boots capOS (kernel option utest=smp-process / smp-thread, the
coordinator module variants of benchmarks/capos/meson.build) and then the
Linux baseline in the same QEMU envelope, so both see the same host noise.
Each run line shows the host's foreign load (CPU time used by other work
while the guest ran); nothing is rejected, the figures are for reading.
Writes results.csv / summary.md / plots (harness/capos/report.py) and the raw
serial logs under <build>/benchmarks/guest-<timestamp>/.

    python3 benchmarks/capos/measure.py --build-dir build --cpus 1 2 --runs 3
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from capos import linux_baseline, qemu, report, resultline, stats  # noqa: E402

CAPOS_CASE = {"process": "smp-process", "thread": "smp-thread"}


def run_capos(accel: qemu.Accel, iso: Path, smp: int, workload: str, log: Path, memory: str,
              timeout: float) -> tuple[list[resultline.Record], str | None]:
    spec = qemu.QemuSpec(accel=accel, smp=smp, memory=memory, cpu=accel.default_cpu, iso=iso,
                         cmdline=f"utest={CAPOS_CASE[workload]}",
                         log=log, timeout=timeout)
    res = qemu.run(spec)
    try:
        recs = resultline.parse_text(res.text)
    except resultline.ResultLineError as e:
        return [], f"malformed: {e}"
    meas = [r for r in recs if not isinstance(r, resultline.Env)]
    if res.timed_out:
        return recs, "timeout"
    if res.exit_code != qemu.EXIT_PASS:
        return recs, f"exit {res.exit_name}"
    if len(meas) != 1 or not meas[0].verified:
        return recs, "no verified result line"
    return recs, None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build-dir", required=True)
    p.add_argument("--iso", help="capOS ISO (default <build>/iso/capos.iso)")
    p.add_argument("--cpus", type=int, nargs="+", default=[1, 2])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workloads", nargs="+", default=["process", "thread"], choices=["process", "thread"])
    p.add_argument("--os", nargs="+", default=["capos", "linux"], choices=["capos", "linux"])
    p.add_argument("--memory", default="256M")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--nice", type=int, default=0, help="run QEMU at this nice value (negative shields it)")
    p.add_argument("--boot-retries", type=int, default=3,
                   help="retries of a capOS boot that stopped before printing any result line")
    p.add_argument("--out")
    a = p.parse_args(argv)

    build = Path(a.build_dir).resolve()
    iso = Path(a.iso) if a.iso else build / "iso" / "capos.iso"
    if a.nice:
        linux_baseline.raise_priority(a.nice)
    accel = qemu.detect_accel(build)
    out = Path(a.out) if a.out else build / "benchmarks" / ("guest-" + time.strftime("%Y%m%dT%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    initrd = None
    if "linux" in a.os:
        initrd = linux_baseline.pack_initramfs(linux_baseline.Programs.from_build(build),
                                               build / "benchmarks" / "linux-baseline.cpio")
    host_cpus = os.cpu_count() or 1
    cases = [(k, w, c, o) for k in range(1, a.runs + 1) for w in a.workloads for c in a.cpus for o in a.os]
    samples: list[stats.Sample] = []
    t_start = time.monotonic()
    for i, (k, workload, cpus, osname) in enumerate(cases, start=1):
        log = out / f"{osname}-{workload}-smp{cpus}-run{k}.log"
        load1 = os.getloadavg()[0]
        before = linux_baseline.host_cpu_jiffies()
        t0 = time.monotonic()
        if osname == "capos":
            # A kernel stop before any result line is retried (a boot-time
            # failure of work-in-progress kernel code, not a benchmark result).
            for attempt in range(1, a.boot_retries + 2):
                recs, err = run_capos(accel, iso, cpus, workload, log, a.memory, a.timeout)
                if err is None or recs or attempt > a.boot_retries:
                    break
                print(f"    capos boot failed ({err}), retrying (log kept as {log.name}.boot{attempt})", flush=True)
                log.rename(log.with_name(f"{log.name}.boot{attempt}"))
            tsc = next((r.tsc_hz for r in recs if isinstance(r, resultline.Env)), None)
            meas = [r for r in recs if not isinstance(r, resultline.Env)]
        else:
            assert initrd is not None
            r = linux_baseline.run_case(accel, cpus, workload, initrd, log, memory=a.memory, timeout=a.timeout,
                                        detail=True)
            meas, tsc, err = r.measurements, r.tsc_hz, r.error
        elapsed = time.monotonic() - t0
        foreign = linux_baseline.foreign_load(before, linux_baseline.host_cpu_jiffies(), cpus, host_cpus)
        eta = (time.monotonic() - t_start) / i * (len(cases) - i)
        brief = f"work={meas[0].work / 1e9:.3f}Gcyc total={meas[0].total / 1e9:.3f}Gcyc" if meas else ""
        print(f"[{i}/{len(cases)}] {osname} {workload} cpus={cpus} run {k}/{a.runs}: "
              f"{'ok' if err is None else 'FAIL ' + err} {brief} ({elapsed:.1f}s, ETA {eta:.0f}s, "
              f"loadavg {load1:.1f}, foreign {foreign:.2f} CPUs)", flush=True)
        if err is None:
            samples += [stats.Sample.from_record(m, os=osname, accel=accel.name, run=k, log=str(log), tsc_hz=tsc)
                        for m in meas]
    cases_t = stats.summarize(samples)
    gates = stats.gate_1_to_2(cases_t) if {"capos", "linux"} <= set(a.os) else []
    report.write_all(samples, cases_t, out, host_cores=report.host_cores(), gates=gates, title="capOS guest vs Linux")
    print((out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
