#!/usr/bin/env python3
"""bench.py: `ninja benchmark-smp` — SMP scaling of capOS against Linux in one QEMU envelope.

For each OS (capOS, Linux), workload (process scale, thread scale) and CPU
count (1/2/4 by default, workers = CPUs) it boots the guest `--runs` times,
parses the verified result lines, and writes under
build/benchmarks/<timestamp>/: the raw serial logs, results.csv,
summary.md and speedup.png/.svg. Both OSes run under the same accelerator,
-m and -cpu. A case with more vCPUs than host cores is reported as
oversubscribed and never used for a claim.

Options may also come from the CAPOS_BENCH_ARGS environment variable
(`harness/run bench --runs 3` sets it)."""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capos import hostload, linux_baseline, qemu, report, resultline, stats  # noqa: E402
from capos.serial import find_boot_line  # noqa: E402

WORKLOADS = ("process", "thread")
# "kernel" is the kernel's built-in per-CPU default placement (no policy
# server); any other name selects the manifest "<case>-<policy>", which starts
# that placement server (servers/manifests/, docs/writing-a-policy.md).
DEFAULT_POLICY = "kernel"


@dataclass
class Outcome:
    records: list[resultline.Record]
    error: str | None
    elapsed: float
    log: Path


def capos_cmdline(workload: str, cpus: int, policy: str) -> str:
    """Kernel command line of one capOS benchmark case. The coordinator starts
    one worker per CPU it finds, so cpus is given to QEMU (-smp), not here."""
    manifest = "process-scale" if workload == "process" else "thread-scale"
    if policy and policy != DEFAULT_POLICY:
        manifest += f"-{policy}"
    return f"manifest={manifest}"


def result_seen(workload: str):
    tag = "[smp-process-scale]" if workload == "process" else "[smp-thread-scale]"

    def until(text: str) -> str | None:
        for line in text.splitlines():
            if line.startswith(tag) and line.rstrip().endswith(("verified=true", "verified=false")):
                return line
        return None

    return until


def run_capos(acc: qemu.Accel, iso: Path, workload: str, cpus: int, policy: str, log: Path, *,
              memory: str, cpu: str, timeout: float, pin_vcpus: list[int] | None) -> Outcome:
    spec = qemu.QemuSpec(accel=acc, smp=cpus, memory=memory, cpu=cpu, iso=iso,
                         cmdline=capos_cmdline(workload, cpus, policy), log=log, timeout=timeout,
                         pin_vcpus=pin_vcpus)
    res = qemu.run(spec, until=result_seen(workload))
    boot = find_boot_line(res.text)
    if boot is not None:
        print(f"[bench] capOS booted: [capos] boot ok cpus={boot.cpus} mem={boot.mem_mib}", flush=True)
    try:
        records = [r for r in resultline.parse_text(res.text) if not isinstance(r, resultline.Env)]
    except resultline.ResultLineError as e:
        return Outcome([], f"malformed result line: {e}", res.elapsed, log)
    if not records:
        return Outcome([], f"no result line ({res.exit_name}); last lines:\n{qemu.tail(res.text, 15)}",
                       res.elapsed, log)
    bad = [r for r in records if not r.verified]
    if bad:
        return Outcome(records, f"unverified result: {bad[0]}", res.elapsed, log)
    policy_error = check_policy_served(res.text, policy)
    if policy_error is not None:
        return Outcome(records, policy_error, res.elapsed, log)
    return Outcome(records, None, res.elapsed, log)


def check_policy_served(text: str, policy: str) -> str | None:
    """A policy run counts only if that policy's server served it to the end:
    a server that never attached or was demoted (docs/placement.md) leaves the
    run to the kernel's default placement, which would be mislabelled."""
    if not policy or policy == DEFAULT_POLICY:
        return None
    if re.search(rf"^\[placement\] {re.escape(policy)} v\d+ serving epoch", text, re.M) is None:
        return f"policy server placement-{policy} never served (no '[placement] {policy} v.. serving' line)"
    fb = re.search(r"^\[placement\] fallback: .*$", text, re.M)
    if fb is not None:
        return f"policy server demoted during the run: {fb.group(0)}"
    return None


def run_linux(acc: qemu.Accel, initrd: Path, workload: str, cpus: int, log: Path, *, memory: str, cpu: str,
              timeout: float, pin_vcpus: list[int] | None) -> Outcome:
    r = linux_baseline.run_case(acc, cpus, workload, initrd, log, memory=memory, cpu=cpu, timeout=timeout,
                                pin_vcpus=pin_vcpus)
    return Outcome(r.measurements, r.error, r.result.elapsed, log)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", type=Path, required=True)
    ap.add_argument("--iso", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=5, help="runs per case (default 5)")
    ap.add_argument("--cpus", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    ap.add_argument("--os", dest="oses", nargs="+", choices=("capos", "linux"), default=["capos", "linux"])
    ap.add_argument("--policy", nargs="+", default=[DEFAULT_POLICY],
                    help="capOS placement: 'kernel' (built-in default) or policy server names, e.g. "
                         "fair-share round-robin; several compare policies in one run")
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--accel", choices=("auto", "kvm", "tcg-mt", "tcg"), default="auto")
    ap.add_argument("--pin", action="store_true",
                    help="pin vCPU thread i of each QEMU to host CPU i (mod host CPUs)")
    ap.add_argument("--gate", action="store_true",
                    help="fail unless capOS's 1->2 median work speedup >= 0.98x Linux's for both workloads "
                         "(and >= 1.95x under KVM)")
    ap.add_argument("--timeout", type=float, default=240.0,
                    help="per boot, seconds (default 240: a full-size 1-CPU boot takes ~15 s here)")
    ap.add_argument("--out", type=Path, default=None)
    return ap.parse_args(argv)


def main() -> int:
    argv = sys.argv[1:] + shlex.split(os.environ.get("CAPOS_BENCH_ARGS", ""))
    a = parse_args(argv)
    build = a.build_dir.resolve()
    iso = (a.iso or build / "iso" / "capos.iso").resolve()
    if a.accel == "auto":
        acc = qemu.detect_accel(build, iso)
    else:
        acc = {"kvm": qemu.KVM, "tcg-mt": qemu.TCG_MT, "tcg": qemu.TCG_ST}[a.accel]
    cpu = acc.default_cpu
    cores = report.host_cores()
    out = a.out or build / "benchmarks" / time.strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    host_cpus = sorted(os.sched_getaffinity(0))
    pin = host_cpus if a.pin else None

    print(f"[bench] accelerator: {acc.name} ({acc.reason or 'forced'}); host: {cores} cores; "
          f"QEMU -cpu {cpu} -m {a.memory}; {a.runs} runs per case; output {out}", flush=True)
    if acc.name == "tcg":
        print("[bench] single-threaded TCG is functional only: no scaling claim will be made", flush=True)
    for c in a.cpus:
        if c > cores:
            print(f"[bench] note: {c} vCPUs > {cores} host cores: the {c}-CPU rows are oversubscribed "
                  f"(diagnostic only, excluded from claims)", flush=True)

    initrd = None
    if "linux" in a.oses:
        initrd = linux_baseline.pack_initramfs(linux_baseline.Programs.from_build(build),
                                               build / "benchmarks" / "linux-baseline.cpio")

    plan: list[tuple[str, str, str, int, int]] = []  # (os, policy, workload, cpus, run)
    for k in range(1, a.runs + 1):
        for workload in a.workloads:
            for cpus in a.cpus:
                for osname in a.oses:
                    for policy in (a.policy if osname == "capos" else [""]):
                        plan.append((osname, policy, workload, cpus, k))

    samples: list[stats.Sample] = []
    failures: list[str] = []
    retried: list[str] = []  # Linux boots retried once (first attempt: no result)
    meter = hostload.Meter()
    t0 = time.monotonic()
    for i, (osname, policy, workload, cpus, k) in enumerate(plan, start=1):
        tag = f"{osname}{'-' + policy if policy else ''}-{workload}-smp{cpus}-run{k}"
        log = out / f"{tag}.log"
        if osname == "capos":
            o = run_capos(acc, iso, workload, cpus, policy, log, memory=a.memory, cpu=cpu, timeout=a.timeout,
                          pin_vcpus=pin)
        else:
            assert initrd is not None
            o = run_linux(acc, initrd, workload, cpus, log, memory=a.memory, cpu=cpu, timeout=a.timeout,
                          pin_vcpus=pin)
            if o.error is not None and not o.records:
                # The baseline is the reference, not the system under test: a
                # Linux boot that never produced a result (seen here: a stock
                # kernel silent in early boot under MTTCG) is retried once, and
                # the retry is reported. capOS failures are never retried.
                print(f"[bench] {tag}: Linux produced no result ({o.error.splitlines()[0]}); retrying once",
                      flush=True)
                retried.append(f"{tag}: {o.error.splitlines()[0]}")
                log = out / f"{tag}-retry.log"
                o = run_linux(acc, initrd, workload, cpus, log, memory=a.memory, cpu=cpu, timeout=a.timeout,
                              pin_vcpus=pin)
        spent = time.monotonic() - t0
        eta = spent / i * (len(plan) - i)
        detail = f"work={o.records[0].work}" if o.records and o.error is None else f"FAILED: {o.error}"
        print(f"[bench] {i}/{len(plan)} {osname} {policy or '-'} {workload} cpus={cpus} run {k}/{a.runs}: "
              f"{detail} ({o.elapsed:.1f}s, elapsed {spent/60:.1f} min, ETA {eta/60:.1f} min)", flush=True)
        if o.error is not None:
            failures.append(f"{tag}: {o.error}")
            continue
        samples += [stats.Sample.from_record(r, os=osname, accel=acc.name, run=k, policy=policy, log=str(log))
                    for r in o.records]

    cases = stats.summarize(samples)
    gates = stats.gate_1_to_2(cases) if "capos" in a.oses and "linux" in a.oses else []
    paths = report.write_all(samples, cases, out, host_cores=cores, gates=gates,
                             title=f"capOS vs Linux SMP scaling ({acc.name})")
    foreign = meter.stop()
    with (out / "summary.md").open("a") as f:
        for r in retried:
            f.write(f"\nRetried once (first boot gave no result): {r}\n")
        f.write(f"\nHost: {foreign.describe()}"
                f"{' -- the host was busy: other work shared the cores, so timings are noisy' if foreign.busy else ''}.\n")
    print((out / "summary.md").read_text())
    for name, p in paths.items():
        print(f"[bench] {name}: {p}")
    if failures:
        print(f"[bench] {len(failures)} run(s) failed:")
        for f in failures:
            print(f"  - {f}")
    if a.gate:
        ok = stats.gate_passed(gates, a.workloads)
        for g in gates:
            print(f"[bench] gate {g.workload} {g.policy}: {'pass' if g.passed else 'FAIL'}: {g.reason}")
        if not ok:
            print("[bench] gate FAILED")
            return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
