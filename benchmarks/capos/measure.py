#!/usr/bin/env python3
"""measure.py: capOS guest benchmark runs interleaved with the Linux baseline, medians and 1->n speedups.

A stand-in until `ninja benchmark-smp` exists: for each run k, workload and
CPU count it boots capOS (kernel option utest=smp-process / smp-thread, the
coordinator module variants of benchmarks/capos/meson.build) and then the
Linux baseline in the same QEMU envelope, so both see the same host noise.
Each run line shows the host's load and the run's vCPU wait (how long
QEMU's vCPU threads sat runnable without a host CPU, from schedstat):
under TCG guest cycles are wall time, so a contended run is slower for
reasons outside the guest. Runs above --max-vcpu-wait are marked CONTENDED
(and left out of the medians with --drop-contended).
Writes results.csv / summary.md / plots (harness/capos/report.py) and the raw
serial logs under <build>/benchmarks/guest-<timestamp>/.

    python3 benchmarks/capos/measure.py --build-dir build --cpus 1 2 --runs 3
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

from capos import linux_baseline, qemu, report, resultline, stats  # noqa: E402

CAPOS_CASE = {"process": "smp-process", "thread": "smp-thread"}


class VcpuSampler:
    """Watches the QEMU whose serial log is `log` and measures how long its
    vCPU threads (the `vcpus` threads that ran longest: QEMU names its
    threads only with -name debug-threads=on) waited for a host CPU while runnable
    (/proc/<pid>/task/<tid>/schedstat: run ns, run-queue wait ns).

    wait_fraction = total wait / (total run + total wait) over the vCPU
    threads: 0 when every vCPU got a host CPU whenever it wanted one, 0.5
    when two busy vCPUs shared one host core. The guest cannot see this
    (TCG has no steal time), and it is what decides whether a run says
    anything about the guest's scaling."""

    def __init__(self, log: Path, vcpus: int) -> None:
        self.log = str(log)
        self.vcpus = vcpus
        self.first: dict[int, tuple[int, int]] = {}
        self.last: dict[int, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "VcpuSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _find_pid(self) -> int | None:
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if b"qemu-system" in cmd and self.log.encode() in cmd:
                return int(d.name)
        return None

    def _sample(self, pid: int) -> None:
        for t in Path(f"/proc/{pid}/task").iterdir():
            try:
                run, wait = (int(x) for x in (t / "schedstat").read_text().split()[:2])
            except (OSError, ValueError):
                continue
            tid = int(t.name)
            self.first.setdefault(tid, (run, wait))
            self.last[tid] = (run, wait)

    def _run(self) -> None:
        pid = None
        while not self._stop.is_set():
            if pid is None:
                pid = self._find_pid()
            if pid is not None:
                try:
                    self._sample(pid)
                except OSError:
                    pass
            self._stop.wait(0.25)

    @property
    def wait_fraction(self) -> float | None:
        busiest = sorted(self.last, key=lambda t: self.last[t][0] - self.first[t][0], reverse=True)[:self.vcpus]
        run = sum(self.last[t][0] - self.first[t][0] for t in busiest)
        wait = sum(self.last[t][1] - self.first[t][1] for t in busiest)
        return wait / (run + wait) if run + wait > 0 else None


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


def print_corrected(csv: Path) -> None:
    """Diagnostic only: medians of work x (1 - vCPU wait) and their 1->n speedups.

    Guest cycles count wall time, including time a vCPU thread sat runnable
    on the host without a CPU; for a guest whose vCPUs compute the whole
    run, work x (1 - wait) approximates the work time on an idle host. It is
    an estimate (the wait covers the whole boot, not just the timed
    window) and never replaces the measured figures."""
    if not csv.exists():
        return
    rows: dict[tuple[str, str, int], list[float]] = {}
    for line in csv.read_text().splitlines():
        osname, workload, cpus, _k, wait, work, _c = line.split(",")
        if wait and work:
            rows.setdefault((osname, workload, int(cpus)), []).append(int(work) * (1.0 - float(wait)))
    print("contention-corrected medians (diagnostic: work x (1 - vCPU wait)):")
    for (osname, workload, cpus), vals in sorted(rows.items()):
        med = stats.median(vals)
        base = rows.get((osname, workload, 1))
        sp = f"{stats.median(base) / med:.3f}x" if base else "-"
        print(f"  {osname:5} {workload:7} cpus={cpus} runs={len(vals)} work~{med / 1e9:.3f}Gcyc speedup~{sp}")


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
    p.add_argument("--max-vcpu-wait", type=float, default=0.05,
                   help="a run whose vCPU threads waited longer than this fraction for a host CPU is CONTENDED")
    p.add_argument("--drop-contended", action="store_true", help="leave CONTENDED runs out of the medians")
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
        sampler = VcpuSampler(log, cpus)
        sampler.__enter__()
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
        sampler.__exit__()
        vwait = sampler.wait_fraction
        contended = vwait is not None and vwait > a.max_vcpu_wait
        foreign = linux_baseline.foreign_load(before, linux_baseline.host_cpu_jiffies(), cpus, host_cpus)
        eta = (time.monotonic() - t_start) / i * (len(cases) - i)
        brief = f"work={meas[0].work / 1e9:.3f}Gcyc total={meas[0].total / 1e9:.3f}Gcyc" if meas else ""
        print(f"[{i}/{len(cases)}] {osname} {workload} cpus={cpus} run {k}/{a.runs}: "
              f"{'ok' if err is None else 'FAIL ' + err} {brief} ({elapsed:.1f}s, ETA {eta:.0f}s, "
              f"loadavg {load1:.1f}, foreign {foreign:.2f} CPUs, "
              f"vCPU wait {'?' if vwait is None else f'{vwait * 100:.0f}%'}"
              f"{', CONTENDED' if contended else ''})", flush=True)
        with (out / "vcpu_wait.csv").open("a") as f:
            f.write(f"{osname},{workload},{cpus},{k},{'' if vwait is None else f'{vwait:.4f}'},"
                    f"{meas[0].work if meas else ''},{int(contended)}\n")
        if err is None and (not contended or not a.drop_contended):
            samples += [stats.Sample.from_record(m, os=osname, accel=accel.name, run=k, log=str(log), tsc_hz=tsc)
                        for m in meas]
    print_corrected(out / "vcpu_wait.csv")
    cases_t = stats.summarize(samples)
    gates = stats.gate_1_to_2(cases_t) if {"capos", "linux"} <= set(a.os) else []
    report.write_all(samples, cases_t, out, host_cores=report.host_cores(), gates=gates, title="capOS guest vs Linux")
    print((out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
