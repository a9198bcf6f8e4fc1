"""hostload.py: how much of the host's CPU time went to work other than this harness and its QEMUs.

The load average cannot tell: the vCPU threads of the guest being measured
raise it themselves. Instead, a meter reads the host's busy CPU time from
/proc/stat at start and stop and subtracts the CPU time of this process and
its reaped children (the QEMU runs). What is left was spent by someone else
while the benchmark ran, and is reported as a share of the host's CPU
capacity over the interval (wall time x online CPUs).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

# /proc/stat "cpu" fields: user nice system idle iowait irq softirq steal guest guest_nice.
# guest time is already counted in user, so it is not added again.
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)


def busy_jiffies(proc_stat: str) -> int:
    """Busy jiffies of all CPUs from the text of /proc/stat (the aggregate 'cpu' line)."""
    for line in proc_stat.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            vals = [int(v) for v in parts[1:]]
            if len(vals) < 8:
                raise ValueError("short cpu line in /proc/stat")
            return sum(vals[i] for i in _BUSY_FIELDS)
    raise ValueError("no aggregate cpu line in /proc/stat")


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass(frozen=True)
class ForeignLoad:
    seconds: float      # CPU seconds used by others during the interval
    wall: float         # interval length in seconds
    cpus: int           # online CPUs

    @property
    def share(self) -> float:
        """Fraction of the host's CPU capacity others used (0..1)."""
        cap = self.wall * self.cpus
        return max(0.0, self.seconds) / cap if cap > 0 else 0.0

    @property
    def busy(self) -> bool:
        # 5%: a compile job or another QEMU is far above; the harness's own
        # bookkeeping and kernel threads stay well below.
        return self.share > 0.05

    def describe(self) -> str:
        return (f"other host work used {self.seconds:.1f} CPU-s = {100 * self.share:.1f}% of "
                f"{self.cpus} CPUs over {self.wall:.0f} s")


class Meter:
    """Measures foreign CPU use between construction and stop()."""

    def __init__(self, stat_path: Path = Path("/proc/stat")) -> None:
        self._path = stat_path
        self._hz = os.sysconf("SC_CLK_TCK")
        self._cpus = os.cpu_count() or 1
        self._t0 = time.monotonic()
        self._busy0 = self._busy()
        self._own0 = own_cpu_seconds()

    def _busy(self) -> int:
        try:
            return busy_jiffies(self._path.read_text())
        except (OSError, ValueError):
            return 0

    def stop(self) -> ForeignLoad:
        wall = time.monotonic() - self._t0
        host = (self._busy() - self._busy0) / self._hz
        own = own_cpu_seconds() - self._own0
        return ForeignLoad(seconds=host - own, wall=wall, cpus=self._cpus)
