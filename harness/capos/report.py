"""report.py: results.csv, summary.md and the speedup plot of a benchmark run.

Every row names its accelerator. A case with more vCPUs than the host has
cores is marked oversubscribed: it is shown as a diagnostic and never used
for a scaling claim; neither is single-threaded TCG (functional only).
matplotlib is imported only by write_plot, so everything else runs on a
machine without it.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Sequence

from .stats import Case, GateResult, Sample

CSV_FIELDS = ["os", "policy", "workload", "accel", "cpus", "parallelism", "run", "work_cycles", "total_cycles",
              "spawn_ready_cycles", "shutdown_cycles", "verified", "oversubscribed", "tsc_hz", "log"]


def host_cores() -> int:
    """Physical cores available to this process: distinct (package, core) pairs of the CPUs we may
    run on, from /proc/cpuinfo; falls back to the affinity mask size."""
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # pragma: no cover - non-Linux
        allowed = set(range(os.cpu_count() or 1))
    cores: set[tuple[str, str]] = set()
    try:
        cpu = phys = core = None
        for line in Path("/proc/cpuinfo").read_text().splitlines() + [""]:
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            if k == "processor":
                cpu = int(v)
            elif k == "physical id":
                phys = v
            elif k == "core id":
                core = v
            elif not k:
                if cpu is not None and cpu in allowed and core is not None:
                    cores.add((phys or "0", core))
                cpu = phys = core = None
    except OSError:
        pass
    return len(cores) if cores else len(allowed)


def oversubscribed(cpus: int, cores: int) -> bool:
    return cpus > cores


def claimable(case: Case, cores: int) -> bool:
    """A case may back a scaling claim: not oversubscribed and not single-threaded TCG."""
    return not oversubscribed(case.cpus, cores) and case.accel != "tcg"


def write_csv(samples: Sequence[Sample], path: Path, cores: int) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_FIELDS)
        for s in samples:
            w.writerow([s.os, s.policy, s.workload, s.accel, s.cpus, s.parallelism, s.run, s.work, s.total,
                        "" if s.spawn_ready is None else s.spawn_ready, "" if s.shutdown is None else s.shutdown,
                        "true" if s.verified else "false", "true" if oversubscribed(s.cpus, cores) else "false",
                        "" if s.tsc_hz is None else s.tsc_hz, s.log])
    return path


def read_csv(path: Path) -> list[Sample]:
    """Samples back from results.csv (for re-plotting or comparing runs)."""
    out: list[Sample] = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            def opt(k: str) -> int | None:
                return int(row[k]) if row.get(k) else None
            out.append(Sample(os=row["os"], policy=row["policy"], workload=row["workload"], accel=row["accel"],
                              cpus=int(row["cpus"]), parallelism=int(row["parallelism"]), run=int(row["run"]),
                              work=int(row["work_cycles"]), total=int(row["total_cycles"]),
                              verified=row["verified"] == "true", spawn_ready=opt("spawn_ready_cycles"),
                              shutdown=opt("shutdown_cycles"), tsc_hz=opt("tsc_hz"), log=row["log"]))
    return out


def _x(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}x"


def _mcyc(v: float) -> str:
    return f"{v / 1e6:,.1f}"


def summary_markdown(cases: Sequence[Case], cores: int, gates: Sequence[GateResult] = (),
                     title: str = "SMP scaling") -> str:
    lines = [f"# {title}", "",
             f"Host cores available: {cores}. Times are median guest cycles (millions) of verified runs; "
             "speedups are against the same series at 1 CPU. Rows marked *oversubscribed* have more vCPUs "
             "than host cores and are diagnostics, excluded from claims; single-threaded TCG (`tcg`) is "
             "functional only.", "",
             "| OS | policy | workload | accel | CPUs | runs | work (Mcyc) | total (Mcyc) | speedup work | "
             "speedup total | capOS/Linux speedup | capOS/Linux time | note |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in cases:
        notes = []
        if oversubscribed(c.cpus, cores):
            notes.append("oversubscribed (excluded from claims)")
        if c.accel == "tcg":
            notes.append("single-threaded TCG: functional only")
        ratio = "–" if c.ratio_speedup_work is None else f"{c.ratio_speedup_work:.3f}"
        tratio = "–" if c.ratio_work_time is None else f"{c.ratio_work_time:.3f}"
        lines.append(f"| {c.os} | {c.policy or '–'} | {c.workload} | {c.accel} | {c.cpus} | {c.runs} | "
                     f"{_mcyc(c.median_work)} | {_mcyc(c.median_total)} | {_x(c.speedup_work)} | "
                     f"{_x(c.speedup_total)} | {ratio} | {tratio} | {'; '.join(notes)} |")
    claims = [c for c in cases if c.cpus > 1 and c.speedup_work is not None and claimable(c, cores)]
    lines += ["", "## Claims (non-oversubscribed, multi-threaded accelerators only)", ""]
    if not claims:
        lines.append("None: no case with more than one CPU fits on the host cores.")
    for c in claims:
        who = c.os + (f" ({c.policy})" if c.policy else "")
        beside = ""
        if c.os != "linux":
            beside = (f"; Linux in the same run: {_x(c.linux_speedup_work)}" if c.linux_speedup_work
                      else "; no Linux figure from the same run, so no claim")
        lines.append(f"- {who} {c.workload}, 1→{c.cpus} CPUs under {c.accel}: work {_x(c.speedup_work)}, "
                     f"total {_x(c.speedup_total)}{beside}")
    if gates:
        lines += ["", "## Gate: capOS 1→2 work speedup vs Linux", ""]
        for g in gates:
            lines.append(f"- {'PASS' if g.passed else 'FAIL'} {g.workload}"
                         f"{' (' + g.policy + ')' if g.policy else ''}: {g.reason}")
    return "\n".join(lines) + "\n"


def write_plot(cases: Sequence[Case], png: Path, svg: Path, cores: int) -> bool:
    """Speedup vs CPUs per series, ideal line dashed, oversubscribed points hollow.
    Returns False (and writes nothing) when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    workloads = sorted({c.workload for c in cases})
    fig, axes = plt.subplots(1, max(1, len(workloads)), figsize=(5.5 * max(1, len(workloads)), 4.2), squeeze=False)
    for ax, wl in zip(axes[0], workloads):
        series: dict[tuple[str, str, str, str], list[Case]] = {}
        for c in cases:
            if c.workload == wl and c.speedup_work is not None:
                series.setdefault(c.series, []).append(c)
        top = 1
        for (os_name, policy, _, accel), cs in sorted(series.items()):
            cs.sort(key=lambda c: c.cpus)
            top = max(top, cs[-1].cpus)
            label = f"{os_name}{' ' + policy if policy else ''} ({accel})"
            xs = [c.cpus for c in cs]
            ys = [c.speedup_work or 0.0 for c in cs]
            line, = ax.plot(xs, ys, marker="o", label=label)
            for c in cs:
                if oversubscribed(c.cpus, cores):
                    ax.plot([c.cpus], [c.speedup_work], marker="o", markersize=11, markerfacecolor="none",
                            markeredgecolor=line.get_color(), linestyle="none")
        ax.plot([1, top], [1, top], linestyle="--", color="grey", label="ideal")
        if top > cores:
            ax.axvspan(cores + 0.5, top + 0.5, color="grey", alpha=0.12, label="oversubscribed")
        ax.set_title(f"{wl} scale: work speedup")
        ax.set_xlabel("CPUs (= workers)")
        ax.set_ylabel("speedup vs 1 CPU (median)")
        ax.set_xticks(sorted({c.cpus for c in cases}))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    fig.savefig(svg)
    plt.close(fig)
    return True


def write_all(samples: Sequence[Sample], cases: Sequence[Case], out_dir: Path, *, host_cores: int,
              gates: Sequence[GateResult] = (), title: str = "SMP scaling") -> dict[str, Path]:
    """results.csv, summary.md, speedup.png and speedup.svg in out_dir (the plot only with matplotlib)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": write_csv(samples, out_dir / "results.csv", host_cores)}
    summary = out_dir / "summary.md"
    summary.write_text(summary_markdown(cases, host_cores, gates, title))
    paths["summary"] = summary
    if write_plot(cases, out_dir / "speedup.png", out_dir / "speedup.svg", host_cores):
        paths["png"] = out_dir / "speedup.png"
        paths["svg"] = out_dir / "speedup.svg"
    return paths
