#!/usr/bin/env python3
"""policy_bench.py: `harness/run policies` — placement workloads where the policy decides the outcome.

Workload "shares" (docs/benchmarks.md, "Placement workloads"): 6 CPU-bound
threads in three weight classes (1024/335/110, the CFS weights of nice
0/5/10) on 2 CPUs for a fixed wall window, in two variants: all threads in
one process ("threads") and one process per thread ("procs"). Each thread's
CPU time over the window is measured by the OS (capOS Thread.cpuTime, Linux
CLOCK_THREAD_CPUTIME_ID); the `[shares]` line of each run gives per thread
its weight, cycles, fair share (water-filled: cpus x window split by weight,
at most one CPU per thread) and relative error, and overall the largest
relative error, Jain's index over cycles/expected and the CPU capacity used.

Workload "wakeup": one CPU-bound hog per CPU for the window while a timer
thread (cyclictest's shape: sleep to a deadline every 5 ms) and a
waker/waiter pair (schbench's shape: wake a parked waiter) measure how long
a woken thread waits to run; one `[wakeup]` line per kind with the 50th,
99th, 99.9th percentiles and the maximum.

Workload "imbalance": 6 threads in one process, each with a fixed list of 8
tasks of 1-10 units (seeded; benchmarks/workloads/imbalance.h), on 2 CPUs;
the `[imbalance]` line gives per thread its CPU time and finish, the
makespan, the ideal (sum of CPU times / CPUs, or the longest thread),
their ratio (efficiency) and each CPU's busy fraction over the run.

Workload "consolidation": 3 threads each doing a fixed 128 blocks of work every
20 ms period and asleep the rest, for the window; the
`[consolidation]` line gives each CPU's busy and idle fraction, the CPUs
busier than 10 % (used), the summed load and per thread the periods whose
work overran into the next.

Systems: capOS under every shipped placement policy (`kernel`, the built-in
per-CPU default with no server, and the policy servers fair-share,
round-robin, pinning and pack with k=4: manifest <workload>-<policy>), and Linux (the
baseline kernel in the same QEMU envelope, capos.bench=<workload>). Boots
are interleaved: round k boots every system once per workload, the order
reversed every other round, so all see the same host drift. Per system and variant the
report gives the mean of each metric over the boots with a bootstrap 95 %
interval (capos/stats.py, expanded for few samples).

Writes build/benchmarks/policies-<timestamp>/: the raw serial logs,
results.csv (shares: one row per thread per run), wakeup.csv (one row per
kind per boot), imbalance.csv and consolidation.csv (one row per boot),
summary.md and shares.png/.svg, wakeup.png/.svg, imbalance.png/.svg,
consolidation.png/.svg.
`--from-csv DIR` recomputes the report from DIR/results.csv alone."""
from __future__ import annotations

import argparse
import csv
import math
import os
import re
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capos import cpio, hostload, linux_baseline, placement_latency, placement_trace, qemu, report, stats  # noqa: E402
from bench import check_policy_served, check_spec, spec_tag, split_spec  # noqa: E402

POLICIES = ("kernel", "fair-share", "round-robin", "pinning", "pack:k=4")
LINUX = "linux"
VARIANTS = ("threads", "procs")
CPUS = 2
SHARES_TAG = "[shares]"
WORKLOADS = ("shares", "wakeup", "imbalance", "consolidation")
WAKEUP_TAG = "[wakeup]"
WAKEUP_KINDS = ("timer", "message")
CAPOS_DONE = re.compile(r"^\[utest\] (shares|wakeup|imbalance|consolidation) (\d+) passed, (\d+) failed", re.M)
LINUX_PROGRAMS = {"shares": "shares-bench", "wakeup": "wakeup-bench", "imbalance": "imbalance-bench",
                  "consolidation": "consolidation-bench"}
WINDOW_MS = 4000
ALPHA = 0.05
# A run whose last thread took its final reading more than 1 % of the window
# after its end was stopped by the host (a vCPU descheduled: the TSC, and so
# the CPU time charged to the thread the vCPU was running, ran on); such runs
# are left out of the statistics and counted in the table.
LATE_MAX_PPM = 10_000


class SharesLineError(ValueError):
    pass


@dataclass(frozen=True)
class SharesRun:
    """One `[shares]` line."""
    os: str
    variant: str
    cpus: int
    window: int
    weights: tuple[int, ...]
    cycles: tuple[int, ...]
    expected: tuple[int, ...]
    err_ppm: tuple[int, ...]
    max_err_ppm: int
    jain_ppm: int
    used_ppm: int
    verified: bool
    late_ppm: int = 0

    @property
    def threads(self) -> int:
        return len(self.weights)

    @property
    def max_err(self) -> float:
        return self.max_err_ppm / 1e6

    @property
    def jain(self) -> float:
        return self.jain_ppm / 1e6

    @property
    def used(self) -> float:
        return self.used_ppm / 1e6

    def class_ratio(self, weight: int) -> float | None:
        """Mean cycles/expected of the threads with this weight."""
        xs = [c / e for w, c, e in zip(self.weights, self.cycles, self.expected) if w == weight and e > 0]
        return sum(xs) / len(xs) if xs else None


_UINT = re.compile(r"[0-9]+\Z")
_INT = re.compile(r"-?[0-9]+\Z")
_FIELDS = ("os", "variant", "cpus", "threads", "window", "weights", "cycles", "expected", "err_ppm",
           "max_err_ppm", "jain_ppm", "used_ppm", "late_ppm", "verified")


def _ints(text: str, pattern: re.Pattern[str], key: str, line: str) -> tuple[int, ...]:
    parts = text.split(",")
    if not all(pattern.match(p) for p in parts):
        raise SharesLineError(f"{key}: not a list of integers: {text!r} in {line!r}")
    return tuple(int(p) for p in parts)


def expected_shares(weights: Sequence[int], capacity: float, cap: float) -> list[float]:
    """Water-filling (benchmarks/workloads/shares.h): capacity split by weight, none above cap."""
    if not weights or capacity <= 0 or cap <= 0 or any(w <= 0 for w in weights):
        raise ValueError("weights must be positive, capacity and cap positive")
    capped = [False] * len(weights)
    out = [0.0] * len(weights)
    left = capacity
    while True:
        wsum = sum(w for w, c in zip(weights, capped) if not c)
        if wsum == 0:
            break
        changed = False
        for i, w in enumerate(weights):
            if not capped[i]:
                out[i] = left * w / wsum
                if out[i] > cap:
                    capped[i] = changed = True
        if not changed:
            break
        for i in range(len(weights)):
            if capped[i]:
                out[i] = cap
        left = max(0.0, capacity - cap * sum(capped))
    return out


def jain(xs: Sequence[float]) -> float:
    sxx = sum(x * x for x in xs)
    return sum(xs) ** 2 / (len(xs) * sxx) if sxx > 0 else 0.0


def parse_shares_line(line: str) -> SharesRun:
    """Parses and cross-checks one `[shares] key=value ...` line: every list one entry per
    thread, and the guest's expected shares, errors and Jain's index as recomputed here
    (within rounding), so a guest-side arithmetic slip cannot pass as a result."""
    body = line[line.index(SHARES_TAG) + len(SHARES_TAG):].split()
    kv: dict[str, str] = {}
    for tok in body:
        if "=" not in tok:
            raise SharesLineError(f"token without '=': {tok!r} in {line!r}")
        k, v = tok.split("=", 1)
        kv[k] = v
    missing = [k for k in _FIELDS if k not in kv]
    if missing:
        raise SharesLineError(f"missing {', '.join(missing)} in {line!r}")
    for k in ("cpus", "threads", "window", "max_err_ppm", "jain_ppm", "used_ppm", "late_ppm"):
        if not _UINT.match(kv[k]):
            raise SharesLineError(f"{k}: not an unsigned integer: {kv[k]!r}")
    if kv["verified"] not in ("true", "false"):
        raise SharesLineError(f"verified must be true or false, not {kv['verified']!r}")
    n = int(kv["threads"])
    lists = {k: _ints(kv[k], _INT if k == "err_ppm" else _UINT, k, line)
             for k in ("weights", "cycles", "expected", "err_ppm")}
    for k, v in lists.items():
        if len(v) != n:
            raise SharesLineError(f"{k}: {len(v)} entries for {n} threads in {line!r}")
    r = SharesRun(kv["os"], kv["variant"], int(kv["cpus"]), int(kv["window"]), lists["weights"], lists["cycles"],
                  lists["expected"], lists["err_ppm"], int(kv["max_err_ppm"]), int(kv["jain_ppm"]),
                  int(kv["used_ppm"]), kv["verified"] == "true", int(kv["late_ppm"]))
    if r.verified:
        if r.cpus == 0 or r.window == 0 or any(w == 0 for w in r.weights):
            raise SharesLineError(f"verified line with zero cpus, window or weight: {line!r}")
        exp = expected_shares(r.weights, r.window * r.cpus, r.window)
        if any(abs(a - b) > 1 + 1e-6 * b for a, b in zip(r.expected, exp)):
            raise SharesLineError(f"expected shares {r.expected} are not the water-filled {[int(x) for x in exp]}")
        xs = [c / e for c, e in zip(r.cycles, r.expected)]
        j = jain(xs)
        if abs(j * 1e6 - r.jain_ppm) > 2:
            raise SharesLineError(f"jain_ppm {r.jain_ppm} but the cycles give {j * 1e6:.0f}")
        worst = max(abs(x - 1) for x in xs)
        if abs(worst * 1e6 - r.max_err_ppm) > 2:
            raise SharesLineError(f"max_err_ppm {r.max_err_ppm} but the cycles give {worst * 1e6:.0f}")
    return r


def parse_text(text: str) -> list[SharesRun]:
    out = []
    for raw in text.splitlines():
        if SHARES_TAG + " os=" in raw:
            out.append(parse_shares_line(raw[raw.index(SHARES_TAG):].strip()))
    return out


@dataclass(frozen=True)
class WakeupRun:
    """One `[wakeup]` line; delays in TSC cycles."""
    os: str
    kind: str
    cpus: int
    hogs: int
    tsc_hz: int
    period_us: int
    samples: int
    dropped: int
    p50: int
    p99: int
    p999: int
    max: int
    verified: bool

    def us(self, cycles: int) -> float:
        return cycles * 1e6 / self.tsc_hz


_WAKEUP_UINTS = ("cpus", "hogs", "tsc_hz", "period_us", "samples", "dropped", "p50", "p99", "p999", "max")


def parse_wakeup_line(line: str) -> WakeupRun:
    """Parses one `[wakeup] key=value ...` line; the percentiles must be ordered and a verified
    line must have samples and a TSC rate."""
    kv: dict[str, str] = {}
    for tok in line[line.index(WAKEUP_TAG) + len(WAKEUP_TAG):].split():
        if "=" not in tok:
            raise SharesLineError(f"token without '=': {tok!r} in {line!r}")
        k, v = tok.split("=", 1)
        kv[k] = v
    missing = [k for k in ("os", "kind", "verified") + _WAKEUP_UINTS if k not in kv]
    if missing:
        raise SharesLineError(f"missing {', '.join(missing)} in {line!r}")
    bad = [k for k in _WAKEUP_UINTS if not _UINT.match(kv[k])]
    if bad:
        raise SharesLineError(f"{', '.join(bad)}: not unsigned integers in {line!r}")
    if kv["kind"] not in WAKEUP_KINDS:
        raise SharesLineError(f"kind must be one of {WAKEUP_KINDS}, not {kv['kind']!r}")
    if kv["verified"] not in ("true", "false"):
        raise SharesLineError(f"verified must be true or false, not {kv['verified']!r}")
    n = {k: int(kv[k]) for k in _WAKEUP_UINTS}
    r = WakeupRun(kv["os"], kv["kind"], verified=kv["verified"] == "true", **n)
    if r.verified:
        if r.samples == 0 or r.tsc_hz == 0:
            raise SharesLineError(f"verified line without samples or TSC rate: {line!r}")
        if not r.p50 <= r.p99 <= r.p999 <= r.max:
            raise SharesLineError(f"percentiles out of order: {line!r}")
    return r


def parse_wakeup_text(text: str) -> list[WakeupRun]:
    out = []
    for raw in text.splitlines():
        if WAKEUP_TAG + " os=" in raw:
            out.append(parse_wakeup_line(raw[raw.index(WAKEUP_TAG):].strip()))
    return out


# ---- workloads imbalance and consolidation -------------------------------------------

IMBALANCE_TAG = "[imbalance]"
CONSOLIDATION_TAG = "[consolidation]"
# A CPU busier than this share of the window counts as used (benchmarks/workloads/consolidation.h).
CONSOLIDATION_USED = 0.10


def _kv(line: str, tag: str) -> dict[str, str]:
    kv: dict[str, str] = {}
    for tok in line[line.index(tag) + len(tag):].split():
        if "=" not in tok:
            raise SharesLineError(f"token without '=': {tok!r} in {line!r}")
        k, v = tok.split("=", 1)
        kv[k] = v
    return kv


def _need(kv: dict[str, str], keys: Sequence[str], line: str) -> None:
    missing = [k for k in keys if k not in kv]
    if missing:
        raise SharesLineError(f"missing {', '.join(missing)} in {line!r}")
    if kv.get("verified") not in ("true", "false"):
        raise SharesLineError(f"verified must be true or false, not {kv.get('verified')!r}")


def _uint(kv: dict[str, str], k: str, line: str) -> int:
    if not _UINT.match(kv[k]):
        raise SharesLineError(f"{k}: not an unsigned integer: {kv[k]!r} in {line!r}")
    return int(kv[k])


def imbalance_task_units(seed: int, k: int) -> int:
    """benchmarks/workloads/imbalance.h: 1 + splitmix64(splitmix64(seed) ^ k) % 10."""
    def mix(x: int) -> int:
        m = (1 << 64) - 1
        x = (x + 0x9E3779B97F4A7C15) & m
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
        return x ^ (x >> 31)
    return 1 + mix(mix(seed) ^ k) % 10


@dataclass(frozen=True)
class ImbalanceRun:
    """One `[imbalance]` line; times in TSC cycles."""
    os: str
    cpus: int
    threads: int
    tasks: int
    seed: int
    unit_blocks: int
    tsc_hz: int
    units: tuple[int, ...]
    cpu: tuple[int, ...]
    finish: tuple[int, ...]
    makespan: int
    ideal: int
    efficiency_ppm: int
    busy_ppm: tuple[int, ...]
    verified: bool

    @property
    def makespan_ms(self) -> float:
        return self.makespan * 1e3 / self.tsc_hz if self.tsc_hz else 0.0

    @property
    def efficiency(self) -> float:
        return self.efficiency_ppm / 1e6


def parse_imbalance_line(line: str) -> ImbalanceRun:
    """Parses one `[imbalance]` line and cross-checks it: one entry per thread and per CPU, the
    task units those of the seed, and (verified) makespan, ideal and efficiency recomputed here."""
    kv = _kv(line, IMBALANCE_TAG)
    scal = ("cpus", "threads", "tasks", "seed", "unit_blocks", "tsc_hz", "makespan", "ideal", "efficiency_ppm")
    _need(kv, ("os", "units", "cpu", "finish", "busy_ppm", "verified") + scal, line)
    n = {k: _uint(kv, k, line) for k in scal}
    lists = {k: _ints(kv[k], _UINT, k, line) for k in ("units", "cpu", "finish", "busy_ppm")}
    for k in ("units", "cpu", "finish"):
        if len(lists[k]) != n["threads"]:
            raise SharesLineError(f"{k}: {len(lists[k])} entries for {n['threads']} threads in {line!r}")
    if len(lists["busy_ppm"]) != n["cpus"]:
        raise SharesLineError(f"busy_ppm: {len(lists['busy_ppm'])} entries for {n['cpus']} CPUs in {line!r}")
    want_units = tuple(sum(imbalance_task_units(n["seed"], i * n["tasks"] + j) for j in range(n["tasks"]))
                       for i in range(n["threads"]))
    if lists["units"] != want_units:
        raise SharesLineError(f"units {lists['units']} are not seed {n['seed']}'s {want_units}")
    r = ImbalanceRun(kv["os"], n["cpus"], n["threads"], n["tasks"], n["seed"], n["unit_blocks"], n["tsc_hz"],
                     lists["units"], lists["cpu"], lists["finish"], n["makespan"], n["ideal"], n["efficiency_ppm"],
                     lists["busy_ppm"], kv["verified"] == "true")
    if r.verified:
        if r.cpus == 0 or r.tsc_hz == 0 or r.makespan == 0 or any(b > 1_000_000 for b in r.busy_ppm):
            raise SharesLineError(f"verified line with zero cpus, rate or makespan, or busy above 1: {line!r}")
        ideal = max(sum(r.cpu) // r.cpus, max(r.cpu))
        if r.makespan != max(r.finish) or r.ideal != ideal:
            raise SharesLineError(f"makespan/ideal {r.makespan}/{r.ideal} but the threads give {max(r.finish)}/{ideal}")
        if abs(ideal / r.makespan * 1e6 - r.efficiency_ppm) > 1:
            raise SharesLineError(f"efficiency_ppm {r.efficiency_ppm} is not ideal/makespan")
    return r


@dataclass(frozen=True)
class ConsolidationRun:
    """One `[consolidation]` line."""
    os: str
    cpus: int
    threads: int
    period_us: int
    est_duty_ppm: int
    window: int
    work_blocks: int
    periods: tuple[int, ...]
    missed: tuple[int, ...]
    busy_ppm: tuple[int, ...]
    idle_ppm: tuple[int, ...]
    cpus_used: int
    load_ppm: int
    verified: bool

    @property
    def busy_sorted(self) -> list[float]:
        """Busy fractions, busiest CPU first."""
        return sorted((b / 1e6 for b in self.busy_ppm), reverse=True)

    @property
    def missed_frac(self) -> float:
        return sum(self.missed) / sum(self.periods) if sum(self.periods) else 0.0


def parse_consolidation_line(line: str) -> ConsolidationRun:
    """Parses one `[consolidation]` line; busy and idle add up to 1e6 per CPU, cpus_used and
    load_ppm follow from busy_ppm, missed periods are no more than the periods."""
    kv = _kv(line, CONSOLIDATION_TAG)
    scal = ("cpus", "threads", "period_us", "est_duty_ppm", "window", "work_blocks", "cpus_used", "load_ppm")
    _need(kv, ("os", "periods", "missed", "busy_ppm", "idle_ppm", "verified") + scal, line)
    n = {k: _uint(kv, k, line) for k in scal}
    lists = {k: _ints(kv[k], _UINT, k, line) for k in ("periods", "missed", "busy_ppm", "idle_ppm")}
    for k in ("periods", "missed"):
        if len(lists[k]) != n["threads"]:
            raise SharesLineError(f"{k}: {len(lists[k])} entries for {n['threads']} threads in {line!r}")
    for k in ("busy_ppm", "idle_ppm"):
        if len(lists[k]) != n["cpus"]:
            raise SharesLineError(f"{k}: {len(lists[k])} entries for {n['cpus']} CPUs in {line!r}")
    r = ConsolidationRun(kv["os"], n["cpus"], n["threads"], n["period_us"], n["est_duty_ppm"], n["window"],
                         n["work_blocks"], lists["periods"], lists["missed"], lists["busy_ppm"], lists["idle_ppm"],
                         n["cpus_used"], n["load_ppm"], kv["verified"] == "true")
    if r.verified:
        if any(b + i != 1_000_000 for b, i in zip(r.busy_ppm, r.idle_ppm)):
            raise SharesLineError(f"busy + idle is not 1e6 on every CPU: {line!r}")
        if any(m > p for m, p in zip(r.missed, r.periods)) or sum(r.periods) == 0:
            raise SharesLineError(f"more missed periods than periods, or none: {line!r}")
        used = sum(1 for b in r.busy_ppm if b > CONSOLIDATION_USED * 1e6)
        if r.cpus_used != used or r.load_ppm != sum(r.busy_ppm):
            raise SharesLineError(f"cpus_used/load_ppm {r.cpus_used}/{r.load_ppm} but busy_ppm gives {used}/{sum(r.busy_ppm)}")
    return r


def parse_imbalance_text(text: str) -> list[ImbalanceRun]:
    return [parse_imbalance_line(raw[raw.index(IMBALANCE_TAG):].strip())
            for raw in text.splitlines() if IMBALANCE_TAG + " os=" in raw]


def parse_consolidation_text(text: str) -> list[ConsolidationRun]:
    return [parse_consolidation_line(raw[raw.index(CONSOLIDATION_TAG):].strip())
            for raw in text.splitlines() if CONSOLIDATION_TAG + " os=" in raw]


@dataclass
class ImbalanceRow:
    """One imbalance boot (an imbalance.csv row)."""
    system: str
    os: str
    boot: int
    cpus: int
    threads: int
    makespan_ms: float
    ideal_ms: float
    efficiency: float
    busy: str        # per-CPU busy fractions, ';'-separated
    busy_min: float  # the least busy CPU's
    accel: str
    other_host: float | None
    log: str


@dataclass
class ConsolidationRow:
    """One consolidation boot (a consolidation.csv row)."""
    system: str
    os: str
    boot: int
    cpus: int
    threads: int
    busy: str        # per-CPU busy fractions, ';'-separated
    busy_max: float  # the busiest CPU's
    busy_min: float  # the least busy CPU's (its idle share: 1 - this)
    cpus_used: int
    load: float      # sum of busy fractions (1 = one CPU's worth)
    missed: float    # share of periods whose work ended after the next began
    accel: str
    other_host: float | None
    log: str


IMBALANCE_FIELDS = [f for f in ImbalanceRow.__dataclass_fields__]
CONSOLIDATION_FIELDS = [f for f in ConsolidationRow.__dataclass_fields__]


def imbalance_row_of(system: str, boot: int, r: ImbalanceRun, accel: str, other: float | None, log: str) -> ImbalanceRow:
    busy = [b / 1e6 for b in r.busy_ppm]
    return ImbalanceRow(system, r.os, boot, r.cpus, r.threads, r.makespan_ms, r.ideal * 1e3 / r.tsc_hz,
                        r.efficiency, ";".join(f"{b:.4f}" for b in busy), min(busy), accel, other, log)


def consolidation_row_of(system: str, boot: int, r: ConsolidationRun, accel: str, other: float | None,
                         log: str) -> ConsolidationRow:
    b = r.busy_sorted
    return ConsolidationRow(system, r.os, boot, r.cpus, r.threads, ";".join(f"{x:.4f}" for x in (v / 1e6 for v in r.busy_ppm)),
                            b[0], b[-1], r.cpus_used, r.load_ppm / 1e6, r.missed_frac, accel, other, log)


def _write_rows(rows: Sequence[Any], fields: Sequence[str], path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(fields))
        w.writeheader()
        for r in rows:
            d = {k: getattr(r, k) for k in fields}
            d["other_host"] = "" if r.other_host is None else f"{r.other_host:.4f}"
            w.writerow(d)
    return path


def _read_rows(path: Path, cls: Any) -> list[Any]:
    types = {f.name: f.type for f in cls.__dataclass_fields__.values()}
    out = []
    with path.open(newline="") as f:
        for d in csv.DictReader(f):
            kw: dict[str, Any] = {}
            for k, t in types.items():
                v = d[k]
                if k == "other_host":
                    kw[k] = float(v) if v else None
                elif t in ("int", int):
                    kw[k] = int(v)
                elif t in ("float", float):
                    kw[k] = float(v)
                else:
                    kw[k] = v
            out.append(cls(**kw))
    return out


@dataclass
class TaskSummary:
    """One system over its boots of workload imbalance or consolidation: metric -> interval."""
    system: str
    boots: int
    stats: dict[str, stats.Interval]


IMBALANCE_STATS = (("makespan_ms", "makespan (ms)", 0), ("efficiency", "efficiency (ideal/makespan)", 3),
                   ("busy_min", "least busy CPU", 3))
CONSOLIDATION_STATS = (("cpus_used", "CPUs used (>10% busy)", 2), ("busy_max", "busiest CPU", 3),
                       ("busy_min", "least busy CPU", 3), ("load", "load (CPUs)", 3), ("missed", "missed periods", 3))


def summarize_tasks(rows: Sequence[Any], metrics: Sequence[tuple[str, str, int]], systems: Sequence[str] | None = None,
                    *, resamples: int = stats.BOOTSTRAP_RESAMPLES) -> list[TaskSummary]:
    """Per system: the mean over boots of each metric with a bootstrap 95 % interval."""
    order = list(systems) if systems else sorted({r.system for r in rows})
    out = []
    for s in order:
        sel = [r for r in rows if r.system == s]
        if sel:
            out.append(TaskSummary(s, len(sel), {k: stats.mean_interval([float(getattr(r, k)) for r in sel],
                                                                        resamples=resamples) for k, _, _ in metrics}))
    return out


def tasks_markdown(title: str, intro: str, sums: Sequence[TaskSummary], metrics: Sequence[tuple[str, str, int]]) -> str:
    if not sums:
        return ""
    lines = ["", f"## {title}", "", intro, "", "| system | boots | " + " | ".join(n for _, n, _ in metrics) + " |",
             "|---|---|" + "---|" * len(metrics)]
    for s in sums:
        lines.append(f"| {_label(s.system)} | {s.boots} | " + " | ".join(s.stats[k].fmt(d) for k, _, d in metrics) + " |")
    return "\n".join(lines) + "\n"


def write_tasks_plot(sums: Sequence[TaskSummary], metrics: Sequence[tuple[str, str, int]], title: str, png: Path,
                     svg: Path) -> bool:
    """One panel per metric: the mean per system with its 95% interval. False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 4.0), squeeze=False)
    for ax, (key, name, _) in zip(axes[0], metrics):
        ivs = [s.stats[key] for s in sums]
        ys = [iv.point or 0.0 for iv in ivs]
        lo = [max(0.0, y - (iv.lo if iv.lo is not None else y)) for y, iv in zip(ys, ivs)]
        hi = [max(0.0, (iv.hi if iv.hi is not None else y) - y) for y, iv in zip(ys, ivs)]
        ax.errorbar(range(len(sums)), ys, yerr=[lo, hi], marker="o", capsize=3, linestyle="none")
        ax.set_xticks(range(len(sums)))
        ax.set_xticklabels([_label(s.system) for s in sums], rotation=20, fontsize=7)
        ax.set_title(f"{title}: {name}", fontsize=9)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    fig.savefig(svg)
    plt.close(fig)
    return True


IMBALANCE_INTRO = ("6 threads, 8 tasks each of 1-10 units (seed 16, 384 blocks a unit; the threads' totals "
                   "differ), all in one process, on 2 CPUs; per system the mean over boots with a bootstrap 95% "
                   "interval. makespan: start to the last thread's end; efficiency: max(sum of thread CPU times / "
                   "CPUs, the longest thread) / makespan (1 = no CPU idled while work was left); least busy CPU: "
                   "its busy fraction over the run (capOS KernelStats, Linux /proc/schedstat).")
CONSOLIDATION_INTRO = ("3 threads, each hashing 128 blocks every 20 ms period (the same work on every system) and "
                       "sleeping the rest, on 2 CPUs for 4 s; per system the mean over boots with a bootstrap 95% "
                       "interval. Per-CPU busy fractions over the window (capOS KernelStats, Linux "
                       "/proc/schedstat; idle = 1 - busy); CPUs used: CPUs busier than 10%; load: the sum; "
                       "missed: periods whose work ended after the next period began.")


# ---- boots ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Boot:
    system: str   # a capOS policy name, or "linux"
    index: int    # from 1
    workload: str = "shares"

    @property
    def os(self) -> str:
        return LINUX if self.system == LINUX else "capos"

    @property
    def tag(self) -> str:
        return f"{'linux' if self.system == LINUX else 'capos-' + spec_tag(self.system)}-{self.workload}-boot{self.index}"


def make_plan(systems: Sequence[str], boots: int, workloads: Sequence[str] = ("shares",)) -> list[Boot]:
    """Round k boots every system once per workload; odd rounds in the given order, even rounds
    reversed."""
    plan = []
    for k in range(1, boots + 1):
        order = list(systems) if k % 2 else list(reversed(systems))
        for wl in workloads:
            plan += [Boot(s, k, wl) for s in order]
    return plan


def capos_cmdline(policy: str, workload: str = "shares") -> str:
    """A policy spec `name[:key=value,...]` boots the manifest <workload>-<name>; its arguments
    travel as placement=<key=value,...> (harness/bench.py, docs/writing-a-policy.md)."""
    if policy == "kernel":
        return f"manifest={workload}"
    name, args = split_spec(policy)
    return f"manifest={workload}-{name}" + (f" placement={args}" if args else "")


def linux_append(window_ms: int, workload: str = "shares") -> str:
    return f"{linux_baseline.BASE_APPEND} capos.bench={workload} capos.window_ms={window_ms} capos.runs=1"


def capos_done(text: str) -> str | None:
    m = CAPOS_DONE.search(text)
    return m.group(0) if m else None


def check_capos(text: str, policy: str, workload: str = "shares") -> str | None:
    """A capOS boot counts if the coordinator finished with no failure and (for a policy
    server) that server served the whole boot (bench.check_policy_served)."""
    m = CAPOS_DONE.search(text)
    if m is None or m.group(1) != workload:
        return f"no '[utest] {workload} N passed, M failed' line"
    if int(m.group(3)) != 0:
        return f"coordinator reported {m.group(3)} failure(s)"
    return check_policy_served(text, "" if policy == "kernel" else policy)


def missing_manifests(build: Path, policies: Sequence[str], workloads: Sequence[str]) -> list[str]:
    """The manifests <workload>-<name> that the policy specs need and the build does not have
    (manifest-<name>.bin, one boot module each; servers/placement/gen_manifest.py)."""
    have = {p.name for p in build.rglob("manifest-*.bin")}
    missing = []
    for pol in policies:
        if pol == "kernel":
            continue
        name, _ = split_spec(pol)
        for wl in workloads:
            if f"manifest-{wl}-{name}.bin" not in have:
                missing.append(f"{wl}-{name}")
    return missing


def latency_md(latencies: dict[str, list[placement_latency.Latency]]) -> str:
    """Per policy: the decision latencies and the deadline misses and demotions over its boots
    (each boot's last `[placement] latency` line)."""
    if not latencies:
        return ""
    lines = ["", "Placement decisions (per boot: the kernel's last latency line; medians over boots, sums of "
             "misses and demotions):", "",
             "| policy | boots | p50 us | p99 us | deadline misses | demotions |", "|---|---:|---:|---:|---:|---:|"]
    for pol, ls in latencies.items():
        lines.append(f"| {pol} | {len(ls)} | {stats.median([x.p50_us for x in ls]):.0f} | "
                     f"{stats.median([x.p99_us for x in ls]):.0f} | {sum(x.misses for x in ls)} | "
                     f"{sum(x.demotions for x in ls)} |")
    return "\n".join(lines) + "\n"


def pack_linux_initramfs(build: Path, out: Path) -> Path:
    """The baseline initramfs (linux_baseline.initramfs_entries) plus the placement programs."""
    progs = linux_baseline.Programs.from_build(build)
    extra = []
    for name in LINUX_PROGRAMS.values():
        p = build / "benchmarks" / name
        if not p.is_file():
            raise FileNotFoundError(f"{p} not built (run: ninja -C {build})")
        extra.append(cpio.regular(f"bin/{name}", p.read_bytes(), 0o755))
    data = cpio.pack(linux_baseline.initramfs_entries(progs) + extra)
    if not out.exists() or out.read_bytes() != data:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return out


@dataclass
class Row:
    """One thread of one run (a results.csv row)."""
    system: str
    os: str
    boot: int
    variant: str
    thread: int
    weight: int
    cycles: int
    expected: int
    err: float
    max_err: float
    jain: float
    used: float
    window: int
    cpus: int
    accel: str
    other_host: float | None
    log: str
    late: float = 0.0   # the run's late_ppm / 1e6

    @property
    def disturbed(self) -> bool:
        return self.late * 1e6 > LATE_MAX_PPM


CSV_FIELDS = [f for f in Row.__dataclass_fields__]


def rows_of(system: str, boot: int, runs: Sequence[SharesRun], accel: str, other: dict[str, float], log: str) -> list[Row]:
    out = []
    for r in runs:
        for i in range(r.threads):
            out.append(Row(system, r.os, boot, r.variant, i, r.weights[i], r.cycles[i], r.expected[i],
                           r.err_ppm[i] / 1e6, r.max_err, r.jain, r.used, r.window, r.cpus, accel,
                           other.get(r.variant), log, r.late_ppm / 1e6))
    return out


def write_csv(rows: Sequence[Row], path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in rows:
            d = {k: getattr(r, k) for k in CSV_FIELDS}
            d["other_host"] = "" if r.other_host is None else f"{r.other_host:.4f}"
            w.writerow(d)
    return path


def read_csv(path: Path) -> list[Row]:
    out = []
    with path.open(newline="") as f:
        for d in csv.DictReader(f):
            out.append(Row(d["system"], d["os"], int(d["boot"]), d["variant"], int(d["thread"]), int(d["weight"]),
                           int(d["cycles"]), int(d["expected"]), float(d["err"]), float(d["max_err"]),
                           float(d["jain"]), float(d["used"]), int(d["window"]), int(d["cpus"]), d["accel"],
                           float(d["other_host"]) if d["other_host"] else None, d["log"], float(d["late"])))
    return out


# ---- statistics ----------------------------------------------------------------------

@dataclass
class Summary:
    """One system and variant over its boots."""
    system: str
    variant: str
    boots: int
    jain: stats.Interval
    max_err: stats.Interval
    used: stats.Interval
    class_ratio: dict[int, stats.Interval] = field(default_factory=dict)  # weight -> mean cycles/expected
    left_out: int = 0   # runs the host disturbed (Row.disturbed), not in the figures


def summarize(rows: Sequence[Row], systems: Sequence[str] | None = None, *,
              resamples: int = stats.BOOTSTRAP_RESAMPLES) -> list[Summary]:
    """Per (system, variant): the mean over boots of Jain's index, the largest relative error and
    the capacity used, and per weight class the mean cycles/expected, each with a bootstrap 95 %
    interval over the boots (one value per boot and variant). Runs the host disturbed
    (Row.disturbed) are left out and counted."""
    order = list(systems) if systems else sorted({r.system for r in rows})
    out = []
    for sysname in order:
        for v in VARIANTS:
            every = [r for r in rows if r.system == sysname and r.variant == v]
            sel = [r for r in every if not r.disturbed]
            left = len({r.boot for r in every}) - len({r.boot for r in sel})
            if not sel:
                if every:
                    out.append(Summary(sysname, v, 0, stats.Interval(None, None, None), stats.Interval(None, None, None),
                                       stats.Interval(None, None, None), {}, left))
                continue
            boots = sorted({r.boot for r in sel})
            per_boot = {b: [r for r in sel if r.boot == b] for b in boots}
            kw = dict(resamples=resamples)
            js = [rs[0].jain for rs in per_boot.values()]
            ms = [rs[0].max_err for rs in per_boot.values()]
            us = [rs[0].used for rs in per_boot.values()]
            classes: dict[int, stats.Interval] = {}
            for w in sorted({r.weight for r in sel}, reverse=True):
                vals = []
                for rs in per_boot.values():
                    xs = [r.cycles / r.expected for r in rs if r.weight == w and r.expected > 0]
                    if xs:
                        vals.append(sum(xs) / len(xs))
                classes[w] = stats.mean_interval(vals, **kw)  # type: ignore[arg-type]
            out.append(Summary(sysname, v, len(boots), stats.mean_interval(js, **kw),  # type: ignore[arg-type]
                               stats.mean_interval(ms, **kw), stats.mean_interval(us, **kw),  # type: ignore[arg-type]
                               classes, left))
    return out


@dataclass
class WakeupRow:
    """One kind of one wakeup boot (a wakeup.csv row); delays in microseconds."""
    system: str
    os: str
    boot: int
    kind: str
    samples: int
    dropped: int
    p50_us: float
    p99_us: float
    p999_us: float
    max_us: float
    period_us: int
    cpus: int
    hogs: int
    accel: str
    other_host: float | None
    log: str


WAKEUP_FIELDS = [f for f in WakeupRow.__dataclass_fields__]
WAKEUP_STATS = (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9"), ("max_us", "max"))


def wakeup_rows_of(system: str, boot: int, runs: Sequence[WakeupRun], accel: str, other: float | None,
                   log: str) -> list[WakeupRow]:
    return [WakeupRow(system, r.os, boot, r.kind, r.samples, r.dropped, r.us(r.p50), r.us(r.p99), r.us(r.p999),
                      r.us(r.max), r.period_us, r.cpus, r.hogs, accel, other, log) for r in runs]


def write_wakeup_csv(rows: Sequence[WakeupRow], path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=WAKEUP_FIELDS)
        w.writeheader()
        for r in rows:
            d = {k: getattr(r, k) for k in WAKEUP_FIELDS}
            d["other_host"] = "" if r.other_host is None else f"{r.other_host:.4f}"
            w.writerow(d)
    return path


def read_wakeup_csv(path: Path) -> list[WakeupRow]:
    out = []
    with path.open(newline="") as f:
        for d in csv.DictReader(f):
            out.append(WakeupRow(d["system"], d["os"], int(d["boot"]), d["kind"], int(d["samples"]),
                                 int(d["dropped"]), float(d["p50_us"]), float(d["p99_us"]), float(d["p999_us"]),
                                 float(d["max_us"]), int(d["period_us"]), int(d["cpus"]), int(d["hogs"]), d["accel"],
                                 float(d["other_host"]) if d["other_host"] else None, d["log"]))
    return out


@dataclass
class WakeupSummary:
    system: str
    kind: str
    boots: int
    stats: dict[str, stats.Interval]  # WAKEUP_STATS key -> mean over boots (us)
    samples: float = 0.0               # mean samples per boot


def summarize_wakeup(rows: Sequence[WakeupRow], systems: Sequence[str] | None = None, *,
                     resamples: int = stats.BOOTSTRAP_RESAMPLES) -> list[WakeupSummary]:
    """Per (system, kind): the mean over boots of each percentile, with a bootstrap 95 % interval."""
    order = list(systems) if systems else sorted({r.system for r in rows})
    out = []
    for sysname in order:
        for kind in WAKEUP_KINDS:
            sel = [r for r in rows if r.system == sysname and r.kind == kind]
            if sel:
                out.append(WakeupSummary(sysname, kind, len({r.boot for r in sel}), {
                    k: stats.mean_interval([getattr(r, k) for r in sel], resamples=resamples)
                    for k, _ in WAKEUP_STATS}, sum(r.samples for r in sel) / len(sel)))
    return out


def wakeup_markdown(sums: Sequence[WakeupSummary], accel: str) -> str:
    if not sums:
        return ""
    lines = ["", f"Workload wakeup: one hog per CPU ({CPUS} CPUs, {accel}) for the window; wake-to-run delay in "
             "microseconds, per system and kind the mean over boots of each boot's percentile, with a bootstrap "
             "95% interval. timer: sleep to a deadline every 5 ms (cyclictest); message: a parked waiter woken "
             "by another thread (schbench).", ""]
    for kind in WAKEUP_KINDS:
        sel = [s for s in sums if s.kind == kind]
        if not sel:
            continue
        lines += [f"## wakeup, {kind}-woken", "",
                  "| system | boots | samples/boot | " + " | ".join(f"{name} (us)" for _, name in WAKEUP_STATS) + " |",
                  "|---|---|---|" + "---|" * len(WAKEUP_STATS)]
        for s in sel:
            lines.append(f"| {_label(s.system)} | {s.boots} | {s.samples:.0f} | "
                         + " | ".join(s.stats[k].fmt(0) for k, _ in WAKEUP_STATS) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_wakeup_plot(sums: Sequence[WakeupSummary], png: Path, svg: Path) -> bool:
    """Per kind: each percentile per system (log scale), 95% interval error bars. False without
    matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), squeeze=False)
    for ax, kind in zip(axes[0], WAKEUP_KINDS):
        sel = [s for s in sums if s.kind == kind]
        for k, (key, name) in enumerate(WAKEUP_STATS):
            xs = [i + (k - 1.5) * 0.12 for i in range(len(sel))]
            ivs = [s.stats[key] for s in sel]
            ys = [max(iv.point or 0.0, 1e-3) for iv in ivs]
            lo = [max(0.0, y - (iv.lo if iv.lo is not None else y)) for y, iv in zip(ys, ivs)]
            hi = [max(0.0, (iv.hi if iv.hi is not None else y) - y) for y, iv in zip(ys, ivs)]
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, linestyle="none", label=name)
        ax.set_xticks(range(len(sel)))
        ax.set_xticklabels([_label(s.system) for s in sel], rotation=20, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("wake-to-run delay (us)")
        ax.set_title(f"wakeup, {kind}-woken (95% intervals)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    fig.savefig(svg)
    plt.close(fig)
    return True


def _label(system: str) -> str:
    return "Linux (CFS)" if system == LINUX else f"capOS {system}"


def summary_markdown(summaries: Sequence[Summary], title: str, accel: str) -> str:
    lines = [f"# {title}", ""]
    if not summaries:
        return "\n".join(lines) + "\n"
    lines += [f"Workload shares: 6 threads, weights 1024/1024/335/335/110/110 (Linux: nice 0/0/5/5/10/10), on {CPUS} CPUs ({accel}); "
             "per system and variant the mean over boots with a bootstrap 95% interval "
             "(capos/stats.py, expanded for few boots). Jain's index over cycles/expected (1 = every thread "
             "got the same fraction of its weighted share); max err = the largest |cycles/expected - 1| "
             "of a run; class columns: mean cycles/expected of that weight class (1 = exact); used = "
             "sum of cycles / (CPUs x window). Left out: runs whose last thread read its CPU time more than "
             f"{LATE_MAX_PPM / 1e4:g}% of the window after its end (the host had stopped a vCPU, whose thread the "
             "running TSC kept charging).", ""]
    for v in VARIANTS:
        sel = [s for s in summaries if s.variant == v]
        if not sel:
            continue
        weights = sorted({w for s in sel for w in s.class_ratio}, reverse=True)
        lines += [f"## shares, variant {v} ({'all threads in one process' if v == 'threads' else 'one process per thread'})",
                  "", "| system | boots | Jain's index | max rel. error | "
                  + " | ".join(f"w={w} got/expected" for w in weights) + " | used |",
                  "|---|---|---|---|" + "---|" * len(weights) + "---|"]
        for s in sel:
            cells = [s.class_ratio[w].fmt(3) if w in s.class_ratio else "–" for w in weights]
            boots = f"{s.boots}" + (f" (+{s.left_out} left out)" if s.left_out else "")
            lines.append(f"| {_label(s.system)} | {boots} | {s.jain.fmt(4)} | {s.max_err.fmt(3)} | "
                         + " | ".join(cells) + f" | {s.used.fmt(3)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_plot(summaries: Sequence[Summary], png: Path, svg: Path) -> bool:
    """Per variant: Jain's index and the largest relative error per system, 95% interval error
    bars (the style of benchmark-smp's speedup plot). False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), squeeze=False)
    for ax, metric, name in ((axes[0][0], "jain", "Jain's index over cycles/expected"),
                             (axes[0][1], "max_err", "largest relative error")):
        for k, v in enumerate(VARIANTS):
            sel = [s for s in summaries if s.variant == v]
            if not sel:
                continue
            xs = [i + (k - 0.5) * 0.15 for i in range(len(sel))]
            ivs = [getattr(s, metric) for s in sel]
            ys = [iv.point or 0.0 for iv in ivs]
            lo = [max(0.0, y - (iv.lo if iv.lo is not None else y)) for y, iv in zip(ys, ivs)]
            hi = [max(0.0, (iv.hi if iv.hi is not None else y) - y) for y, iv in zip(ys, ivs)]
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, linestyle="none", label=f"variant {v}")
            ax.set_xticks(range(len(sel)))
            ax.set_xticklabels([_label(s.system) for s in sel], rotation=20, fontsize=7)
        if metric == "jain":
            ax.axhline(1.0, linestyle="--", color="grey", label="ideal")
        else:
            ax.axhline(0.0, linestyle="--", color="grey", label="ideal")
        ax.set_title(f"shares: {name} (95% intervals)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    fig.savefig(svg)
    plt.close(fig)
    return True


def write_all(rows: Sequence[Row], out: Path, systems: Sequence[str], title: str, accel: str,
              footer: str = "", wakeup: Sequence[WakeupRow] = (), imbalance: Sequence[ImbalanceRow] = (),
              consolidation: Sequence[ConsolidationRow] = ()) -> tuple[dict[str, Path], list[Summary]]:
    out.mkdir(parents=True, exist_ok=True)
    sums = summarize(rows, systems)
    wsums = summarize_wakeup(wakeup, systems)
    isums = summarize_tasks(imbalance, IMBALANCE_STATS, systems)
    csums = summarize_tasks(consolidation, CONSOLIDATION_STATS, systems)
    paths = {"csv": write_csv(rows, out / "results.csv"), "wakeup_csv": write_wakeup_csv(wakeup, out / "wakeup.csv"),
             "imbalance_csv": _write_rows(imbalance, IMBALANCE_FIELDS, out / "imbalance.csv"),
             "consolidation_csv": _write_rows(consolidation, CONSOLIDATION_FIELDS, out / "consolidation.csv")}
    (out / "summary.md").write_text(summary_markdown(sums, title, accel) + wakeup_markdown(wsums, accel)
                                    + tasks_markdown(f"imbalance ({accel})", IMBALANCE_INTRO, isums, IMBALANCE_STATS)
                                    + tasks_markdown(f"consolidation ({accel})", CONSOLIDATION_INTRO, csums,
                                                     CONSOLIDATION_STATS) + footer)
    for name, ss, metrics in (("imbalance", isums, IMBALANCE_STATS), ("consolidation", csums, CONSOLIDATION_STATS)):
        if ss and write_tasks_plot(ss, metrics, name, out / f"{name}.png", out / f"{name}.svg"):
            paths[f"{name}_png"] = out / f"{name}.png"
            paths[f"{name}_svg"] = out / f"{name}.svg"
    paths["summary"] = out / "summary.md"
    if rows and write_plot(sums, out / "shares.png", out / "shares.svg"):
        paths["png"] = out / "shares.png"
        paths["svg"] = out / "shares.svg"
    if wsums and write_wakeup_plot(wsums, out / "wakeup.png", out / "wakeup.svg"):
        paths["wakeup_png"] = out / "wakeup.png"
        paths["wakeup_svg"] = out / "wakeup.svg"
    return paths, sums


# ---- running ------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", type=Path)
    ap.add_argument("--from-csv", type=Path, metavar="DIR",
                    help="boot nothing: recompute the report from DIR/results.csv into --out or DIR")
    ap.add_argument("--iso", type=Path, default=None)
    ap.add_argument("--boots", type=int, default=5, help="boots per system (default 5)")
    ap.add_argument("--policy", nargs="+", default=list(POLICIES),
                    help=f"capOS placements: kernel or a policy spec name[:key=value,...] (default: all shipped, "
                         f"{' '.join(POLICIES)})")
    ap.add_argument("--no-linux", action="store_true", help="capOS only")
    ap.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS),
                    help="placement workloads (default: all)")
    ap.add_argument("--trace", action="store_true",
                    help="record the placement trace of every boot with a policy server, save it under traces/ and "
                         "check it with placement-tool (replay under the same spec, conformance); summary.md and "
                         "traces.csv list the results")
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--accel", choices=("auto", "kvm", "tcg-mt", "tcg"), default="auto")
    ap.add_argument("--timeout", type=float, default=240.0, help="per boot, seconds (default 240)")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.build_dir is None and a.from_csv is None:
        ap.error("--build-dir is required (or --from-csv DIR)")
    if a.boots < 1:
        ap.error("--boots must be at least 1")
    for p in a.policy:
        why = check_spec(p)
        if why is not None:
            ap.error(why)
    if len(set(a.policy)) != len(a.policy):
        ap.error("--policy: a spec is given twice")
    return a


def window_other(windows: Sequence[Any]) -> dict[str, float]:
    """Other host work per variant (shares) or for the one window (wakeup: key "wakeup")."""
    out = _window_other(windows)
    for w in windows:
        if getattr(w, "label", "") in ("wakeup-0", "imbalance-0", "consolidation-0"):
            out[w.label.split("-")[0]] = w.other_host_frac
    return out


def _window_other(windows: Sequence[Any]) -> dict[str, float]:
    """Other host work per variant, from the `[bench-window] shares-<variant>-<run>` windows."""
    out: dict[str, float] = {}
    for w in windows:
        m = re.match(r"shares-(threads|procs)-\d+\Z", getattr(w, "label", ""))
        if m:
            out[m.group(1)] = w.other_host_frac
    return out


def check_runs(workload: str, runs: Sequence[Any]) -> str | None:
    """A boot must give one verified run per variant (shares) or kind (wakeup), or one verified
    run (imbalance, consolidation)."""
    if workload in ("imbalance", "consolidation"):
        if len(runs) != 1:
            return f"expected one [{workload}] line, got {len(runs)}"
        return None if runs[0].verified else f"the [{workload}] run is not verified (a thread or a count failed)"
    want = VARIANTS if workload == "shares" else WAKEUP_KINDS
    got = sorted(r.variant if isinstance(r, SharesRun) else r.kind for r in runs)
    if got != sorted(want):
        return f"expected one run per {'variant' if workload == 'shares' else 'kind'} {want}, got {got}"
    if not all(r.verified for r in runs):
        return "a run is not verified (a thread did not report or a call failed)"
    return None


def run_boot(a: argparse.Namespace, acc: qemu.Accel, boot: Boot, out: Path, iso: Path,
             initrd: Path | None) -> tuple[list[Any], str | None, Any, Path]:
    log = out / f"{boot.tag}.log"
    if boot.os == "capos":
        cmdline = capos_cmdline(boot.system, boot.workload)
        if getattr(a, "trace", False) and boot.system != "kernel":
            cmdline = placement_trace.cmdline_with_trace(cmdline)
        spec = qemu.QemuSpec(accel=acc, smp=CPUS, memory=a.memory, cpu=acc.default_cpu, iso=iso,
                             cmdline=cmdline, log=log, timeout=a.timeout)
        res = qemu.run(spec, until=capos_done)
        err = check_capos(res.text, boot.system, boot.workload)
    else:
        assert initrd is not None
        spec = qemu.QemuSpec(accel=acc, smp=CPUS, memory=a.memory, cpu=acc.default_cpu,
                             kernel=linux_baseline.find_kernel(), initrd=initrd,
                             append=linux_append(WINDOW_MS, boot.workload), log=log, timeout=a.timeout)
        res = qemu.run(spec, until=linux_baseline.done_marker)
        st = linux_baseline.done_marker(res.text)
        err = None if st == "ok" else f"Linux /init ended with status {st or 'none (no done line)'}"
    try:
        parse = {"shares": parse_text, "wakeup": parse_wakeup_text, "imbalance": parse_imbalance_text,
                 "consolidation": parse_consolidation_text}[boot.workload]
        runs: list[Any] = list(parse(res.text))
    except SharesLineError as e:
        return [], f"malformed [{boot.workload}] line: {e}", res, log
    if err is None:
        err = check_runs(boot.workload, runs)
    if err is not None:
        err += f"; last lines:\n{qemu.tail(res.text, 12)}"
    return runs, err, res, log


def main() -> int:
    argv = sys.argv[1:] + shlex.split(os.environ.get("CAPOS_POLICY_BENCH_ARGS", ""))
    a = parse_args(argv)
    systems = list(a.policy) + ([] if a.no_linux else [LINUX])
    if a.from_csv is not None:
        src = a.from_csv.resolve()
        rows = read_csv(src / "results.csv")
        wrows = read_wakeup_csv(src / "wakeup.csv") if (src / "wakeup.csv").is_file() else []
        irows = _read_rows(src / "imbalance.csv", ImbalanceRow) if (src / "imbalance.csv").is_file() else []
        crows = (_read_rows(src / "consolidation.csv", ConsolidationRow)
                 if (src / "consolidation.csv").is_file() else [])
        every: list[Any] = [*rows, *wrows, *irows, *crows]
        present = {r.system for r in every}
        seen = [s for s in systems if s in present] or sorted(present)
        accel = ", ".join(sorted({r.accel for r in every}))
        paths, _ = write_all(rows, (a.out or src).resolve(), seen,
                             f"capOS placement workloads ({accel}; recomputed from {src.name})", accel, wakeup=wrows,
                             imbalance=irows, consolidation=crows)
        print((paths["summary"]).read_text())
        return 0
    build = a.build_dir.resolve()
    missing = missing_manifests(build, a.policy, a.workloads)
    if missing:
        print(f"[policies] error: no manifest {', '.join(missing)} in {build}: a policy needs one per workload "
              f"(add it to benchmarks/capos/meson.build's placement-workload loop: docs/writing-a-policy.md, section 7)", flush=True)
        return 2
    iso = (a.iso or build / "iso" / "capos.iso").resolve()
    acc = qemu.detect_accel(build, iso) if a.accel == "auto" else {
        "kvm": qemu.KVM, "tcg-mt": qemu.TCG_MT, "tcg": qemu.TCG_ST}[a.accel]
    out = (a.out or build / "benchmarks" / f"policies-{time.strftime('%Y%m%dT%H%M%S')}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    initrd = None if a.no_linux else pack_linux_initramfs(build, build / "benchmarks" / "linux-policies.cpio")
    plan = make_plan(systems, a.boots, a.workloads)
    print(f"[policies] accelerator: {acc.name} ({acc.reason or 'forced'}); host: {report.host_cores()} cores; "
          f"QEMU -smp {CPUS} -cpu {acc.default_cpu} -m {a.memory}; workloads {' '.join(a.workloads)}; systems "
          f"{' '.join(systems)}; {a.boots} boots each ({len(plan)} planned); output {out}", flush=True)
    if acc.name == "tcg":
        print("[policies] single-threaded TCG: the 2 vCPUs take turns on one host thread; shares are "
              "functional only", flush=True)
    rows: list[Row] = []
    wrows: list[WakeupRow] = []
    irows: list[ImbalanceRow] = []
    crows: list[ConsolidationRow] = []
    failures: list[str] = []
    latencies: dict[str, list[placement_latency.Latency]] = {}
    traces: list[tuple[str, str, placement_trace.TraceResult]] = []
    tool = build / "harness" / "replay" / "placement-tool"
    if a.trace:
        traced = [p for p in a.policy if p != "kernel"]
        print(f"[policies] --trace: a trace per boot of {' '.join(traced) or 'no policy'}"
              f"{' (kernel: no server, no trace)' if 'kernel' in a.policy else ''}", flush=True)
    meter_all = hostload.Meter()
    t0 = time.monotonic()
    for i, boot in enumerate(plan, start=1):
        meter = hostload.Meter()
        runs, err, res, log = run_boot(a, acc, boot, out, iso, initrd)
        other = meter.stop().share
        spent = time.monotonic() - t0
        eta = spent / i * (len(plan) - i)
        other_w = window_other(getattr(res, "windows", []) or [])
        if err is None and boot.workload == "shares":
            rows += rows_of(boot.system, boot.index, runs, acc.name, other_w, str(log))
            by = {r.variant: r for r in runs}
            detail = " ".join(f"{v}: jain={by[v].jain:.4f} max_err={by[v].max_err:.3f} used={by[v].used:.3f}"
                              f"{' LEFT OUT (late %.1f%%)' % (by[v].late_ppm / 1e4) if by[v].late_ppm > LATE_MAX_PPM else ''}"
                              for v in VARIANTS)
        elif err is None and boot.workload == "imbalance":
            r = runs[0]
            irows.append(imbalance_row_of(boot.system, boot.index, r, acc.name, other_w.get("imbalance"), str(log)))
            detail = (f"makespan={r.makespan_ms:.0f}ms efficiency={r.efficiency:.3f} busy="
                      + ",".join(f"{b / 1e6:.3f}" for b in r.busy_ppm))
        elif err is None and boot.workload == "consolidation":
            r = runs[0]
            crows.append(consolidation_row_of(boot.system, boot.index, r, acc.name, other_w.get("consolidation"),
                                              str(log)))
            detail = (f"busy=" + ",".join(f"{b / 1e6:.3f}" for b in r.busy_ppm)
                      + f" cpus_used={r.cpus_used} missed={r.missed_frac:.3f}")
        elif err is None:
            wrows += wakeup_rows_of(boot.system, boot.index, runs, acc.name, other_w.get("wakeup"), str(log))
            detail = " ".join(f"{r.kind}: p50={r.us(r.p50):.0f}us p99={r.us(r.p99):.0f}us "
                              f"p99.9={r.us(r.p999):.0f}us max={r.us(r.max):.0f}us ({r.samples} samples)"
                              for r in runs)
        else:
            failures.append(f"{boot.tag}: {err.splitlines()[0]}")
            detail = f"FAILED: {err}"
        print(f"[policies] {i}/{len(plan)} {boot.os} {boot.system if boot.os == 'capos' else '-'} {boot.workload} boot "
              f"{boot.index}/{a.boots}: {detail} ({res.elapsed:.1f}s, other host {100 * other:.1f}%, elapsed "
              f"{spent / 60:.1f} min, ETA {eta / 60:.1f} min)", flush=True)
        lat = placement_latency.last(res.text) if boot.os == "capos" else None
        if lat is not None:
            latencies.setdefault(boot.system, []).append(lat)
            print(f"[policies]   placement: {lat.describe()}", flush=True)
        elif boot.os == "capos" and boot.system != "kernel":
            print("[policies]   placement: no latency line (no decision was timed)", flush=True)
        if a.trace and boot.os == "capos" and boot.system != "kernel":
            tr = placement_trace.save_and_check(res.text, out, boot.tag, boot.system, tool)
            traces.append((boot.tag, boot.system, tr))
            print(f"[policies]   trace: {tr.describe()}", flush=True)
        for r in (runs if boot.workload == "shares" else []):
            print(f"[policies]   {r.variant}: weights {','.join(map(str, r.weights))} got/expected "
                  f"{','.join(f'{c / e:.3f}' if e else '-' for c, e in zip(r.cycles, r.expected))}", flush=True)
    foreign = meter_all.stop()
    footer = (f"\nHost: {foreign.describe()}"
              f"{' -- the host was busy: other work shared the cores, so figures are noisy' if foreign.busy else ''}.\n")
    footer += latency_md(latencies)
    footer += placement_trace.markdown(traces)
    if failures:
        footer += "\nFailed boots (left out):\n" + "".join(f"- {f}\n" for f in failures)
    paths, _ = write_all(rows, out, systems, f"capOS placement workloads ({acc.name})", acc.name, footer, wrows,
                         irows, crows)
    if traces:
        paths["traces_csv"] = placement_trace.write_csv(traces, out / "traces.csv")
    print(paths["summary"].read_text())
    for name, p in paths.items():
        print(f"[policies] {name}: {p}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
