"""hostattr.py: where the host's CPU time went while a guest ran, per timed window.

A benchmark's figure is only as good as the host CPU its vCPUs got. For one
QEMU boot this module samples, at the start and end of each window:

- every vCPU thread's host CPU time and run-queue wait
  (/proc/<pid>/task/<tid>/schedstat, in ns; without it utime+stime of
  .../stat in clock ticks, and no wait time);
- the QEMU process's total CPU time (/proc/<pid>/stat: all its threads,
  including the I/O and RCU threads and any that have exited);
- the whole host's busy time (/proc/stat), so that other host work =
  host busy - QEMU - this harness process;
- QEMU's TCG statistics (`info jit` through QMP's human-monitor-command:
  translation-buffer flushes, TB invalidations, soft-TLB flushes); none
  under KVM.

A window is delimited by the guest's serial lines `[bench-window] begin
<label>` and `[bench-window] end <label>`; the whole boot (first sample
after QMP connected to the last complete sample) is the window "boot".
Under multi-threaded TCG and under KVM each vCPU has a host thread of its
own; under single-threaded TCG all vCPUs share one, and the figures are
that thread's, keyed by the lowest cpu-index on it.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from .hostload import busy_jiffies

# The same rule as guest_stats.py's, so both see the same windows: the marker
# ends its line, and output interleaved before it on that line is tolerated.
MARKER = re.compile(r"\[bench-window\] (begin|end) (\S+)\s*$")

# `info jit` counters that only grow during a boot (the rest are gauges of
# the translation buffer's current state; their deltas are net changes).
CUMULATIVE_TCG = ("tb_flush_count", "tb_invalidate_count", "tlb_full_flushes", "tlb_partial_flushes",
                  "tlb_elided_flushes")


# ---------------------------------------------------------------------------
# Parsing


def parse_task_stat(text: str) -> tuple[int, int]:
    """(utime, stime) in clock ticks from the text of /proc/<pid>[/task/<tid>]/stat.

    The command name (field 2) may hold spaces and parentheses, so fields are
    counted from the last ')'."""
    end = text.rfind(")")
    if end < 0:
        raise ValueError("no command name in stat line")
    rest = text[end + 1:].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    if len(rest) < 13:
        raise ValueError("short stat line")
    return int(rest[11]), int(rest[12])


def parse_schedstat(text: str) -> tuple[int, int, int]:
    """(ns on a CPU, ns waiting on a run queue, timeslices) from /proc/.../schedstat."""
    parts = text.split()
    if len(parts) < 3:
        raise ValueError(f"short schedstat line: {text!r}")
    return int(parts[0]), int(parts[1]), int(parts[2])


def online_cpus(proc_stat: str) -> int:
    """Number of per-CPU lines (online CPUs) in the text of /proc/stat."""
    n = sum(1 for line in proc_stat.splitlines() if re.match(r"cpu\d+ ", line))
    return n or 1


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


_JIT_LINE = re.compile(r"^([A-Za-z][A-Za-z ]*?)\s+(\d+)(?:/(\d+))?(?![\d.%])(.*)$")
_JIT_EXTRA = re.compile(r"([A-Za-z0-9][A-Za-z0-9 ]*?)=(\d+)(?![\d.%])")


def parse_info_jit(text: str) -> dict[str, int]:
    """Integer fields of HMP `info jit` (QEMU 10): 'TB flush count  3' gives
    tb_flush_count=3; 'gen code size  123/456' gives gen_code_size=123 and
    gen_code_size_total=456; 'TB avg target size  12 max=299 bytes' also
    tb_avg_target_size_max=299; 'direct jump count  3 (58%) (2 jumps=2 40%)'
    also direct_jump_count_2_jumps=2. Fractions and percentages are left
    out. Empty for any other text (KVM: no JIT)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        m = _JIT_LINE.match(line.rstrip())
        if not m:
            continue
        base = _key(m.group(1))
        out[base] = int(m.group(2))
        if m.group(3) is not None:
            out[base + "_total"] = int(m.group(3))
        for extra, val in _JIT_EXTRA.findall(m.group(4)):
            out[f"{base}_{_key(extra)}"] = int(val)
    return out


def parse_marker(line: str) -> tuple[str, str] | None:
    """('begin'|'end', label) for a line ending in `[bench-window] begin <label>`, else None."""
    m = MARKER.search(line)
    return (m.group(1), m.group(2)) if m else None


# ---------------------------------------------------------------------------
# Samples and windows


@dataclass(frozen=True)
class Sample:
    t: float                        # monotonic seconds
    host_busy_ticks: int            # all CPUs, /proc/stat
    host_cpus: int
    qemu_ticks: int | None          # utime+stime of the whole QEMU process; None: gone
    own_cpu_s: float                # this harness process (user+system)
    vcpu_cpu_s: dict[int, float]    # cpu-index -> host CPU seconds of its thread
    vcpu_wait_s: dict[int, float]   # cpu-index -> run-queue wait seconds (schedstat only)
    tcg: dict[str, int] | None      # None: not asked; {} unavailable
    expected_vcpus: int = 0

    @property
    def complete(self) -> bool:
        return self.qemu_ticks is not None and len(self.vcpu_cpu_s) == self.expected_vcpus


K = TypeVar("K", int, str)
V = TypeVar("V", int, float)


def _delta(a: dict[K, V], b: dict[K, V]) -> dict[K, V]:
    """b - a for the keys both have."""
    return {k: b[k] - a[k] for k in sorted(b) if k in a}


@dataclass
class Window:
    label: str
    wall_s: float
    vcpu_cpu_s: dict[int, float]
    vcpu_wait_s: dict[int, float]
    qemu_cpu_s: float
    other_host_frac: float          # other host work / (wall x host CPUs), clamped at 0
    tcg: dict[str, int]
    host_cpus: int = 1
    harness_cpu_s: float = 0.0      # this harness process, excluded from other host work
    other_host_s: float = 0.0       # host busy - QEMU - harness, CPU seconds (unclamped)

    @property
    def min_vcpu_share(self) -> float | None:
        """The least host CPU any vCPU thread got, as a fraction of the wall time."""
        if not self.vcpu_cpu_s or self.wall_s <= 0:
            return None
        return min(self.vcpu_cpu_s.values()) / self.wall_s

    def describe(self) -> str:
        parts = [f"[host-window] {self.label}: wall {self.wall_s:.2f}s"]
        if self.vcpu_cpu_s:
            share = self.min_vcpu_share
            parts.append("vcpu " + "/".join(f"{v:.2f}" for _, v in sorted(self.vcpu_cpu_s.items())) + "s"
                         + (f" (min {100 * share:.1f}%)" if share is not None else ""))
        if self.vcpu_wait_s:
            parts.append("wait " + "/".join(f"{v:.3f}" for _, v in sorted(self.vcpu_wait_s.items())) + "s")
        parts.append(f"qemu {self.qemu_cpu_s:.2f}s")
        parts.append(f"other host {100 * self.other_host_frac:.1f}% of {self.host_cpus} CPUs")
        if self.tcg:
            short = {"tb_flush_count": "tb-flush", "tb_invalidate_count": "tb-inval",
                     "tlb_full_flushes": "tlb-full", "tlb_partial_flushes": "tlb-part",
                     "tlb_elided_flushes": "tlb-elided"}
            parts.append(" ".join(f"{name}={self.tcg[k]}" for k, name in short.items() if k in self.tcg))
        return ", ".join(parts)


def make_window(label: str, a: Sample, b: Sample, hz: int) -> Window:
    wall = b.t - a.t
    qemu = 0.0
    if a.qemu_ticks is not None and b.qemu_ticks is not None:
        qemu = (b.qemu_ticks - a.qemu_ticks) / hz
    harness = b.own_cpu_s - a.own_cpu_s
    other = (b.host_busy_ticks - a.host_busy_ticks) / hz - qemu - harness
    cap = wall * b.host_cpus
    tcg = _delta(a.tcg, b.tcg) if a.tcg and b.tcg else {}
    return Window(label=label, wall_s=wall, vcpu_cpu_s=_delta(a.vcpu_cpu_s, b.vcpu_cpu_s),
                  vcpu_wait_s=_delta(a.vcpu_wait_s, b.vcpu_wait_s), qemu_cpu_s=qemu,
                  other_host_frac=max(0.0, other) / cap if cap > 0 else 0.0, tcg=tcg, host_cpus=b.host_cpus,
                  harness_cpu_s=harness, other_host_s=other)


def _own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


class Sampler:
    """Reads one QEMU process's figures from /proc (and `info jit` through hmp, if given)."""

    def __init__(self, pid: int, threads: dict[int, int], hmp: Callable[[str], str] | None = None,
                 proc: Path = Path("/proc"), clock: Callable[[], float] = time.monotonic,
                 own_cpu: Callable[[], float] = _own_cpu_s) -> None:
        self.pid = pid
        # Several vCPUs on one thread (single-threaded TCG): count the thread once.
        by_tid: dict[int, int] = {}
        for idx, tid in sorted(threads.items()):
            by_tid.setdefault(tid, idx)
        self.threads = {idx: tid for tid, idx in by_tid.items()}
        self.hmp = hmp
        self.proc = proc
        self.clock = clock
        self.own_cpu = own_cpu
        self.hz = os.sysconf("SC_CLK_TCK")

    def _read(self, *parts: str) -> str | None:
        try:
            return self.proc.joinpath(*parts).read_text()
        except OSError:
            return None

    def tcg(self) -> dict[str, int]:
        if self.hmp is None:
            return {}
        try:
            return parse_info_jit(self.hmp("info jit"))
        except (OSError, ValueError):
            self.hmp = None  # a broken or out-of-step QMP stream is not asked again
            return {}

    def sample(self, jit: bool = True) -> Sample:
        """/proc first (their time is the sample's time), then `info jit` if asked."""
        t = self.clock()
        stat = self._read("stat") or ""
        try:
            busy, cpus = busy_jiffies(stat), online_cpus(stat)
        except ValueError:
            busy, cpus = 0, 1
        vcpu: dict[int, float] = {}
        wait: dict[int, float] = {}
        pid = str(self.pid)
        for idx, tid in self.threads.items():
            sched = self._read(pid, "task", str(tid), "schedstat")
            try:
                if sched is not None:
                    run_ns, wait_ns, _ = parse_schedstat(sched)
                    vcpu[idx] = run_ns / 1e9
                    wait[idx] = wait_ns / 1e9
                    continue
                tstat = self._read(pid, "task", str(tid), "stat")
                if tstat is not None:
                    u, s = parse_task_stat(tstat)
                    vcpu[idx] = (u + s) / self.hz
            except ValueError:
                pass
        qemu: int | None = None
        pstat = self._read(pid, "stat")
        if pstat is not None:
            try:
                u, s = parse_task_stat(pstat)
                qemu = u + s
            except ValueError:
                pass
        own = self.own_cpu()
        return Sample(t=t, host_busy_ticks=busy, host_cpus=cpus, qemu_ticks=qemu, own_cpu_s=own,
                      vcpu_cpu_s=vcpu, vcpu_wait_s=wait, tcg=self.tcg() if jit else None,
                      expected_vcpus=len(self.threads))


@dataclass
class Recorder:
    """Turns a boot's serial text into windows: feed() it the growing text,
    poll() it often (it keeps a recent complete sample for the boot window,
    whose end may come after QEMU's threads are gone), finish() at the end."""

    sampler: Sampler
    report: Callable[[Window], None] | None = None
    period_s: float = 0.2
    windows: list[Window] = field(default_factory=list, init=False)
    _first: Sample | None = field(default=None, init=False)
    _last: Sample | None = field(default=None, init=False)
    _open: dict[str, Sample] = field(default_factory=dict, init=False)
    _pos: int = field(default=0, init=False)

    def start(self) -> None:
        s = self.sampler.sample(jit=True)
        self._first = self._last = s

    def _keep(self, s: Sample) -> None:
        if s.complete:
            self._last = s

    def poll(self) -> None:
        if self._last is None or self.sampler.clock() - self._last.t >= self.period_s:
            self._keep(self.sampler.sample(jit=False))

    def feed(self, text: str) -> None:
        """Looks at the complete lines of `text` not seen before."""
        end = text.rfind("\n")
        if end < self._pos:
            return
        chunk = text[self._pos:end]
        self._pos = end + 1
        if "[bench-window]" not in chunk:
            return
        for line in chunk.split("\n"):
            m = parse_marker(line)
            if m is not None:
                self.marker(*m)

    def marker(self, kind: str, label: str) -> None:
        s = self.sampler.sample(jit=True)
        self._keep(s)
        if kind == "begin":
            self._open[label] = s
            return
        begin = self._open.pop(label, None)
        if begin is None:
            return  # an end without its begin is not a window
        w = make_window(label, begin, s, self.sampler.hz)
        self.windows.append(w)
        if self.report is not None:
            self.report(w)

    def finish(self, alive: bool) -> list[Window]:
        """The windows in the order they ended, the whole-boot window last.

        `alive`: QEMU still runs, so a final sample (with `info jit`) ends
        the boot window; otherwise it ends at the last complete sample."""
        if alive:
            self._keep(self.sampler.sample(jit=True))
        out = list(self.windows)
        if self._first is not None and self._last is not None and self._last is not self._first:
            w = make_window("boot", self._first, self._last, self.sampler.hz)
            out.append(w)
            if self.report is not None:
                self.report(w)
        return out
