"""stats.py: medians, speedups and capOS/Linux ratios of benchmark samples.

A Sample is one verified run of one case (OS, policy, workload, CPU count,
accelerator). summarize() groups samples into cases and takes medians;
speedup(1->n) = median(1 CPU) / median(n CPUs) of the same OS, policy,
workload and accelerator; the capOS/Linux ratio compares capOS's speedup
with Linux's for the same workload, CPU count and accelerator (the gate of
docs/benchmarks.md), and also reports the ratio of median work times.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .resultline import ProcessScale, ThreadScale


def median(values: Sequence[float]) -> float:
    """The median; the mean of the middle two for an even count. Raises ValueError when empty."""
    if not values:
        raise ValueError("median of no values")
    s = sorted(values)
    mid = len(s) // 2
    if len(s) % 2:
        return float(s[mid])
    return (s[mid - 1] + s[mid]) / 2.0


def speedup(base: float, value: float) -> float:
    """base / value (time ratio: >1 means faster); ValueError on non-positive inputs."""
    if base <= 0 or value <= 0:
        raise ValueError(f"speedup needs positive times, got {base} and {value}")
    return base / value


@dataclass(frozen=True)
class Sample:
    os: str             # "capos" | "linux"
    workload: str       # "process" | "thread"
    cpus: int
    parallelism: int    # workers or threads
    accel: str          # "kvm" | "tcg-mt" | "tcg"
    run: int
    work: int           # cycles of the timed compute window
    total: int          # cycles spawn to join (== work for process scale)
    verified: bool
    policy: str = ""    # capOS placement policy server; "" for Linux
    spawn_ready: int | None = None
    shutdown: int | None = None
    tsc_hz: int | None = None
    log: str = ""

    @classmethod
    def from_record(cls, rec: ProcessScale | ThreadScale, *, os: str, accel: str, run: int, policy: str = "",
                    log: str = "", tsc_hz: int | None = None) -> "Sample":
        return cls(os=os, workload=rec.workload, cpus=rec.cpus, parallelism=rec.parallelism, accel=accel, run=run,
                   work=rec.work, total=rec.total, verified=rec.verified, policy=policy,
                   spawn_ready=getattr(rec, "spawn_ready", None), shutdown=getattr(rec, "shutdown", None),
                   tsc_hz=tsc_hz, log=log)


CaseKey = tuple[str, str, str, str, int]  # (os, policy, workload, accel, cpus)


@dataclass
class Case:
    os: str
    policy: str
    workload: str
    accel: str
    cpus: int
    runs: int
    median_work: float
    median_total: float
    min_work: int
    max_work: int
    speedup_work: float | None = None   # vs the same series at 1 CPU
    speedup_total: float | None = None
    linux_speedup_work: float | None = None   # capOS rows: Linux's speedup for the same case
    ratio_speedup_work: float | None = None   # capOS speedup / Linux speedup
    ratio_work_time: float | None = None      # capOS median work / Linux median work
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> CaseKey:
        return (self.os, self.policy, self.workload, self.accel, self.cpus)

    @property
    def series(self) -> tuple[str, str, str, str]:
        return (self.os, self.policy, self.workload, self.accel)


def summarize(samples: Iterable[Sample]) -> list[Case]:
    """Cases with medians, speedups vs 1 CPU and capOS/Linux ratios, sorted by series then CPUs.

    Unverified samples are ignored: a run that failed verification has no timing.
    """
    groups: dict[CaseKey, list[Sample]] = {}
    for s in samples:
        if not s.verified:
            continue
        groups.setdefault((s.os, s.policy, s.workload, s.accel, s.cpus), []).append(s)
    cases: dict[CaseKey, Case] = {}
    for key, ss in groups.items():
        works = [s.work for s in ss]
        cases[key] = Case(*key, runs=len(ss), median_work=median(works), median_total=median([s.total for s in ss]),
                          min_work=min(works), max_work=max(works))
    for c in cases.values():
        base = cases.get((c.os, c.policy, c.workload, c.accel, 1))
        if base is not None:
            c.speedup_work = speedup(base.median_work, c.median_work)
            c.speedup_total = speedup(base.median_total, c.median_total)
    linux = {(c.workload, c.accel, c.cpus): c for c in cases.values() if c.os == "linux"}
    for c in cases.values():
        if c.os == "linux":
            continue
        ref = linux.get((c.workload, c.accel, c.cpus))
        if ref is None:
            continue
        c.ratio_work_time = c.median_work / ref.median_work
        c.linux_speedup_work = ref.speedup_work
        if c.speedup_work is not None and ref.speedup_work:
            c.ratio_speedup_work = c.speedup_work / ref.speedup_work
    return sorted(cases.values(), key=lambda c: (c.workload, c.os != "linux", c.os, c.policy, c.accel, c.cpus))


def find(cases: Iterable[Case], os: str, workload: str, cpus: int, policy: str | None = None) -> Case | None:
    for c in cases:
        if c.os == os and c.workload == workload and c.cpus == cpus and (policy is None or c.policy == policy):
            return c
    return None


@dataclass(frozen=True)
class GateResult:
    workload: str
    policy: str
    capos: float | None
    linux: float | None
    required: float | None
    passed: bool
    reason: str


def gate_1_to_2(cases: Sequence[Case], *, ratio: float = 0.98, kvm_floor: float = 1.95) -> list[GateResult]:
    """capOS's 1->2 median work speedup must reach `ratio` x Linux's (same run, same accelerator)
    for each workload and capOS policy, and at least `kvm_floor` under KVM."""
    out: list[GateResult] = []
    for c in cases:
        if c.os == "linux" or c.cpus != 2:
            continue
        lin = next((x for x in cases if x.os == "linux" and x.workload == c.workload and x.accel == c.accel
                    and x.cpus == 2), None)
        if c.speedup_work is None or lin is None or lin.speedup_work is None:
            out.append(GateResult(c.workload, c.policy, c.speedup_work, None, None, False,
                                  "no Linux 1->2 speedup from the same run and accelerator"))
            continue
        need = lin.speedup_work * ratio
        if c.accel == "kvm":
            need = max(need, kvm_floor)
        ok = c.speedup_work >= need
        out.append(GateResult(c.workload, c.policy, c.speedup_work, lin.speedup_work, need, ok,
                              f"capOS {c.speedup_work:.3f}x vs required {need:.3f}x "
                              f"({ratio:.2f} x Linux {lin.speedup_work:.3f}x{', KVM floor' if c.accel == 'kvm' else ''})"))
    return out


def gate_passed(results: Sequence[GateResult], workloads: Sequence[str] = ("process", "thread")) -> bool:
    """True only if every workload has at least one gate result and all of them passed."""
    present = {r.workload for r in results}
    return all(w in present for w in workloads) and all(r.passed for r in results)
