#!/usr/bin/env python3
"""hostcheck.py: does this host give every CPU steady throughput?

Runs the same fixed busy loop on every host CPU at once (one pinned process
per CPU), several trials, and prints each trial's time per CPU and the
spread (slowest / fastest trial). On a host that is itself a virtual
machine, a CPU can run slower for seconds at a time without anything in
/proc/stat (steal) or schedstat showing it; under multi-threaded TCG that
CPU's vCPU thread then runs slower, and a scaling benchmark sees one worker
lag. Run it before quoting a speedup:

    python3 harness/hostcheck.py --trials 12
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time


def spin(iterations: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(iterations):
        x += i
    return time.perf_counter() - t0


def worker(cpu: int, iterations: int, trials: int, start: mp.Barrier, q: mp.Queue) -> None:
    os.sched_setaffinity(0, {cpu})
    for k in range(trials):
        start.wait()
        q.put((cpu, k, spin(iterations)))


def spread(times: list[float]) -> float:
    """Slowest over fastest trial (1.0 = perfectly steady)."""
    return max(times) / min(times) if times and min(times) > 0 else float("nan")


def run(cpus: list[int], iterations: int, trials: int) -> dict[int, list[float]]:
    """Runs the loop on `cpus` at once, `trials` times; per CPU, the trial times."""
    barrier = mp.Barrier(len(cpus))
    q: mp.Queue = mp.Queue()
    procs = [mp.Process(target=worker, args=(c, iterations, trials, barrier, q)) for c in cpus]
    for p in procs:
        p.start()
    results: dict[int, list[float]] = {c: [0.0] * trials for c in cpus}
    for _ in range(len(cpus) * trials):
        cpu, k, t = q.get()
        results[cpu][k] = t
    for p in procs:
        p.join()
    return results


def median(xs: list[float]) -> float:
    ys = sorted(xs)
    n = len(ys)
    return ys[n // 2] if n % 2 else (ys[n // 2 - 1] + ys[n // 2]) / 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--iterations", type=int, default=10_000_000, help="loop iterations per trial")
    a = ap.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    alone = run(cpus[:1], a.iterations, a.trials)[cpus[0]]
    together = run(cpus, a.iterations, a.trials)
    print("trial  alone " + " ".join(f"cpu{c:>3}" for c in cpus) + "  (all at once)")
    for k in range(a.trials):
        print(f"{k:5d} {alone[k]:6.3f} " + " ".join(f"{together[c][k]:6.3f}" for c in cpus))
    print(f"[hostcheck] cpu{cpus[0]} alone: median {median(alone):.3f} s, spread {spread(alone):.2f}x")
    for c in cpus:
        print(f"[hostcheck] cpu{c} with all CPUs busy: median {median(together[c]):.3f} s, "
              f"spread {spread(together[c]):.2f}x")
    # Throughput of n CPUs busy at once, relative to one CPU alone: the most
    # any n-vCPU guest can scale by in this envelope.
    ceiling = sum(median(alone) / median(together[c]) for c in cpus)
    worst = max(spread(together[c]) for c in cpus)
    print(f"[hostcheck] {len(cpus)} CPUs at once deliver {ceiling:.2f}x one CPU's throughput (medians); "
          f"worst per-CPU spread {worst:.2f}x "
          f"({'steady' if worst < 1.10 else 'UNSTEADY: per-CPU throughput varies; scaling medians will be noisy'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
