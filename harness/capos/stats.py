"""stats.py: medians, speedups, bootstrap intervals, the paired design and the 1->2 gate.

A Sample is one verified run of one case. Two designs produce samples:

- per-count (the seed's contract): one boot per (OS, CPU count), workers =
  CPUs; speedup(1->n) = median(1 CPU) / median(n CPUs) of the same OS,
  policy, workload and accelerator (summarize()).
- paired: one -smp 2 boot runs 1 and 2 workers alternately in ABBA blocks;
  each boot yields its own speedup, mean work of its 1-worker runs / mean
  work of its 2-worker runs (paired_boots()). A host whose speed drifts
  linearly over the boot slows both worker counts equally on average, since
  an ABBA block is symmetric in time about its centre whatever the run
  lengths; a per-boot speed mode (a whole boot running fast or slow, seen on
  this host) cancels in the ratio. The capOS/Linux ratio's interval is taken
  over the per-boot speedups of each OS (gate_paired()).

Every estimate comes with a 95 % interval from bootstrap() (see there for
why the method is valid and how it is widened for few runs). The gate has
three verdicts: PASS (lower bound >= bar), FAIL (upper bound < bar) and
INCONCLUSIVE (the interval straddles the bar, too few boots, or the host
could not deliver the cores: host_reasons()).
"""
from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable, Mapping, Sequence

from .resultline import ProcessScale, ThreadScale

PASS = "PASS"
FAIL = "FAIL"
INCONCLUSIVE = "INCONCLUSIVE"

PAIRED = "paired"
PER_COUNT = "per-count"

# Host-delivery thresholds of the gate (docs/benchmarks.md, "Host checks").
#
# Other host work: at most 5 % of the host's CPU capacity during a boot or a
# timed window. On this 2-core host that is 0.1 core. The idle host's
# background (kernel threads, daemons; the harness itself is subtracted)
# measured 0.2-1.3 % in the README's runs, while one compile job or another
# QEMU keeps a whole core (50 %) busy while it runs. Under TCG guest cycles
# are wall time, so a core taken by someone else shows up as guest work.
MAX_OTHER_HOST_FRAC = 0.05
# vCPU delivery: in a window timing k workers, each of the k busiest vCPU
# threads must have had at least 90 % of the window's wall time on a host
# CPU. It is a detector of gross non-delivery (a core given to other work
# for a sizeable part of a run), not the precision instrument: smaller,
# random losses vary from boot to boot and widen the interval, which then
# says so. A vCPU thread running guest code under TCG is busy all the time;
# the host's timer ticks, QEMU's own I/O thread and /proc's 10 ms accounting
# granularity (0.4 % of a 2.5 s window) stay well inside the 10 % margin.
# Only the k busiest vCPUs count: in a 1-worker window the other vCPU idles
# (HLT) and its thread sleeps by design. A guest that leaves a vCPU idle
# while k workers should run (both on one CPU) trips this check too; the
# verdict names the window and the shares so that can be read.
MIN_VCPU_SHARE = 0.90

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20261202


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


def mean(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


# ---------------------------------------------------------------------------
# Bootstrap intervals


def _t_pdf(x: float, df: int) -> float:
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    return c * (1.0 + x * x / df) ** (-(df + 1) / 2)


def _t_cdf_pos(x: float, df: int, steps: int = 2000) -> float:
    """P(T <= x) for x >= 0, Simpson's rule on the density from 0 to x."""
    h = x / steps
    acc = _t_pdf(0.0, df) + _t_pdf(x, df)
    for i in range(1, steps):
        acc += (4 if i % 2 else 2) * _t_pdf(i * h, df)
    return 0.5 + acc * h / 3


@lru_cache(maxsize=64)
def student_t_quantile(p: float, df: int) -> float:
    """The p-quantile (p in (0.5, 1)) of Student's t with df degrees of freedom, by bisection."""
    if not 0.5 < p < 1 or df < 1:
        raise ValueError("need 0.5 < p < 1 and df >= 1")
    if df == 1:  # Cauchy: closed form (its heavy tail is where Simpson's rule would be coarse)
        return math.tan(math.pi * (p - 0.5))
    if df == 2:  # F(t) = 1/2 + t / (2 sqrt(2 + t^2))
        u = 2 * p - 1
        return u * math.sqrt(2 / (1 - u * u))
    lo, hi = 0.0, 1.0
    while _t_cdf_pos(hi, df) < p:
        hi *= 2
        if hi > 1e6:
            return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if _t_cdf_pos(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def expanded_alpha(alpha: float, n: int) -> float:
    """The two-sided tail probability at which to read the bootstrap percentiles for n samples.

    Hesterberg's expanded percentile interval: choose alpha' with
    z(1 - alpha'/2) = sqrt(n / (n - 1)) * t(n - 1, 1 - alpha/2), which
    corrects the bootstrap's too-small variance ((n-1)/n) and its normal
    tails where Student's t applies. n = 2 gives (almost) 0: the full range
    of the resamples."""
    if n < 2:
        raise ValueError("n >= 2")
    z = math.sqrt(n / (n - 1)) * student_t_quantile(1 - alpha / 2, n - 1)
    return 2 * (1 - statistics.NormalDist().cdf(z))


@dataclass(frozen=True)
class Interval:
    point: float | None
    lo: float | None
    hi: float | None
    n: tuple[int, ...] = ()       # runs (or boots) in each resampled group
    level: float = 0.95
    note: str = ""                # why there is no interval, if there is none

    @property
    def degenerate(self) -> bool:
        return self.lo is None or self.hi is None

    @property
    def half_width(self) -> float | None:
        return None if self.lo is None or self.hi is None else (self.hi - self.lo) / 2

    def fmt(self, digits: int = 3, suffix: str = "") -> str:
        if self.point is None:
            return "–"
        p = f"{self.point:.{digits}f}{suffix}"
        if self.lo is None or self.hi is None:
            return f"{p} [no interval: {self.note or 'too few runs'}]"
        return f"{p} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"


Statistic = Callable[[Sequence[Sequence[float]]], float]


def bootstrap(groups: Sequence[Sequence[float]], statistic: Statistic, *, level: float = 0.95,
              resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED, expand: bool = True) -> Interval:
    """Percentile-bootstrap interval of statistic(groups), each group resampled on its own.

    Why this is a valid choice here: the groups are independent boots (or
    runs of independent boots), so resampling each group with replacement
    reproduces how the data were drawn, and the statistics used (medians,
    means and ratios of them) are smooth or robust functions of the groups
    for which the percentile bootstrap is consistent. The percentile
    interval needs no normality of the runs (this host's per-boot speed
    modes make them bimodal) and respects monotone transformations, so a
    ratio's interval is the same whether one thinks of it on a linear or a
    log scale. Its known weakness is few samples: for n = 3-5 a plain 95 %
    percentile interval covers clearly less than 95 %. With expand=True the
    percentiles are read at expanded_alpha(1 - level, n) with n the smallest
    group (the conservative choice), which is the plain interval for large
    n. A group of one gives no interval (Interval.degenerate, with a note):
    nothing can be said about its spread. The seed is fixed, so the same
    data give the same interval."""
    sizes = tuple(len(g) for g in groups)
    if not groups or min(sizes) == 0:
        return Interval(None, None, None, sizes, level, "no data")
    data = [list(map(float, g)) for g in groups]
    point = statistic(data)
    if min(sizes) < 2:
        return Interval(point, None, None, sizes, level, "one run in a group")
    rng = random.Random(seed)
    values = sorted(statistic([rng.choices(g, k=len(g)) for g in data]) for _ in range(resamples))
    alpha = 1 - level
    a = expanded_alpha(alpha, min(sizes)) if expand else alpha
    return Interval(point, _quantile(values, a / 2), _quantile(values, 1 - a / 2), sizes, level)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (q in [0, 1])."""
    pos = q * (len(sorted_values) - 1)
    i = math.floor(pos)
    j = min(i + 1, len(sorted_values) - 1)
    return sorted_values[i] + (sorted_values[j] - sorted_values[i]) * (pos - i)


def _median_ratio(g: Sequence[Sequence[float]]) -> float:
    return median(g[0]) / median(g[1])


def _median_ratio_of_ratios(g: Sequence[Sequence[float]]) -> float:
    return (median(g[0]) / median(g[1])) / (median(g[2]) / median(g[3]))


def _median0(g: Sequence[Sequence[float]]) -> float:
    return median(g[0])


def _mean0(g: Sequence[Sequence[float]]) -> float:
    return mean(g[0])


def _mean_ratio(g: Sequence[Sequence[float]]) -> float:
    return mean(g[0]) / mean(g[1])


def speedup_interval(base: Sequence[float], value: Sequence[float], **kw: object) -> Interval:
    """median(base) / median(value) with its bootstrap interval (per-count rows)."""
    return bootstrap([base, value], _median_ratio, **kw)  # type: ignore[arg-type]


def ratio_of_speedups_interval(c1: Sequence[float], cn: Sequence[float], l1: Sequence[float],
                               ln: Sequence[float], **kw: object) -> Interval:
    """(median c1 / median cn) / (median l1 / median ln): the per-count capOS/Linux ratio."""
    return bootstrap([c1, cn, l1, ln], _median_ratio_of_ratios, **kw)  # type: ignore[arg-type]


def mean_interval(values: Sequence[float], **kw: object) -> Interval:
    return bootstrap([values], _mean0, **kw)  # type: ignore[arg-type]


def mean_ratio_interval(num: Sequence[float], den: Sequence[float], **kw: object) -> Interval:
    """mean(num) / mean(den): the paired capOS/Linux ratio over per-boot speedups."""
    return bootstrap([num, den], _mean_ratio, **kw)  # type: ignore[arg-type]


def median_interval(values: Sequence[float], **kw: object) -> Interval:
    return bootstrap([values], _median0, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Samples and per-count cases


@dataclass(frozen=True)
class Sample:
    os: str             # "capos" | "linux"
    workload: str       # "process" | "thread"
    cpus: int
    parallelism: int    # workers or threads
    accel: str          # "kvm" | "tcg-mt" | "tcg"
    run: int
    work: int           # cycles of the timed compute window
    total: int | None   # cycles spawn to shutdown; None when the guest did not report it (old process lines)
    verified: bool
    policy: str = ""    # capOS placement policy server; "" for Linux
    spawn_ready: int | None = None
    shutdown: int | None = None
    tsc_hz: int | None = None
    log: str = ""
    design: str = PER_COUNT            # PER_COUNT | PAIRED
    boot: str = ""                     # boot id (the log's stem)
    seq: int = 0                       # index of this run among the boot's result lines, from 0
    boot_other_host: float | None = None    # other host work over the whole boot (hostload.Meter share)
    window_wall_s: float | None = None      # host attribution of this run's timed window, if measured
    window_other_host: float | None = None
    vcpu_cpu_s: Mapping[int, float] = field(default_factory=dict)   # host CPU s per vCPU in the window
    counters: Mapping[str, int] = field(default_factory=dict)       # "guest.<key>", "tcg.<key>" deltas

    @classmethod
    def from_record(cls, rec: ProcessScale | ThreadScale, *, os: str, accel: str, run: int, policy: str = "",
                    log: str = "", tsc_hz: int | None = None, **extra: object) -> "Sample":
        return cls(os=os, workload=rec.workload, cpus=rec.cpus, parallelism=rec.parallelism, accel=accel, run=run,
                   work=rec.work, total=rec.total, verified=rec.verified, policy=policy,
                   spawn_ready=getattr(rec, "spawn_ready", None), shutdown=getattr(rec, "shutdown", None),
                   tsc_hz=tsc_hz, log=log, **extra)  # type: ignore[arg-type]

    @property
    def vcpu_share(self) -> float | None:
        """Host CPU share of the k-th busiest vCPU thread in this run's window (k = workers): the
        least any vCPU that had a worker to run got. None when the window was not measured."""
        if not self.vcpu_cpu_s or not self.window_wall_s:
            return None
        shares = sorted((v / self.window_wall_s for v in self.vcpu_cpu_s.values()), reverse=True)
        return shares[min(self.parallelism, len(shares)) - 1]


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
    median_total: float | None
    min_work: int
    max_work: int
    speedup_work: float | None = None   # vs the same series at 1 CPU
    speedup_total: float | None = None
    linux_speedup_work: float | None = None   # capOS rows: Linux's speedup for the same case
    ratio_speedup_work: float | None = None   # capOS speedup / Linux speedup
    ratio_work_time: float | None = None      # capOS median work / Linux median work
    work_ci: Interval | None = None           # median work, cycles
    speedup_ci: Interval | None = None        # speedup_work
    ratio_ci: Interval | None = None          # ratio_speedup_work
    host: tuple[str, ...] = ()                # host_reasons of its runs (the host could not deliver)
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> CaseKey:
        return (self.os, self.policy, self.workload, self.accel, self.cpus)

    @property
    def series(self) -> tuple[str, str, str, str]:
        return (self.os, self.policy, self.workload, self.accel)


def summarize(samples: Iterable[Sample], *, resamples: int = BOOTSTRAP_RESAMPLES) -> list[Case]:
    """Per-count cases with medians, speedups vs 1 CPU, capOS/Linux ratios and their intervals,
    sorted by series then CPUs.

    Only per-count samples are used (paired runs have their own summary), and
    unverified samples are ignored: a run that failed verification has no timing.
    """
    groups: dict[CaseKey, list[Sample]] = {}
    for s in samples:
        if not s.verified or s.design != PER_COUNT:
            continue
        groups.setdefault((s.os, s.policy, s.workload, s.accel, s.cpus), []).append(s)
    works: dict[CaseKey, list[float]] = {k: [float(s.work) for s in ss] for k, ss in groups.items()}
    cases: dict[CaseKey, Case] = {}
    for key, ss in groups.items():
        totals = [s.total for s in ss if s.total is not None]
        w = works[key]
        cases[key] = Case(*key, runs=len(ss), median_work=median(w),
                          median_total=median(totals) if len(totals) == len(ss) else None,
                          min_work=int(min(w)), max_work=int(max(w)),
                          work_ci=median_interval(w, resamples=resamples), host=tuple(host_reasons(ss)[0]))
    for c in cases.values():
        base = cases.get((c.os, c.policy, c.workload, c.accel, 1))
        if base is not None:
            c.speedup_work = speedup(base.median_work, c.median_work)
            if base.median_total is not None and c.median_total is not None:
                c.speedup_total = speedup(base.median_total, c.median_total)
            c.speedup_ci = (Interval(1.0, 1.0, 1.0, (c.runs,), note="the base") if c is base else
                            speedup_interval(works[base.key], works[c.key], resamples=resamples))
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
            cb = cases[(c.os, c.policy, c.workload, c.accel, 1)]
            lb = linux[(c.workload, c.accel, 1)]
            c.ratio_ci = (Interval(1.0, 1.0, 1.0, (c.runs, ref.runs), note="the base") if c.cpus == 1 else
                          ratio_of_speedups_interval(works[cb.key], works[c.key], works[lb.key], works[ref.key],
                                                     resamples=resamples))
    return sorted(cases.values(), key=lambda c: (c.workload, c.os != "linux", c.os, c.policy, c.accel, c.cpus))


def find(cases: Iterable[Case], os: str, workload: str, cpus: int, policy: str | None = None) -> Case | None:
    for c in cases:
        if c.os == os and c.workload == workload and c.cpus == cpus and (policy is None or c.policy == policy):
            return c
    return None


def decide(iv: Interval, bar: float) -> str:
    """PASS if the interval lies at or above bar, FAIL if wholly below, else INCONCLUSIVE."""
    if iv.lo is None or iv.hi is None:
        return INCONCLUSIVE
    if iv.lo >= bar:
        return PASS
    if iv.hi < bar:
        return FAIL
    return INCONCLUSIVE


def combine(*verdicts: str) -> str:
    """All criteria must pass: any FAIL fails, otherwise any INCONCLUSIVE is inconclusive."""
    if FAIL in verdicts:
        return FAIL
    if INCONCLUSIVE in verdicts:
        return INCONCLUSIVE
    return PASS


@dataclass(frozen=True)
class GateResult:
    """The per-count (one boot per CPU count) 1->2 comparison: reported beside the paired gate."""
    workload: str
    policy: str
    capos: float | None
    linux: float | None
    required: float | None
    passed: bool
    reason: str
    verdict: str = INCONCLUSIVE
    ratio: Interval | None = None


def gate_1_to_2(cases: Sequence[Case], *, ratio: float = 0.98, kvm_floor: float = 1.95) -> list[GateResult]:
    """Per-count verdict per workload and capOS policy: the capOS/Linux ratio of 1->2 median work
    speedups against `ratio` by its interval, and capOS's speedup interval against `kvm_floor`
    under KVM."""
    out: list[GateResult] = []
    for c in cases:
        if c.os == "linux" or c.cpus != 2:
            continue
        lin = next((x for x in cases if x.os == "linux" and x.workload == c.workload and x.accel == c.accel
                    and x.cpus == 2), None)
        if c.speedup_work is None or lin is None or lin.speedup_work is None or c.ratio_ci is None:
            out.append(GateResult(c.workload, c.policy, c.speedup_work, None, None, False,
                                  "no Linux 1->2 speedup from the same run and accelerator"))
            continue
        verdicts = [decide(c.ratio_ci, ratio)]
        need = lin.speedup_work * ratio
        text = f"capOS/Linux {c.ratio_ci.fmt()} vs {ratio:.2f}"
        if c.accel == "kvm":
            need = max(need, kvm_floor)
            verdicts.append(decide(c.speedup_ci or Interval(None, None, None), kvm_floor))
            text += f"; capOS {c.speedup_ci.fmt() if c.speedup_ci else '–'} vs KVM floor {kvm_floor:.2f}x"
        v = combine(*verdicts)
        if c.ratio_ci.degenerate:
            text += " (one run per case: no interval)"
        # The four cases of the comparison: this series and Linux's, at 1 and 2 CPUs.
        four = [x for x in cases if x.workload == c.workload and x.accel == c.accel and x.cpus in (1, 2)
                and (x.os == "linux" or (x.os == c.os and x.policy == c.policy))]
        host = sorted({r for x in four for r in x.host})
        if host:
            v = INCONCLUSIVE
            text += "; host could not deliver the cores: " + "; ".join(host)
        out.append(GateResult(c.workload, c.policy, c.speedup_work, lin.speedup_work, need, v == PASS,
                              f"{text}; capOS {c.speedup_work:.3f}x, Linux {lin.speedup_work:.3f}x", v, c.ratio_ci))
    return out


def gate_passed(results: Sequence[GateResult], workloads: Sequence[str] = ("process", "thread")) -> bool:
    """True only if every workload has at least one gate result and all of them passed."""
    present = {r.workload for r in results}
    return all(w in present for w in workloads) and all(r.passed for r in results)


# ---------------------------------------------------------------------------
# Host delivery


def host_reasons(samples: Iterable[Sample], *, max_other: float = MAX_OTHER_HOST_FRAC,
                 min_share: float = MIN_VCPU_SHARE) -> tuple[list[str], bool]:
    """Why the host could not deliver the cores for these runs (empty: it could), and whether
    every run's vCPU time was measured (False: the vCPU check was not done for some runs)."""
    reasons: list[str] = []
    checked = True
    worst_other: tuple[float, str] | None = None
    worst_share: tuple[float, str] | None = None
    for s in samples:
        for frac in (s.boot_other_host, s.window_other_host):
            if frac is not None and frac > max_other and (worst_other is None or frac > worst_other[0]):
                worst_other = (frac, f"{s.boot} run {s.seq}")
        share = s.vcpu_share
        if share is None:
            checked = False
        elif share < min_share and (worst_share is None or share < worst_share[0]):
            worst_share = (share, f"{s.boot} run {s.seq} (workers={s.parallelism})")
    if worst_other is not None:
        reasons.append(f"other host work {100 * worst_other[0]:.1f}% > {100 * max_other:.0f}% of host CPU "
                       f"({worst_other[1]})")
    if worst_share is not None:
        reasons.append(f"vCPU thread got {100 * worst_share[0]:.1f}% < {100 * min_share:.0f}% of the window's "
                       f"wall time ({worst_share[1]})")
    return reasons, checked


# ---------------------------------------------------------------------------
# Paired design


@dataclass(frozen=True)
class PairedBoot:
    os: str
    policy: str
    workload: str
    accel: str
    boot: str
    order: tuple[int, ...]        # workers of each run, in boot order
    work_1: tuple[int, ...]       # work of the 1-worker runs, in order
    work_2: tuple[int, ...]       # work of the 2-worker runs, in order
    host: tuple[str, ...] = ()    # host_reasons of its runs
    vcpu_checked: bool = False

    @property
    def speedup(self) -> float:
        return mean([float(w) for w in self.work_1]) / mean([float(w) for w in self.work_2])

    @property
    def abba(self) -> bool:
        """The runs came in ABBA blocks 1,2,2,1 (what cancels linear drift)."""
        blocks = len(self.order) // 4
        return blocks > 0 and self.order == (1, 2, 2, 1) * blocks


def paired_boots(samples: Iterable[Sample]) -> list[PairedBoot]:
    """One PairedBoot per paired boot that has verified runs of both 1 and 2 workers."""
    by_boot: dict[str, list[Sample]] = {}
    for s in samples:
        if s.design == PAIRED and s.verified:
            by_boot.setdefault(s.boot, []).append(s)
    out: list[PairedBoot] = []
    for boot, ss in by_boot.items():
        ss.sort(key=lambda s: s.seq)
        w1 = tuple(s.work for s in ss if s.parallelism == 1)
        w2 = tuple(s.work for s in ss if s.parallelism == 2)
        if not w1 or not w2:
            continue
        reasons, checked = host_reasons(ss)
        f = ss[0]
        out.append(PairedBoot(f.os, f.policy, f.workload, f.accel, boot, tuple(s.parallelism for s in ss), w1, w2,
                              tuple(reasons), checked))
    return sorted(out, key=lambda b: (b.workload, b.os, b.policy, b.boot))


@dataclass(frozen=True)
class PairedSummary:
    os: str
    policy: str
    workload: str
    accel: str
    boots: int
    speedup: Interval             # mean over boots of the per-boot speedups
    median_work_1: float
    median_work_2: float


def paired_summaries(boots: Sequence[PairedBoot], *, resamples: int = BOOTSTRAP_RESAMPLES) -> list[PairedSummary]:
    """Per OS and workload, over the boots the gate uses: those the host delivered its cores
    to (gate_paired leaves the others out; they still appear in the per-boot table)."""
    groups: dict[tuple[str, str, str, str], list[PairedBoot]] = {}
    for b in boots:
        if not b.host:
            groups.setdefault((b.os, b.policy, b.workload, b.accel), []).append(b)
    out = []
    for (os_, pol, wl, acc), bs in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0] != "linux", kv[0])):
        out.append(PairedSummary(os_, pol, wl, acc, len(bs), mean_interval([b.speedup for b in bs], resamples=resamples),
                                 median([w for b in bs for w in b.work_1]), median([w for b in bs for w in b.work_2])))
    return out


@dataclass(frozen=True)
class TimeRatio:
    """capOS's work time over Linux's at one worker count, by the paired boots: the mean over
    capOS's clean boots of each boot's mean work at that count, over the same for Linux. The two
    OSes never share a boot, so each boot's own speed stays in this figure (unlike the speedup,
    where it divides out): its interval is correspondingly wider."""
    workload: str
    workers: int
    ratio: Interval
    boots: tuple[int, int]

    @property
    def verdict(self) -> str:
        """'at or below Linux' when the interval lies at or under 1, 'above Linux' when over it,
        else 'not decided'."""
        if self.ratio.degenerate or self.ratio.lo is None or self.ratio.hi is None:
            return "no interval"
        if self.ratio.hi <= 1.0:
            return "at or below Linux"
        if self.ratio.lo > 1.0:
            return "above Linux"
        return "not decided"

    def line(self) -> str:
        return (f"[bench] time {self.workload} workers={self.workers}: capOS/Linux work {self.ratio.fmt()} "
                f"(paired, {self.boots[0]}+{self.boots[1]} boots, {100 * self.ratio.level:.4g}% interval): "
                f"{self.verdict}")


def paired_time_ratios(boots: Sequence[PairedBoot], workload: str, *, policy: str = "kernel",
                       level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES) -> list[TimeRatio]:
    """TimeRatio at 1 and at 2 workers over the boots the gate uses (the host delivered its cores)."""
    cap = [b for b in boots if b.workload == workload and b.os == "capos" and b.policy == policy and not b.host]
    accel = cap[0].accel if cap else ""
    cap = [b for b in cap if b.accel == accel]
    lin = [b for b in boots if b.workload == workload and b.os == "linux" and b.accel == accel and not b.host]
    out = []
    for workers in (1, 2):
        c = [mean([float(w) for w in (b.work_1 if workers == 1 else b.work_2)]) for b in cap]
        l = [mean([float(w) for w in (b.work_1 if workers == 1 else b.work_2)]) for b in lin]
        iv = (mean_ratio_interval(c, l, level=level, resamples=resamples) if c and l
              else Interval(None, None, None, (len(c), len(l)), level, "no data"))
        out.append(TimeRatio(workload, workers, iv, (len(c), len(l))))
    return out


@dataclass(frozen=True)
class Gate:
    """The gate verdict of one workload, by the paired design."""
    workload: str
    policy: str
    accel: str
    verdict: str
    ratio: Interval               # capOS/Linux, mean per-boot speedups
    capos: Interval
    linux: Interval
    boots: tuple[int, int]        # (capOS, Linux) paired boots used
    reasons: tuple[str, ...]      # why INCONCLUSIVE or FAIL
    notes: tuple[str, ...] = ()   # e.g. the vCPU check was not possible
    bar: float = 0.98

    def line(self) -> str:
        """`[bench] gate process: PASS ratio 1.004 [0.985, 1.022] (paired, 3+3 boots)`."""
        why = "; ".join(self.reasons + self.notes)
        return (f"[bench] gate {self.workload}: {self.verdict} ratio {self.ratio.fmt()} "
                f"(paired, {self.boots[0]}+{self.boots[1]} boots, {100 * self.ratio.level:.4g}% interval, bar "
                f"{self.bar:.2f})" + (f": {why}" if why else ""))


def gate_paired(boots: Sequence[PairedBoot], workload: str, *, policy: str = "kernel", bar: float = 0.98,
                kvm_floor: float = 1.95, level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES) -> Gate:
    """PASS when the interval of capOS's paired 1->2 speedup over Linux's lies at or above `bar`
    (and, under KVM, capOS's own interval at or above `kvm_floor`); FAIL when below; INCONCLUSIVE
    when it straddles, or when either OS has fewer than two paired boots the host delivered its
    cores to. A boot in which the host could not deliver them (host_reasons: other host work or a
    starved vCPU thread, judged from host measurements alone, never from the boot's timings) is
    left out of the interval and named in the gate's notes; with fewer than two clean boots per OS
    the verdict is INCONCLUSIVE for that reason, and adaptive mode can add boots to replace them."""
    cap = [b for b in boots if b.workload == workload and b.os == "capos" and b.policy == policy]
    accel = cap[0].accel if cap else (next((b.accel for b in boots if b.workload == workload), ""))
    cap = [b for b in cap if b.accel == accel]
    lin = [b for b in boots if b.workload == workload and b.os == "linux" and b.accel == accel]
    excluded = [b for b in cap + lin if b.host]
    cap = [b for b in cap if not b.host]
    lin = [b for b in lin if not b.host]
    cs, ls = [b.speedup for b in cap], [b.speedup for b in lin]
    kw = {"level": level, "resamples": resamples}
    ratio = mean_ratio_interval(cs, ls, **kw) if cs and ls else Interval(None, None, None, (len(cs), len(ls)), level,
                                                                         "no data")
    ci_c = mean_interval(cs, **kw) if cs else Interval(None, None, None, (0,), level, "no data")
    ci_l = mean_interval(ls, **kw) if ls else Interval(None, None, None, (0,), level, "no data")
    reasons: list[str] = []
    notes: list[str] = []
    if not cs or not ls:
        reasons.append(f"no paired {'capOS' if not cs else 'Linux'} boot")
    elif ratio.degenerate:
        reasons.append("fewer than 2 paired boots per OS: no interval")
    verdicts = [decide(ratio, bar)]
    if accel == "kvm":
        verdicts.append(decide(ci_c, kvm_floor))
        notes.append(f"KVM floor: capOS 1->2 {ci_c.fmt(suffix='x')} vs {kvm_floor:.2f}x")
    verdict = combine(*verdicts)
    if verdict == INCONCLUSIVE and not reasons:
        reasons.append(f"the interval contains {bar:.2f}" if not ratio.degenerate else "no interval")
    if excluded:
        host = sorted({r for b in excluded for r in b.host})
        notes.append(f"{len(excluded)} boot(s) left out, the host could not deliver the cores: " + "; ".join(host))
        if len(cs) < 2 or len(ls) < 2:
            verdict = INCONCLUSIVE
            reasons = ["host could not deliver the cores in enough boots "
                       f"({len(cs)} clean capOS, {len(ls)} clean Linux; 2 each needed)"] + \
                [r for r in reasons if not r.startswith("fewer than 2") and not r.startswith("no paired")]
    if any(not b.vcpu_checked for b in cap + lin):
        notes.append("vCPU host time not checked for some runs (no [bench-window] attribution)")
    if any(not b.abba for b in cap + lin):
        notes.append("some boots not in ABBA order")
    return Gate(workload, policy, accel, verdict, ratio, ci_c, ci_l, (len(cs), len(ls)), tuple(reasons),
                tuple(notes), bar)
