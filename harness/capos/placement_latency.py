"""placement_latency.py: the kernel's decision-latency lines of a capOS boot with a placement server.

While a server is attached the kernel prints, at most every 500 ms when new
decisions arrived and at each demotion (microkernel/sched/server/state.cpp):

    [placement] latency p50_us=<n> p99_us=<n> samples=<n> misses=<n> demotions=<n> via=<rings|calls>[ (at demotion)]

p50/p99 are event-to-applied latencies over the server's decisions so far,
misses the deadline misses since boot, demotions the times the kernel took
placement back. The figures are cumulative, so a boot's last line is its
summary (up to 500 ms before the end of the boot).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

LATENCY_RE = re.compile(r"^\[placement\] latency p50_us=(\d+) p99_us=(\d+) samples=(\d+) misses=(\d+) "
                        r"demotions=(\d+) via=(rings|calls)", re.M)


@dataclass(frozen=True)
class Latency:
    p50_us: int
    p99_us: int
    samples: int
    misses: int
    demotions: int
    via: str

    def describe(self) -> str:
        return (f"decisions p50={self.p50_us}us p99={self.p99_us}us ({self.samples} samples, via {self.via}), "
                f"deadline misses {self.misses}, demotions {self.demotions}")


def last(text: str) -> Latency | None:
    """The boot's last latency line, or None if the kernel printed none (no server, or no decision)."""
    found = None
    for m in LATENCY_RE.finditer(text):
        found = m
    if found is None:
        return None
    p50, p99, n, miss, dem = (int(found.group(i)) for i in range(1, 6))
    return Latency(p50, p99, n, miss, dem, found.group(6))
