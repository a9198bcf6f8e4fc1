#!/usr/bin/env python3
"""bench.py: `ninja benchmark-smp` — SMP scaling of capOS against Linux in one QEMU envelope.

Two designs, both OSes under the same accelerator, -m and -cpu:

- paired (the gate): `--paired` boots per OS and workload, each one -smp 2
  boot that runs 1 and 2 workers alternately in two ABBA blocks
  (1,2,2,1,1,2,2,1); each boot gives its own 1->2 speedup, and the
  capOS/Linux ratio's interval is taken over those per-boot speedups
  (capos/stats.py). capOS: manifest=<workload>-scale-paired; Linux:
  capos.paired=2.
- per-count (the seed's contract): `--runs` boots per (OS, policy,
  workload, CPU count), workers = CPUs, reported beside the paired figures
  with their own, wider intervals.

Boots are interleaved: in every round each workload gets one paired boot
per OS (the OS that goes first alternates between rounds), then one
per-count boot per (CPU count, OS), CPU counts and OSes alternating, so both
OSes see the same host drift. With `--adaptive-budget` minutes (default
14, so the default run ends within 15 minutes), once the planned boots are
done every workload whose gate is still INCONCLUSIVE on the interval gets
one more paired boot per OS at a time while the budget allows.

Writes build/benchmarks/<timestamp>/: the raw serial logs, results.csv,
paired.csv, attribution.csv, summary.md and speedup.png/.svg, and prints a
verdict line per workload: PASS, FAIL or INCONCLUSIVE (docs/benchmarks.md).

Options may also come from the CAPOS_BENCH_ARGS environment variable
(`harness/run bench --runs 3` sets it)."""
from __future__ import annotations

import argparse
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

from capos import guest_stats, hostload, linux_baseline, placement_trace, qemu, report, resultline, stats  # noqa: E402
from capos.serial import find_boot_line  # noqa: E402

WORKLOADS = ("process", "thread")
# "kernel" is the kernel's built-in per-CPU default placement (no policy
# server); any other policy is a spec `name[:key=value,...]`: the name selects
# the manifest "<case>-<name>", which starts that placement server
# (servers/manifests/, docs/writing-a-policy.md), and the arguments travel on
# the kernel command line as placement=<key=value,...> (init adds them to the
# server's entry), so specs of one policy need no rebuild between them.
DEFAULT_POLICY = "kernel"
# ABBA blocks in one paired boot. The capOS manifests <case>-paired start the
# coordinator with paired=2; Linux gets the same with capos.paired=2.
PAIRED_BLOCKS = 2
PAIRED_CPUS = 2
CAPOS_DONE = re.compile(r"^\[utest\] smp-bench \d+ passed, \d+ failed", re.M)
ALPHA = 0.05
# QEMU `info jit` counters printed per run (all of them go to results.csv).
TCG_SHORT = (("tcg.tb_flush_count", "tb-flush"), ("tcg.tb_invalidate_count", "tb-inval"),
             ("tcg.tlb_full_flushes", "tlb-full"))


def split_spec(spec: str) -> tuple[str, str]:
    """`name[:args]` -> (name, args): servers/placement/common/policy_args.h's split_spec."""
    name, _, args = spec.partition(":")
    return name, args


def check_spec(spec: str) -> str | None:
    """Why a --policy spec cannot be booted, or None. The server checks the keys and values
    (Policy::configure); this catches what would not even reach it."""
    name, args = split_spec(spec)
    if not re.fullmatch(r"[a-z0-9-]+", name):
        return f"--policy {spec!r}: bad policy name {name!r}"
    if name == DEFAULT_POLICY and args:
        return f"--policy {spec!r}: the kernel's built-in placement takes no arguments"
    if args and not re.fullmatch(r"[A-Za-z0-9_]+=[^\s,=]*(,[A-Za-z0-9_]+=[^\s,=]*)*", args):
        return f"--policy {spec!r}: arguments must be key=value[,key=value...] without spaces"
    if len(args) > 127:
        return f"--policy {spec!r}: arguments longer than the kernel's 127-byte placement= option"
    return None


def spec_tag(spec: str) -> str:
    """A spec as part of a file name: fair-share:slice_ms=2 -> fair-share_slice_ms-2."""
    return spec.replace(":", "_").replace("=", "-").replace(",", "+")


@dataclass(frozen=True)
class Boot:
    """One planned boot."""
    os: str
    policy: str
    workload: str
    design: str     # stats.PAIRED | stats.PER_COUNT
    cpus: int
    index: int      # run number (per-count) or paired boot number, from 1

    @property
    def tag(self) -> str:
        who = f"{self.os}{'-' + spec_tag(self.policy) if self.policy and self.policy != DEFAULT_POLICY else ''}"
        if self.design == stats.PAIRED:
            return f"{who}-{self.workload}-paired{self.index}"
        return f"{who}-{self.workload}-smp{self.cpus}-run{self.index}"


@dataclass
class Outcome:
    records: list[resultline.ProcessScale | resultline.ThreadScale]
    error: str | None
    elapsed: float
    log: Path
    text: str = ""
    windows: list[Any] = field(default_factory=list)   # hostattr.Window, or stand-ins with the same fields
    tsc_hz: int | None = None


def make_plan(oses: Sequence[str], policies: Sequence[str], workloads: Sequence[str], cpus: Sequence[int],
              runs: int, paired: int) -> list[Boot]:
    """The boot order: round k holds paired boot k of every workload (OSes alternating which goes
    first) and per-count run k (CPU counts in alternating order, the OSes alternating within
    each count)."""
    plan: list[Boot] = []
    for k in range(1, max(runs, paired) + 1):
        os_order = list(oses) if k % 2 else list(reversed(oses))
        counts = list(cpus) if k % 2 else list(reversed(cpus))
        for wl in workloads:
            if k <= paired:
                for o in os_order:
                    plan.append(Boot(o, DEFAULT_POLICY if o == "capos" else "", wl, stats.PAIRED, PAIRED_CPUS, k))
            if k <= runs:
                for c in counts:
                    for o in os_order:
                        for pol in (policies if o == "capos" else [""]):
                            plan.append(Boot(o, pol, wl, stats.PER_COUNT, c, k))
    return plan


def spending_level(look: int, alpha: float = ALPHA) -> float:
    """Interval level of the look-th gate decision in adaptive mode: alpha is spent as
    alpha * 6 / (pi^2 look^2), which sums to alpha over any number of looks, so stopping as soon
    as the gate decides keeps the overall chance of a wrong decision within alpha
    (Bonferroni over the looks). One look (no adaptive mode) is the plain 1 - alpha."""
    return 1 - alpha * 6 / (math.pi ** 2 * look ** 2)


def capos_cmdline(workload: str, cpus: int, policy: str, paired: bool = False) -> str:
    """Kernel command line of one capOS benchmark case. The coordinator starts
    one worker per CPU it finds, so cpus is given to QEMU (-smp), not here."""
    manifest = "process-scale" if workload == "process" else "thread-scale"
    if paired:
        return f"manifest={manifest}-paired"
    if policy and policy != DEFAULT_POLICY:
        name, args = split_spec(policy)
        manifest += f"-{name}"
        if args:
            return f"manifest={manifest} placement={args}"
    return f"manifest={manifest}"


def capos_done(text: str) -> str | None:
    """The coordinator's last line (`[utest] smp-bench N passed, M failed`), after every result,
    window marker and counter line of the boot."""
    m = CAPOS_DONE.search(text)
    return m.group(0) if m else None


def check_paired(records: Sequence[resultline.ProcessScale | resultline.ThreadScale], blocks: int) -> str | None:
    """A paired boot must give 4 x blocks runs on 2 CPUs, with 1 and 2 workers, as many of each."""
    if len(records) != 4 * blocks:
        return f"paired boot: expected {4 * blocks} result lines, got {len(records)}"
    if any(r.cpus != PAIRED_CPUS or r.parallelism not in (1, 2) for r in records):
        return "paired boot: every run must have cpus=2 and 1 or 2 workers"
    if sum(1 for r in records if r.parallelism == 1) != 2 * blocks:
        return "paired boot: not as many 1-worker as 2-worker runs"
    return None


def run_capos(acc: qemu.Accel, iso: Path, boot: Boot, log: Path, *, memory: str, cpu: str, timeout: float,
              pin_vcpus: list[int] | None, trace: bool = False) -> Outcome:
    paired = boot.design == stats.PAIRED
    cmdline = capos_cmdline(boot.workload, boot.cpus, boot.policy, paired)
    if trace and not paired and boot.policy != DEFAULT_POLICY:
        cmdline = placement_trace.cmdline_with_trace(cmdline)
    spec = qemu.QemuSpec(accel=acc, smp=boot.cpus, memory=memory, cpu=cpu, iso=iso, cmdline=cmdline, log=log,
                         timeout=timeout, pin_vcpus=pin_vcpus)
    res = qemu.run(spec, until=capos_done)
    windows = list(getattr(res, "windows", []) or [])
    base = dict(elapsed=res.elapsed, log=log, text=res.text, windows=windows)
    bootline = find_boot_line(res.text)
    if bootline is not None:
        print(f"[bench] capOS booted: [capos] boot ok cpus={bootline.cpus} mem={bootline.mem_mib}", flush=True)
    try:
        parsed = resultline.parse_text(res.text)
    except resultline.ResultLineError as e:
        return Outcome([], f"malformed result line: {e}", **base)  # type: ignore[arg-type]
    records = [r for r in parsed if not isinstance(r, resultline.Env)]
    tsc = next((r.tsc_hz for r in parsed if isinstance(r, resultline.Env) and r.tsc_hz), None)
    base["tsc_hz"] = tsc
    if not records:
        return Outcome([], f"no result line ({res.exit_name}); last lines:\n{qemu.tail(res.text, 15)}",
                       **base)  # type: ignore[arg-type]
    bad = [r for r in records if not r.verified]
    if bad:
        return Outcome(records, f"unverified result: {bad[0]}", **base)  # type: ignore[arg-type]
    if paired:
        err = check_paired(records, PAIRED_BLOCKS)
        if err is not None:
            return Outcome(records, err, **base)  # type: ignore[arg-type]
    policy_error = check_policy_served(res.text, "" if paired else boot.policy)
    if policy_error is not None:
        return Outcome(records, policy_error, **base)  # type: ignore[arg-type]
    return Outcome(records, None, **base)  # type: ignore[arg-type]


def check_policy_served(text: str, policy: str) -> str | None:
    """A policy run counts only if that policy's server served it to the end:
    a server that never attached or was demoted (docs/placement.md) leaves the
    run to the kernel's default placement, which would be mislabelled."""
    if not policy or policy == DEFAULT_POLICY:
        return None
    name, args = split_spec(policy)
    refused = re.search(rf"^\[placement\] {re.escape(name)}: arguments refused: .*$", text, re.M)
    if refused is not None:
        return f"policy server placement-{name} refused its arguments: {refused.group(0)}"
    line = re.search(rf"^\[placement\] {re.escape(name)} v\d+ serving epoch .*$", text, re.M)
    if line is None:
        return f"policy server placement-{name} never served (no '[placement] {name} v.. serving' line)"
    # The server prints the policy arguments it took: they must be the spec's.
    took = re.search(r" args=(\S+)$", line.group(0))
    if (took.group(1) if took else "") != args:
        return f"policy server placement-{name} served with arguments {took.group(1) if took else '(none)'!r}, not {args!r}"
    fb = re.search(r"^\[placement\] fallback: .*$", text, re.M)
    if fb is not None:
        return f"policy server demoted during the run: {fb.group(0)}"
    return None


def run_linux(acc: qemu.Accel, initrd: Path, boot: Boot, log: Path, *, memory: str, cpu: str, timeout: float,
              pin_vcpus: list[int] | None) -> Outcome:
    paired = PAIRED_BLOCKS if boot.design == stats.PAIRED else 0
    r = linux_baseline.run_case(acc, boot.cpus, boot.workload, initrd, log, memory=memory, cpu=cpu, timeout=timeout,
                                pin_vcpus=pin_vcpus, paired=paired)
    err = r.error
    if err is None and paired:
        err = check_paired(r.measurements, PAIRED_BLOCKS)
    return Outcome(r.measurements, err, r.result.elapsed, log, r.result.text,
                   list(getattr(r.result, "windows", []) or []), r.tsc_hz)


def samples_from(boot: Boot, o: Outcome, accel: str, boot_other_host: float | None) -> list[stats.Sample]:
    """The boot's runs as Samples, each with its window's host attribution and guest counters
    (matched by the `[bench-window]` label that ended before its result line)."""
    labels = guest_stats.run_windows(o.text) if o.text else [None] * len(o.records)
    if len(labels) != len(o.records):
        labels = [None] * len(o.records)
    occ = guest_stats.label_occurrences(labels)
    try:
        lines = guest_stats.parse_stats(o.text)
    except guest_stats.StatsLineError as e:
        print(f"[bench] {boot.tag}: guest counters ignored: {e}", flush=True)
        lines = []
    host: dict[str, list[Any]] = {}
    wins = list(o.windows)
    if wins and getattr(wins[-1], "label", None) == "boot":
        wins = wins[:-1]  # the whole-boot window, not a timed run
    for w in wins:
        host.setdefault(w.label, []).append(w)
    out: list[stats.Sample] = []
    for i, (rec, lab) in enumerate(zip(o.records, occ)):
        w = None
        counters: dict[str, float] = {}
        if lab is not None:
            name, n = lab
            counters.update(guest_stats.counters(lines, name, n))
            ws = host.get(name, [])
            w = ws[n] if n < len(ws) else None
        if w is not None:
            counters.update({f"tcg.{k}": v for k, v in (getattr(w, "tcg", None) or {}).items()})
            counters.update({f"host.vcpu{k}_wait_s": v for k, v in (getattr(w, "vcpu_wait_s", None) or {}).items()})
        out.append(stats.Sample.from_record(
            rec, os=boot.os, accel=accel, run=boot.index, policy=boot.policy, log=str(o.log), tsc_hz=o.tsc_hz,
            design=boot.design, boot=boot.tag, seq=i, boot_other_host=boot_other_host,
            window_wall_s=None if w is None else w.wall_s,
            window_other_host=None if w is None else w.other_host_frac,
            vcpu_cpu_s={} if w is None else dict(w.vcpu_cpu_s), counters=counters))
    return out


def run_detail(ss: Sequence[stats.Sample]) -> list[str]:
    """One line per run: work and the host's delivery in its window."""
    out = []
    for s in ss:
        host = "host: not measured"
        if s.window_wall_s:
            v = "/".join(f"{t:.2f}" for _, t in sorted(s.vcpu_cpu_s.items()))
            share = s.vcpu_share
            host = (f"window {s.window_wall_s:.2f}s, vCPU host CPU {v}s"
                    f"{'' if share is None else f' (share {100 * share:.1f}%)'}, other host "
                    f"{100 * (s.window_other_host or 0):.1f}%")
            tcg = [f"{short}={s.counters[k]:g}" for k, short in TCG_SHORT if k in s.counters]
            if tcg:
                host += ", tcg " + " ".join(tcg)
        out.append(f"[bench]   run {s.seq} workers={s.parallelism}: work={s.work} {host}")
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", type=Path)
    ap.add_argument("--from-csv", type=Path, metavar="DIR",
                    help="boot nothing: recompute every interval, verdict and the report from DIR/results.csv "
                         "(one look, 95%%) into --out or DIR")
    ap.add_argument("--iso", type=Path, default=None)
    ap.add_argument("--paired", type=int, default=3,
                    help="paired -smp 2 boots per OS and workload, the gate's design (default 3)")
    ap.add_argument("--runs", type=int, default=3, help="per-count boots per case (default 3)")
    ap.add_argument("--adaptive-budget", type=float, default=14.0, metavar="MINUTES",
                    help="after the planned boots, add paired boots (one per OS at a time) to each workload "
                         "whose gate is undecided while the whole run stays within MINUTES (default 14; 0: off)")
    ap.add_argument("--cpus", type=int, nargs="+", default=[1, 2], help="per-count CPU counts (default 1 2)")
    ap.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    ap.add_argument("--os", dest="oses", nargs="+", choices=("capos", "linux"), default=["capos", "linux"])
    ap.add_argument("--policy", nargs="+", default=[DEFAULT_POLICY],
                    help="capOS placement for the per-count rows: 'kernel' (built-in default) or policy specs "
                         "name[:key=value,...], e.g. fair-share round-robin fair-share:slice_ms=2 (each spec is "
                         "its own row series; arguments go on the kernel command line, no rebuild; paired boots "
                         "use 'kernel')")
    ap.add_argument("--trace", action="store_true",
                    help="record the placement trace of every per-count boot with a policy server, save it under "
                         "traces/ and check it with placement-tool (replay under the same spec, conformance); "
                         "summary.md and traces.csv list the results")
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--accel", choices=("auto", "kvm", "tcg-mt", "tcg"), default="auto")
    ap.add_argument("--pin", action="store_true",
                    help="pin vCPU thread i of each QEMU to host CPU i (mod host CPUs)")
    ap.add_argument("--gate", action="store_true",
                    help="exit non-zero unless the paired gate says PASS for every requested workload "
                         "(1: FAIL or a failed boot, 2: INCONCLUSIVE)")
    ap.add_argument("--timeout", type=float, default=240.0,
                    help="per boot, seconds (default 240: a paired boot takes ~40 s here)")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.build_dir is None and a.from_csv is None:
        ap.error("--build-dir is required (or --from-csv DIR)")
    if a.paired < 0 or a.runs < 0 or a.adaptive_budget < 0:
        ap.error("--paired, --runs and --adaptive-budget must not be negative")
    for spec in a.policy:
        why = check_spec(spec)
        if why is not None:
            ap.error(why)
    if len(set(a.policy)) != len(a.policy):
        ap.error("--policy: a spec given twice would merge two row series into one")
    return a


class Bench:
    """Runs boots, keeps their samples, and decides the gate."""

    def __init__(self, a: argparse.Namespace, acc: qemu.Accel, iso: Path, initrd: Path | None, out: Path,
                 pin: list[int] | None) -> None:
        self.a, self.acc, self.iso, self.initrd, self.out, self.pin = a, acc, iso, initrd, out, pin
        self.samples: list[stats.Sample] = []
        self.failures: list[str] = []
        self.retried: list[str] = []
        self.durations: dict[tuple[str, str, str], list[float]] = {}
        self.clock = time.monotonic
        self.traces: list[tuple[str, str, placement_trace.TraceResult]] = []
        self.trace = bool(getattr(a, "trace", False))
        build = getattr(a, "build_dir", None)
        self.tool = (Path(build).resolve() if build else iso.parent.parent) / "harness" / "replay" / "placement-tool"

    def _meter(self) -> Any:
        return hostload.Meter()

    def _boot_once(self, boot: Boot, log: Path) -> Outcome:
        kw = dict(memory=self.a.memory, cpu=self.acc.default_cpu, timeout=self.a.timeout, pin_vcpus=self.pin)
        if boot.os == "capos":
            return run_capos(self.acc, self.iso, boot, log, trace=self.trace, **kw)  # type: ignore[arg-type]
        assert self.initrd is not None
        return run_linux(self.acc, self.initrd, boot, log, **kw)  # type: ignore[arg-type]

    def run(self, boot: Boot, label: str, t0: float, eta: float | None) -> None:
        log = self.out / f"{boot.tag}.log"
        meter = self._meter()
        o = self._boot_once(boot, log)
        if boot.os == "linux" and o.error is not None and not o.records:
            # The baseline is the reference, not the system under test: a
            # Linux boot that never produced a result (seen here: a stock
            # kernel silent in early boot under MTTCG) is retried once, and
            # the retry is reported. capOS failures are never retried.
            print(f"[bench] {boot.tag}: Linux produced no result ({o.error.splitlines()[0]}); retrying once",
                  flush=True)
            self.retried.append(f"{boot.tag}: {o.error.splitlines()[0]}")
            meter = self._meter()
            o = self._boot_once(boot, self.out / f"{boot.tag}-retry.log")
        other = meter.stop().share
        self.durations.setdefault((boot.os, boot.workload, boot.design), []).append(o.elapsed)
        spent = self.clock() - t0
        new = [] if o.error is not None else samples_from(boot, o, self.acc.name, other)
        if o.error is not None:
            detail = f"FAILED: {o.error}"
        elif boot.design == stats.PAIRED:
            pb = stats.paired_boots(new)
            detail = f"speedup={pb[0].speedup:.4f}x ({len(new)} runs)" if pb else "no paired runs"
        else:
            detail = f"work={o.records[0].work}"
        what = (f"paired boot {boot.index}" if boot.design == stats.PAIRED
                else f"cpus={boot.cpus} run {boot.index}/{self.a.runs}")
        print(f"[bench] {label} {boot.os} {boot.policy or '-'} {boot.workload} {what}: {detail} "
              f"({o.elapsed:.1f}s, other host {100 * other:.1f}%, elapsed {spent / 60:.1f} min"
              f"{'' if eta is None else f', ETA {eta / 60:.1f} min'})", flush=True)
        if (self.trace and boot.os == "capos" and boot.design != stats.PAIRED and boot.policy != DEFAULT_POLICY
                and o.text):
            tr = placement_trace.save_and_check(o.text, self.out, boot.tag, boot.policy, self.tool)
            self.traces.append((boot.tag, boot.policy, tr))
            print(f"[bench]   trace: {tr.describe()}", flush=True)
        if o.error is not None:
            self.failures.append(f"{boot.tag}: {o.error}")
            return
        for line in run_detail(new):
            print(line, flush=True)
        self.samples += new

    def gates(self, level: float) -> list[stats.Gate]:
        if "capos" not in self.a.oses or "linux" not in self.a.oses:
            return []
        boots = stats.paired_boots(self.samples)
        return [stats.gate_paired(boots, wl, level=level) for wl in self.a.workloads]

    def estimate(self, os_: str, workload: str) -> float:
        d = self.durations.get((os_, workload, stats.PAIRED))
        if d:
            return sum(d) / len(d)
        every = [x for v in self.durations.values() for x in v]
        return 3 * (sum(every) / len(every)) if every else 60.0


def adaptive_targets(gates: Sequence[stats.Gate]) -> list[str]:
    """Workloads that more paired boots could decide: INCONCLUSIVE on the interval, or for want
    of boots the host delivered its cores to (a new boot may be clean; disturbed ones are left out
    of the interval, stats.gate_paired), but not for lack of an OS."""
    out = []
    for g in gates:
        if g.verdict != stats.INCONCLUSIVE:
            continue
        if any(r.startswith("no paired") for r in g.reasons):
            continue
        out.append(g.workload)
    return out


def run_adaptive(bench: Bench, t0: float, budget_s: float, paired: int,
                 workloads: Sequence[str]) -> tuple[list[stats.Gate], int, float]:
    """Adaptive mode: while some workload's gate is undecided on its interval (adaptive_targets),
    add one paired boot per OS to it (the OS going first alternates), as long as the run's
    elapsed time plus the pair's expected duration stays within budget_s; then look again at
    the next spending level. Returns (gates, looks, level of the last look)."""
    look = 1
    level = spending_level(look)
    gates = bench.gates(level)
    next_index = {wl: paired + 1 for wl in workloads}
    while True:
        targets = adaptive_targets(gates)
        if not targets:
            break
        added = False
        for wl in targets:
            order = ["capos", "linux"] if next_index[wl] % 2 else ["linux", "capos"]
            need = sum(bench.estimate(o, wl) for o in order)
            spent = bench.clock() - t0
            if spent + need > budget_s:
                print(f"[bench] adaptive: {wl} undecided; the next pair of paired boots (~{need:.0f} s) would "
                      f"pass the {budget_s / 60:g}-minute budget (elapsed {spent / 60:.1f} min): stopping",
                      flush=True)
                continue
            for o in order:
                boot = Boot(o, DEFAULT_POLICY if o == "capos" else "", wl, stats.PAIRED, PAIRED_CPUS, next_index[wl])
                bench.run(boot, f"adaptive {wl} #{next_index[wl]}", t0, None)
            next_index[wl] += 1
            added = True
        if not added:
            break
        look += 1
        level = spending_level(look)
        gates = bench.gates(level)
        for g in gates:
            print(f"[bench] adaptive look {look}: {g.line()}", flush=True)
    return gates, look, level


def gate_exit(gates: Sequence[stats.Gate], workloads: Sequence[str]) -> tuple[int, str]:
    """--gate: (0, ...) only if every requested workload PASSed; 1 on any FAIL (or a missing
    workload), 2 if the rest is INCONCLUSIVE."""
    by = {g.workload: g for g in gates}
    missing = [w for w in workloads if w not in by]
    if missing:
        return 1, f"[bench] gate FAILED: no paired gate for {', '.join(missing)} (needs both OSes)"
    fails = [w for w in workloads if by[w].verdict == stats.FAIL]
    if fails:
        return 1, f"[bench] gate FAILED: {', '.join(fails)}"
    unsure = [w for w in workloads if by[w].verdict == stats.INCONCLUSIVE]
    if unsure:
        return 2, (f"[bench] gate INCONCLUSIVE: {', '.join(unsure)} undecided (no FAIL, but no PASS either: "
                   "more paired boots, --adaptive-budget, or a quieter host)")
    return 0, "[bench] gate PASSED"


def from_csv(a: argparse.Namespace) -> int:
    """--from-csv: the report and the verdicts of an earlier run, from its results.csv alone."""
    src = a.from_csv.resolve()
    samples = report.read_csv(src / "results.csv")
    out = (a.out or src).resolve()
    both = {"capos", "linux"} <= {s.os for s in samples}
    workloads = [w for w in WORKLOADS if any(s.workload == w for s in samples)]
    cases = stats.summarize(samples)
    boots = stats.paired_boots(samples)
    gates = [stats.gate_paired(boots, wl) for wl in workloads] if both else []
    accels = sorted({s.accel for s in samples})
    paths = report.write_all(samples, cases, out, host_cores=report.host_cores(),
                             gates=stats.gate_1_to_2(cases) if both else [],
                             title=f"capOS vs Linux SMP scaling ({', '.join(accels)}; recomputed from {src.name})",
                             paired_gates=gates, boots=boots, summaries=stats.paired_summaries(boots))
    for name, p in paths.items():
        print(f"[bench] {name}: {p}")
    for g in gates:
        print(g.line(), flush=True)
    for wl in (g.workload for g in gates):
        for t in stats.paired_time_ratios(boots, wl):
            print(t.line(), flush=True)
    if a.gate:
        code, msg = gate_exit(gates, workloads)
        print(msg)
        return code
    return 0


def main() -> int:
    argv = sys.argv[1:] + shlex.split(os.environ.get("CAPOS_BENCH_ARGS", ""))
    a = parse_args(argv)
    if a.from_csv is not None:
        return from_csv(a)
    build = a.build_dir.resolve()
    iso = (a.iso or build / "iso" / "capos.iso").resolve()
    if a.accel == "auto":
        acc = qemu.detect_accel(build, iso)
    else:
        acc = {"kvm": qemu.KVM, "tcg-mt": qemu.TCG_MT, "tcg": qemu.TCG_ST}[a.accel]
    cores = report.host_cores()
    out = a.out or build / "benchmarks" / time.strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    host_cpus = sorted(os.sched_getaffinity(0))
    pin = host_cpus if a.pin else None
    plan = make_plan(a.oses, a.policy, a.workloads, a.cpus, a.runs, a.paired)

    print(f"[bench] accelerator: {acc.name} ({acc.reason or 'forced'}); host: {cores} cores; "
          f"QEMU -cpu {acc.default_cpu} -m {a.memory}; {a.paired} paired boots per OS and workload, {a.runs} "
          f"per-count runs per case ({len(plan)} boots planned); adaptive budget "
          f"{f'{a.adaptive_budget:g} min' if a.adaptive_budget else 'off'}; output {out}", flush=True)
    if acc.name == "tcg":
        print("[bench] single-threaded TCG is functional only: no scaling claim will be made", flush=True)
    if a.trace:
        traced = [p for p in a.policy if p != DEFAULT_POLICY]
        print(f"[bench] --trace: traces of the per-count boots of {' '.join(traced) or 'no policy'}"
              f"{' (kernel: no server, no trace)' if DEFAULT_POLICY in a.policy else ''}; paired boots are not traced",
              flush=True)
    for c in sorted(set(a.cpus) | ({PAIRED_CPUS} if a.paired else set())):
        if c > cores:
            print(f"[bench] note: {c} vCPUs > {cores} host cores: the {c}-CPU boots are oversubscribed "
                  f"(diagnostic only, excluded from claims)", flush=True)

    initrd = None
    if "linux" in a.oses:
        initrd = linux_baseline.pack_initramfs(linux_baseline.Programs.from_build(build),
                                               build / "benchmarks" / "linux-baseline.cpio")

    bench = Bench(a, acc, iso, initrd, out, pin)
    meter = hostload.Meter()
    t0 = time.monotonic()
    for i, boot in enumerate(plan, start=1):
        spent = time.monotonic() - t0
        bench.run(boot, f"{i}/{len(plan)}", t0, None if i == 1 else spent / (i - 1) * (len(plan) - i + 1))

    adaptive = a.adaptive_budget > 0 and a.paired > 0
    if adaptive:
        gates, look, level = run_adaptive(bench, t0, a.adaptive_budget * 60, a.paired, a.workloads)
    else:
        look, level = 1, 1 - ALPHA
        gates = bench.gates(level)

    samples = bench.samples
    cases = stats.summarize(samples)
    per_count = stats.gate_1_to_2(cases) if "capos" in a.oses and "linux" in a.oses else []
    boots = stats.paired_boots(samples)
    summaries = stats.paired_summaries(boots)
    paths = report.write_all(samples, cases, out, host_cores=cores, gates=per_count,
                             title=f"capOS vs Linux SMP scaling ({acc.name})", paired_gates=gates, boots=boots,
                             summaries=summaries)
    foreign = meter.stop()
    with (out / "summary.md").open("a") as f:
        if adaptive:
            f.write(f"\nAdaptive mode: {look} look(s) at the gate; the last at a {100 * level:.2f}% interval "
                    f"(alpha spent as 0.05 x 6/(pi^2 k^2) at look k, so stopping when decided keeps the overall "
                    f"error within 5%).\n")
        for r in bench.retried:
            f.write(f"\nRetried once (first boot gave no result): {r}\n")
        if bench.traces:
            f.write(placement_trace.markdown(bench.traces))
            paths["traces_csv"] = placement_trace.write_csv(bench.traces, out / "traces.csv")
        f.write(f"\nHost: {foreign.describe()}"
                f"{' -- the host was busy: other work shared the cores, so timings are noisy' if foreign.busy else ''}.\n")
    print((out / "summary.md").read_text())
    for name, p in paths.items():
        print(f"[bench] {name}: {p}")
    if bench.failures:
        print(f"[bench] {len(bench.failures)} boot(s) failed:")
        for f in bench.failures:
            print(f"  - {f}")
    for g in gates:
        print(g.line(), flush=True)
    for wl in (g.workload for g in gates):
        for t in stats.paired_time_ratios(boots, wl):
            print(t.line(), flush=True)
    if not gates:
        print("[bench] no gate: it needs paired boots of both capOS and Linux", flush=True)
    if a.gate:
        code, msg = gate_exit(gates, a.workloads)
        print(msg)
        if code:
            return code
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
