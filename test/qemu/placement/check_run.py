#!/usr/bin/env python3
"""check_run.py: boots utest=placement once and checks the run on the host.

The in-guest program (servers/placement/tests/utest_placement.cpp) runs the
fairness, fallback (kill / hang / garbage) and hot-swap cases and dumps the
kernel's placement trace after the traced cases. This script then checks,
with harness/replay's placement-tool on the same source as the servers:

  trace 1 (weights 1:3 on one CPU)        CPU time per weight agrees within 10%
  trace 2 (4 equal threads on 2 CPUs)     CPU time agrees within 10%
                                          (CPU time measured by TSC between switch-ins;
                                          the tick samples are printed beside)
  trace 3 (fair-share run)                replay reproduces every decision; conformance passes
  trace 4 (round-robin run)               replay reproduces every decision; conformance passes

and prints the measured figures (fairness, decision latency, fallback
latency, swap gap) in one `[placement-report]` line.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path


def split_traces(log: str) -> list[str]:
    traces: list[str] = []
    cur: list[str] = []
    for line in log.splitlines():
        if line.startswith("[strace] T "):
            cur.append(line)
        elif line.startswith("[strace] tsc_hz="):
            if cur:
                traces.append("\n".join(cur) + "\n")
            cur = []
    return traces


def tool(exe: str, *args: str) -> tuple[int, str]:
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iso", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--boottest", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--smp", default="2")
    ap.add_argument("--tolerance", default="0.10")
    args = ap.parse_args()

    boot = [sys.executable, args.boottest, "--iso", args.iso, "--build-dir", args.build_dir, "--name", args.name,
            "--timeout", "150", "--smp", args.smp, "--cpu", "max", "--memory", "256M",
            "--cmdline", "utest=placement",
            "--expect", r"\[utest\] placement [1-9][0-9]* passed, 0 failed",
            "--expect", r"\[placement\] fallback: server pid [0-9]+ demoted \(server exited\)",
            "--expect", r"\[placement\] fallback: server pid [0-9]+ demoted \(repeated deadline misses\)",
            "--expect", r"\[placement\] fallback: server pid [0-9]+ demoted \(invalid decision",
            "--expect", r"\[placement\] handover: server pid [0-9]+ -> pid [0-9]+",
            "--expect", r"imported fair-share v1 snapshot: threads=[0-9]+ duplicates=0",
            "--expect", r"imported round-robin v1 snapshot: threads=[0-9]+ duplicates=0",
            # The round-robin successor ran with cpus=1: its start() took that, not the snapshot's count.
            "--expect", r"fair-share imported round-robin v1 snapshot: threads=[0-9]+ duplicates=0 ncpus=1 .*over the endpoint",
            "--expect", r"\[placement\] fair-share: arguments refused: slice_ms=0: expected a whole number from 1 to 200",
            "--expect", r"\[placement\] pinning: arguments refused: pinning takes no arguments \(got 'quantum=3'\)",
            "--reject", r"PANIC|EXCEPTION vector|FAIL",
            "--exit", "pass"]
    r = subprocess.run(boot)
    ok = r.returncode == 0
    log_path = Path(args.build_dir) / "test-logs" / f"{args.name}.log"
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    traces = split_traces(log)
    out_dir = Path(args.build_dir) / "test-logs"
    names = ["weights-1-3", "four-equal", "fair-share", "round-robin"]
    if len(traces) < 4:
        print(f"check_run: expected 4 traces, found {len(traces)}")
        return 1
    paths = []
    for i, t in enumerate(traces[:4]):
        p = out_dir / f"{args.name}.trace-{names[i]}.log"
        p.write_text(t)
        paths.append(str(p))
    hz = re.search(r"\[strace\] tsc_hz=(\d+)", log)
    per_us = str(int(hz.group(1)) // 1_000_000) if hz else "1"
    report: dict[str, str] = {}
    # CPU time by TSC between switch-ins, unless there are more vCPUs than host
    # cores: then a vCPU the host has descheduled still advances its TSC, and
    # TSC time counts host waits as CPU time; the tick samples (a tick only
    # lands while the vCPU runs) are the better measure there (docs/placement.md).
    oversubscribed = int(args.smp) > (os.cpu_count() or 1)
    by = "ticks" if oversubscribed else "tsc"
    for i in (0, 1):
        print(f"--- shares {names[i]}: --by {by} (host cores: {os.cpu_count()}, vCPUs: {args.smp})")
        rc, txt = tool(args.tool, "shares", paths[i], "--tolerance", args.tolerance, "--by", by)
        print(f"--- shares {names[i]}\n{txt}")
        m = re.search(r"spread=([0-9.]+)", txt)
        report[f"{names[i]}_spread"] = m.group(1) if m else "?"
        ticks = re.findall(r"weight (\d+) tsc_time \d+ ticks (\d+)", txt)
        report[f"{names[i]}_ticks"] = "/".join(f"{t}w{w}" for w, t in ticks)
        ok &= rc == 0
    for i, pol in ((2, "fair-share"), (3, "round-robin")):
        rc, txt = tool(args.tool, "replay", pol, "2", paths[i])
        print(f"--- replay {pol}\n{txt}")
        ok &= rc == 0
        report[f"replay_{pol}"] = "identical" if rc == 0 else "DIFFERENT"
        # Under TCG on a busy host a slice stretches (late ticks): allow 200 ms.
        # Work conservation: an idle vCPU beside a waiting thread is forgiven
        # the checker's default 2 ms per stretch (a wake-up IPI, a decision),
        # and the rest may sum to 10 % of the trace (the checker's default is
        # 2 %: under TCG on a loaded host a vCPU the guest woke may not run for
        # a host time slice; a policy that leaves a CPU idle shows 50-100 %).
        # With more vCPUs than host cores a halted vCPU first waits for a host
        # core: 15 ms grace and 25 % there (docs/placement.md).
        grace, frac = ("2000", "0.10") if not oversubscribed else ("15000", "0.25")
        # Fairness: fair-share promises equal shares (Jain >= 0.90, the
        # checker's default). Round-robin places by rotation and promises no
        # share: its 5 threads on 2 CPUs split 3:2, ideal Jain 0.96, and each
        # blocking thread shifts the split (measured 0.880-0.985): 0.80.
        # With more vCPUs than host cores the index is printed but not judged:
        # the host deschedules vCPUs while their threads are current, and the
        # trace's TSC times count that as CPU time (tick samples, which the
        # shares check uses instead, are a handful per thread in this short
        # trace). A share claim needs a host core per vCPU (docs/placement.md,
        # "Trace, replay, conformance").
        jain = "0.90" if pol == "fair-share" else "0.80"
        if oversubscribed:
            jain = "0"
            print(f"--- conformance {pol}: fairness printed, not judged: {args.smp} vCPUs on {os.cpu_count()} "
                  f"host cores")
        print(f"--- conformance {pol}: --cpus {args.smp} --idle-grace-us {grace} --max-idle-waiting {frac} "
              f"--min-jain {jain} (host cores: {os.cpu_count()})")
        rc, txt = tool(args.tool, "check", paths[i], "--tsc-per-us", per_us, "--cpus", args.smp,
                       "--max-wait-us", "200000", "--idle-grace-us", grace, "--max-idle-waiting", frac,
                       "--min-jain", jain)
        print(f"--- conformance {pol}\n{txt}")
        ok &= rc == 0
        report[f"conformance_{pol}"] = "pass" if rc == 0 else "FAIL"
    stats = re.findall(r"\[placement\] stats (.*)", log)
    if stats:
        for kv in stats[-1].split():
            k, _, v = kv.partition("=")
            if k in ("latency_median_ns", "latency_p99_ns", "fallback_latency_ns", "swap_gap_ns",
                     "swap_default_placements", "misses", "applied"):
                report[k] = v
    # Every run prints the kernel's latency line (event posted -> decision
    # applied, p50/p99, and the demotions; sched/server/state.cpp). This run
    # demotes on purpose (kill, hang, garbage, detach cases), so only its
    # presence and the figures are checked here.
    lat = re.findall(r"^\[placement\] latency p50_us=(\d+) p99_us=(\d+) samples=(\d+) misses=(\d+) "
                     r"demotions=(\d+) via=(rings|calls)", log, re.M)
    if lat and int(lat[-1][2]) > 0:
        p50, p99, n, miss, dem, via = lat[-1]
        report.update(lat_p50_us=p50, lat_p99_us=p99, lat_samples=n, lat_misses=miss, demotions=dem, via=via)
    else:
        print("check_run: no '[placement] latency' line with samples in the log")
        ok = False
    ratio = re.search(r"fairness 1:3 on one cpu: units \d+ \d+ ratio=([0-9.]+)", log)
    if ratio:
        report["units_ratio_1_3"] = ratio.group(1)
    print("[placement-report] smp=" + args.smp + " " + " ".join(f"{k}={v}" for k, v in report.items()) +
          (" -> PASS" if ok else " -> FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
