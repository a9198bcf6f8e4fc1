"""report.py: results.csv, paired.csv, attribution.csv, summary.md and the speedup plot of a benchmark run.

results.csv holds every run of both designs (docs/benchmarks.md lists the
columns); paired.csv one row per paired boot, from which the gate's interval
can be recomputed alone (read_paired_csv + stats.gate_paired);
attribution.csv each counter's median and sum per case. Every row names its
accelerator. A case with more vCPUs than the host has
cores is marked oversubscribed: it is shown as a diagnostic and never used
for a scaling claim; neither is single-threaded TCG (functional only).
matplotlib is imported only by write_plot, so everything else runs on a
machine without it.
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Mapping, Sequence

from .stats import (MAX_OTHER_HOST_FRAC, MIN_VCPU_SHARE, PER_COUNT, Case, Gate, GateResult, Interval, PairedBoot,
                    PairedSummary, Sample, median, paired_time_ratios)

# results.csv: one row per run, both designs. Columns after these are the
# run's counters, one per key seen in any run: guest.<key> (all CPUs),
# guest.cpu<n>.<key>, tcg.<key> (QEMU `info jit` deltas over the window),
# host.vcpu<n>_wait_s (run-queue wait of vCPU n's thread).
CSV_FIELDS = ["os", "policy", "workload", "accel", "design", "boot", "seq", "cpus", "workers", "run",
              "work_cycles", "total_cycles", "spawn_ready_cycles", "shutdown_cycles", "verified", "oversubscribed",
              "tsc_hz", "boot_other_host_frac", "window_wall_s", "window_other_host_frac", "vcpu_cpu_s",
              "vcpu_share", "log"]
# paired.csv: one row per paired boot; enough to recompute the paired intervals.
PAIRED_FIELDS = ["os", "policy", "workload", "accel", "boot", "order", "runs_1", "runs_2", "work_1", "work_2",
                 "mean_work_1", "mean_work_2", "speedup", "vcpu_checked", "host"]
# attribution.csv: per case and counter, over the runs that have it.
ATTR_FIELDS = ["os", "policy", "workload", "accel", "design", "cpus", "workers", "key", "runs", "median", "sum"]


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


def _opt(v: object) -> str:
    return "" if v is None else str(v)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _vcpus(m: Mapping[int, float]) -> str:
    return ";".join(f"{k}:{v!r}" for k, v in sorted(m.items()))


def _parse_vcpus(text: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for part in text.split(";") if text else []:
        k, _, v = part.partition(":")
        out[int(k)] = float(v)
    return out


def write_csv(samples: Sequence[Sample], path: Path, cores: int) -> Path:
    keys = sorted({k for s in samples for k in s.counters})
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_FIELDS + keys)
        for s in samples:
            share = s.vcpu_share
            w.writerow([s.os, s.policy, s.workload, s.accel, s.design, s.boot, s.seq, s.cpus, s.parallelism, s.run,
                        s.work, _opt(s.total), _opt(s.spawn_ready), _opt(s.shutdown),
                        "true" if s.verified else "false", "true" if oversubscribed(s.cpus, cores) else "false",
                        _opt(s.tsc_hz), _opt(s.boot_other_host), _opt(s.window_wall_s), _opt(s.window_other_host),
                        _vcpus(s.vcpu_cpu_s), "" if share is None else f"{share:.4f}", s.log]
                       + [_num(s.counters[k]) if k in s.counters else "" for k in keys])
    return path


def read_csv(path: Path) -> list[Sample]:
    """Samples back from results.csv (for re-plotting, recomputing intervals or comparing runs).
    Files from before the paired design (no design/boot/seq columns, `parallelism`) are read too."""
    out: list[Sample] = []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        extra = [k for k in (reader.fieldnames or []) if k not in CSV_FIELDS and k != "parallelism"]
        for row in reader:
            def opt(k: str) -> int | None:
                return int(row[k]) if row.get(k) else None

            def optf(k: str) -> float | None:
                return float(row[k]) if row.get(k) else None
            counters = {k: (float(row[k]) if "." in row[k] or "e" in row[k] else int(row[k]))
                        for k in extra if row.get(k)}
            out.append(Sample(os=row["os"], policy=row["policy"], workload=row["workload"], accel=row["accel"],
                              cpus=int(row["cpus"]), parallelism=int(row.get("workers") or row["parallelism"]),
                              run=int(row["run"]), work=int(row["work_cycles"]), total=opt("total_cycles"),
                              verified=row["verified"] == "true", spawn_ready=opt("spawn_ready_cycles"),
                              shutdown=opt("shutdown_cycles"), tsc_hz=opt("tsc_hz"), log=row["log"],
                              design=row.get("design") or PER_COUNT, boot=row.get("boot", ""),
                              seq=int(row.get("seq") or 0), boot_other_host=optf("boot_other_host_frac"),
                              window_wall_s=optf("window_wall_s"), window_other_host=optf("window_other_host_frac"),
                              vcpu_cpu_s=_parse_vcpus(row.get("vcpu_cpu_s", "")), counters=counters))
    return out


def write_paired_csv(boots: Sequence[PairedBoot], path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(PAIRED_FIELDS)
        for b in boots:
            w.writerow([b.os, b.policy, b.workload, b.accel, b.boot, "".join(map(str, b.order)), len(b.work_1),
                        len(b.work_2), ";".join(map(str, b.work_1)), ";".join(map(str, b.work_2)),
                        f"{sum(b.work_1) / len(b.work_1):.1f}", f"{sum(b.work_2) / len(b.work_2):.1f}",
                        repr(b.speedup), "true" if b.vcpu_checked else "false", "; ".join(b.host)])
    return path


def read_paired_csv(path: Path) -> list[PairedBoot]:
    """The paired boots back from paired.csv: stats.gate_paired() on them gives the summary's gate."""
    out: list[PairedBoot] = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            out.append(PairedBoot(row["os"], row["policy"], row["workload"], row["accel"], row["boot"],
                                  tuple(int(c) for c in row["order"]), tuple(int(x) for x in row["work_1"].split(";")),
                                  tuple(int(x) for x in row["work_2"].split(";")),
                                  tuple(r for r in row["host"].split("; ") if r), row["vcpu_checked"] == "true"))
    return out


AttrKey = tuple[str, str, str, str, str, int, int]  # os, policy, workload, accel, design, cpus, workers


def attribution(samples: Sequence[Sample]) -> dict[AttrKey, dict[str, list[float]]]:
    """Per case (both designs; the paired design split by worker count): each counter's per-run values."""
    out: dict[AttrKey, dict[str, list[float]]] = {}
    for s in samples:
        if not s.verified:
            continue
        d = out.setdefault((s.os, s.policy, s.workload, s.accel, s.design, s.cpus, s.parallelism), {})
        for k, v in s.counters.items():
            d.setdefault(k, []).append(float(v))
        if s.window_wall_s:
            d.setdefault("host.window_wall_s", []).append(s.window_wall_s)
            for i, v in s.vcpu_cpu_s.items():
                d.setdefault(f"host.vcpu{i}_cpu_s", []).append(v)
            if s.vcpu_share is not None:
                d.setdefault("host.vcpu_share", []).append(s.vcpu_share)
        other = s.window_other_host if s.window_other_host is not None else s.boot_other_host
        if other is not None:  # the run's window, else its whole boot (hostload.Meter)
            d.setdefault("host.other_host_frac", []).append(other)
    return out


def write_attribution_csv(samples: Sequence[Sample], path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(ATTR_FIELDS)
        for key, d in sorted(attribution(samples).items()):
            for k, vs in sorted(d.items()):
                w.writerow(list(key) + [k, len(vs), _num(median(vs)), _num(sum(vs))])
    return path


def _x(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}x"


def _mcyc(v: float | None) -> str:
    return "–" if v is None else f"{v / 1e6:,.1f}"


def _ci(iv: Interval | None, digits: int = 3, suffix: str = "") -> str:
    return "–" if iv is None else iv.fmt(digits, suffix)


def _mcyc_ci(iv: Interval | None) -> str:
    if iv is None or iv.lo is None or iv.hi is None:
        return "–"
    return f"[{iv.lo / 1e6:,.1f}, {iv.hi / 1e6:,.1f}]"


_PER_CPU = re.compile(r"cpu\d+\.")  # guest.cpu<n>.<key>: per-CPU values, kept in the CSVs only
# TCG counters worth a column in the host attribution table (hostattr.CUMULATIVE_TCG).
_TCG_SHOWN = ("tb_flush_count", "tb_invalidate_count", "tlb_full_flushes")


def _med(d: dict[str, list[float]], k: str, fmt: str = "{:,.0f}") -> str:
    return fmt.format(median(d[k])) if d.get(k) else "–"


def attribution_markdown(samples: Sequence[Sample]) -> list[str]:
    """Host attribution per case, guest counters per case with capOS beside Linux, and each
    run's vCPU host CPU time."""
    attr = attribution(samples)
    lines = ["", "## Host attribution per case (medians over runs of each timed window)", "",
             "vCPU share: host CPU time of the k-th busiest vCPU thread / window wall time, k = workers "
             f"(gate threshold {100 * MIN_VCPU_SHARE:.0f}%); other host: share of the host's CPU capacity "
             f"(threshold {100 * MAX_OTHER_HOST_FRAC:.0f}%), over the run's window or else its whole boot. "
             "'–': not measured (no `[bench-window]` lines or no "
             "attribution from QEMU).", "",
             "| OS | workload | design | CPUs | workers | runs | window (s) | vCPU host CPU (s) | min vCPU share | "
             "max other host | " + " | ".join(f"tcg {k}" for k in _TCG_SHOWN) + " |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(_TCG_SHOWN)]
    runs: dict[AttrKey, int] = {}
    for s in samples:
        if s.verified:
            k = (s.os, s.policy, s.workload, s.accel, s.design, s.cpus, s.parallelism)
            runs[k] = runs.get(k, 0) + 1
    order = sorted(attr, key=lambda k: (k[2], k[4], k[5], k[6], k[0] != "capos", k[0], k[1]))
    for key in order:
        d = attr[key]
        vc = sorted(k for k in d if k.startswith("host.vcpu") and k.endswith("_cpu_s"))
        vcpu = " / ".join(_med(d, k, "{:.2f}") for k in vc) if vc else "–"
        share = f"{100 * min(d['host.vcpu_share']):.1f}%" if d.get("host.vcpu_share") else "–"
        other = f"{100 * max(d['host.other_host_frac']):.1f}%" if d.get("host.other_host_frac") else "–"
        os_, pol, wl, _acc, design, cpus, workers = key
        lines.append(f"| {os_}{' ' + pol if pol and pol != 'kernel' else ''} | {wl} | {design} | {cpus} | {workers} | "
                     f"{runs.get(key, 0)} | {_med(d, 'host.window_wall_s', '{:.2f}')} | {vcpu} | {share} | {other} | "
                     + " | ".join(_med(d, f"tcg.{k}") for k in _TCG_SHOWN) + " |")
    # Guest counters: one table per (workload, design, CPUs, workers), capOS beside Linux.
    guest_cases: dict[tuple[str, str, int, int], dict[str, dict[str, list[float]]]] = {}
    for key, d in attr.items():
        os_, pol, wl, _acc, design, cpus, workers = key
        g = {k[len("guest."):]: v for k, v in d.items()
             if k.startswith("guest.") and not _PER_CPU.match(k[len("guest."):])}
        if g:
            guest_cases.setdefault((wl, design, cpus, workers), {})[os_ + (f" {pol}" if pol and pol != "kernel" else "")] = g
    lines += ["", "## Guest attribution (counters over each timed window, all CPUs; median per run)", ""]
    if not guest_cases:
        lines.append("No `[kstats]` / `[linux-stats]` lines in the logs.")
    for (wl, design, cpus, workers), per_os in sorted(guest_cases.items()):
        oses = sorted(per_os, key=lambda o: (not o.startswith("capos"), o))
        keys = sorted({k for g in per_os.values() for k in g})
        lines += [f"{wl}, {design}, {cpus} CPUs, {workers} workers:", "",
                  "| counter | " + " | ".join(oses) + " |", "|---|" + "---:|" * len(oses)]
        for k in keys:
            lines.append(f"| {k} | " + " | ".join(_med(per_os[o], k) for o in oses) + " |")
        lines.append("")
    per_run = [s for s in samples if s.vcpu_cpu_s and s.window_wall_s]
    lines += ["", "## Each vCPU thread's host CPU time per run", ""]
    if not per_run:
        lines.append("Not measured: no run has host attribution (`[bench-window]` lines and QEMU's "
                     "per-thread figures), so the gate's vCPU check was not done.")
    else:
        nv = max(len(s.vcpu_cpu_s) for s in per_run)
        lines += ["| OS | workload | design | boot | run | workers | window (s) | "
                  + " | ".join(f"vCPU {i} (s)" for i in range(nv)) + " | vCPU share | other host |",
                  "|---|---|---|---|---:|---:|---:|" + "---:|" * nv + "---:|---:|"]
        for s in per_run:
            cells = [f"{s.vcpu_cpu_s[i]:.2f}" if i in s.vcpu_cpu_s else "–" for i in range(nv)]
            share = s.vcpu_share
            lines.append(f"| {s.os} | {s.workload} | {s.design} | {s.boot} | {s.seq} | {s.parallelism} | "
                         f"{s.window_wall_s:.2f} | " + " | ".join(cells) + f" | "
                         f"{'–' if share is None else f'{100 * share:.1f}%'} | "
                         f"{'–' if s.window_other_host is None else f'{100 * s.window_other_host:.1f}%'} |")
    return lines


def paired_markdown(boots: Sequence[PairedBoot], summaries: Sequence[PairedSummary], gates: Sequence[Gate]) -> list[str]:
    lines = ["", "## Paired design (the gate): 1 and 2 workers alternating in one -smp 2 boot", "",
             "Per boot: speedup = mean work of its 1-worker runs / mean work of its 2-worker runs (ABBA blocks "
             "1,2,2,1). Per OS: the mean of its boots' speedups with a 95% bootstrap interval over the boots the host "
             "delivered its cores to (a boot left out is marked in the per-boot table). "
             "capOS/Linux: mean capOS speedup / mean Linux speedup, interval from resampling each OS's boots at "
             "the gate's level (95%, or higher in adaptive mode: see the gate line).", "",
             "| OS | workload | accel | boots | 1→2 speedup [95% CI] | work 1 worker (Mcyc) | work 2 workers (Mcyc) | "
             "capOS/Linux [gate interval] | verdict |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for p in summaries:
        g = next((g for g in gates if g.workload == p.workload and p.os == "capos" and g.policy == p.policy), None)
        lines.append(f"| {p.os}{' ' + p.policy if p.policy and p.policy != 'kernel' else ''} | {p.workload} | "
                     f"{p.accel} | {p.boots} | {_ci(p.speedup, suffix='x')} | {_mcyc(p.median_work_1)} | "
                     f"{_mcyc(p.median_work_2)} | {_ci(g.ratio) if g else '–'} | {g.verdict if g else ''} |")
    if not summaries:
        lines.append("| – | – | – | 0 | – | – | – | – | no paired boots |")
    times = [t for wl in sorted({b.workload for b in boots}) for t in paired_time_ratios(boots, wl)]
    if any(t.boots[0] and t.boots[1] for t in times):
        lines += ["", "Work time, capOS/Linux (paired boots the host delivered its cores to): mean over capOS's "
                  "boots of each boot's mean work at that worker count / the same for Linux, 95% bootstrap "
                  "interval over boots. The OSes never share a boot, so each boot's own speed stays in this "
                  "ratio and its interval is wider than the speedup's.", "",
                  "| workload | workers | capOS/Linux work [95% CI] | boots (capOS+Linux) | reading |",
                  "|---|---:|---:|---|---|"]
        for t in times:
            if t.boots[0] and t.boots[1]:
                lines.append(f"| {t.workload} | {t.workers} | {_ci(t.ratio)} | {t.boots[0]}+{t.boots[1]} | "
                             f"{t.verdict} |")
    lines += ["", "Paired boots:", "", "| OS | workload | boot | order | 1-worker runs | 2-worker runs | speedup | host |",
              "|---|---|---|---|---:|---:|---:|---|"]
    for b in boots:
        host = "; ".join(b.host) if b.host else ("ok" if b.vcpu_checked else "ok (vCPU time not measured)")
        lines.append(f"| {b.os} | {b.workload} | {b.boot} | {''.join(map(str, b.order))}{'' if b.abba else ' (not ABBA)'} "
                     f"| {len(b.work_1)} | {len(b.work_2)} | {b.speedup:.4f}x | {host} |")
    return lines


def summary_markdown(cases: Sequence[Case], cores: int, gates: Sequence[GateResult] = (),
                     title: str = "SMP scaling", *, paired_gates: Sequence[Gate] = (),
                     boots: Sequence[PairedBoot] = (), summaries: Sequence[PairedSummary] = (),
                     samples: Sequence[Sample] = ()) -> str:
    lines = [f"# {title}", ""]
    if paired_gates:
        lines += ["## Gate (paired design, capOS 1→2 work speedup ÷ Linux's ≥ 0.98)", ""]
        for g in paired_gates:
            lines.append(f"- {g.line().removeprefix('[bench] gate ')}")
    if boots or summaries or paired_gates:
        lines += paired_markdown(boots, summaries, paired_gates)
    lines += ["", "## Per-count rows (one boot per CPU count; not the gate)", "",
              f"Host cores available: {cores}. Times are median guest cycles (millions) of verified runs with a "
              "95% bootstrap interval over runs; speedups are against the same series at 1 CPU, each with its "
              "interval (runs of each CPU count resampled independently). These rows carry each boot's own "
              "speed, so their intervals are wider than the paired design's. Rows marked *oversubscribed* have "
              "more vCPUs than host cores and are diagnostics, excluded from claims; single-threaded TCG (`tcg`) "
              "is functional only. total '–': the guest did not report it.", "",
              "| OS | policy | workload | accel | CPUs | runs | work (Mcyc) | work 95% CI | total (Mcyc) | "
              "speedup work [95% CI] | speedup total | capOS/Linux speedup [95% CI] | capOS/Linux time | note |",
              "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in cases:
        notes = []
        if oversubscribed(c.cpus, cores):
            notes.append("oversubscribed (excluded from claims)")
        if c.accel == "tcg":
            notes.append("single-threaded TCG: functional only")
        ratio = _ci(c.ratio_ci) if c.ratio_ci is not None else "–"
        tratio = "–" if c.ratio_work_time is None else f"{c.ratio_work_time:.3f}"
        sp = _ci(c.speedup_ci, suffix="x") if c.speedup_ci is not None else _x(c.speedup_work)
        lines.append(f"| {c.os} | {c.policy or '–'} | {c.workload} | {c.accel} | {c.cpus} | {c.runs} | "
                     f"{_mcyc(c.median_work)} | {_mcyc_ci(c.work_ci)} | {_mcyc(c.median_total)} | {sp} | "
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
        lines.append(f"- {who} {c.workload}, 1→{c.cpus} CPUs under {c.accel} (per-count): work "
                     f"{_ci(c.speedup_ci, suffix='x') if c.speedup_ci else _x(c.speedup_work)}, "
                     f"total {_x(c.speedup_total)}{beside}")
    if gates:
        lines += ["", "## Per-count comparison: capOS 1→2 work speedup vs Linux (not the gate)", ""]
        for g in gates:
            lines.append(f"- {g.verdict} {g.workload}{' (' + g.policy + ')' if g.policy else ''}: {g.reason}")
    if samples:
        lines += attribution_markdown(samples)
    return "\n".join(lines) + "\n"


def write_plot(cases: Sequence[Case], png: Path, svg: Path, cores: int,
               summaries: Sequence[PairedSummary] = ()) -> bool:
    """Speedup vs CPUs per series with 95% interval error bars, the paired estimates at 2 CPUs
    (diamonds), ideal line dashed, oversubscribed points hollow.
    Returns False (and writes nothing) when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    workloads = sorted({c.workload for c in cases} | {p.workload for p in summaries})
    fig, axes = plt.subplots(1, max(1, len(workloads)), figsize=(5.5 * max(1, len(workloads)), 4.2), squeeze=False)
    for ax, wl in zip(axes[0], workloads):
        series: dict[tuple[str, str, str, str], list[Case]] = {}
        for c in cases:
            if c.workload == wl and c.speedup_work is not None:
                series.setdefault(c.series, []).append(c)
        top = 2
        for (os_name, policy, _, accel), cs in sorted(series.items()):
            cs.sort(key=lambda c: c.cpus)
            top = max(top, cs[-1].cpus)
            label = f"{os_name}{' ' + policy if policy else ''} ({accel}, per-count)"
            xs = [c.cpus for c in cs]
            ys = [c.speedup_work or 0.0 for c in cs]
            lo = [max(0.0, y - (c.speedup_ci.lo if c.speedup_ci and c.speedup_ci.lo is not None else y))
                  for y, c in zip(ys, cs)]
            hi = [max(0.0, (c.speedup_ci.hi if c.speedup_ci and c.speedup_ci.hi is not None else y) - y)
                  for y, c in zip(ys, cs)]
            cont = ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
            color = cont[0].get_color()
            for c in cs:
                if oversubscribed(c.cpus, cores):
                    ax.plot([c.cpus], [c.speedup_work], marker="o", markersize=11, markerfacecolor="none",
                            markeredgecolor=color, linestyle="none")
        for i, p in enumerate(s for s in summaries if s.workload == wl):
            iv = p.speedup
            if iv.point is None:
                continue
            x = 2 + 0.06 * (i + 1)
            yerr = None if iv.lo is None or iv.hi is None else [[iv.point - iv.lo], [iv.hi - iv.point]]
            ax.errorbar([x], [iv.point], yerr=yerr, marker="D", capsize=3, linestyle="none",
                        label=f"{p.os}{' ' + p.policy if p.policy and p.policy != 'kernel' else ''} "
                              f"({p.accel}, paired, {p.boots} boots)")
        ax.plot([1, top], [1, top], linestyle="--", color="grey", label="ideal")
        if top > cores:
            ax.axvspan(cores + 0.5, top + 0.5, color="grey", alpha=0.12, label="oversubscribed")
        ax.set_title(f"{wl} scale: work speedup (95% intervals)")
        ax.set_xlabel("CPUs (= workers)")
        ax.set_ylabel("speedup vs 1 CPU")
        ax.set_xticks(sorted({c.cpus for c in cases} | ({2} if summaries else set())))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    fig.savefig(svg)
    plt.close(fig)
    return True


def write_all(samples: Sequence[Sample], cases: Sequence[Case], out_dir: Path, *, host_cores: int,
              gates: Sequence[GateResult] = (), title: str = "SMP scaling", paired_gates: Sequence[Gate] = (),
              boots: Sequence[PairedBoot] = (), summaries: Sequence[PairedSummary] = ()) -> dict[str, Path]:
    """results.csv, paired.csv, attribution.csv, summary.md, speedup.png and speedup.svg in out_dir
    (the plot only with matplotlib)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": write_csv(samples, out_dir / "results.csv", host_cores),
             "paired": write_paired_csv(boots, out_dir / "paired.csv"),
             "attribution": write_attribution_csv(samples, out_dir / "attribution.csv")}
    summary = out_dir / "summary.md"
    summary.write_text(summary_markdown(cases, host_cores, gates, title, paired_gates=paired_gates, boots=boots,
                                        summaries=summaries, samples=samples))
    paths["summary"] = summary
    if write_plot(cases, out_dir / "speedup.png", out_dir / "speedup.svg", host_cores, summaries):
        paths["png"] = out_dir / "speedup.png"
        paths["svg"] = out_dir / "speedup.svg"
    return paths
