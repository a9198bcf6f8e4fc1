"""linux_baseline.py: pack the Linux baseline initramfs and boot it in the capOS QEMU envelope.

The baseline is Debian's own kernel (/boot/vmlinuz-*, package
linux-image-amd64) booted with -kernel/-initrd under the same QEMU settings
as capOS (accelerator, -smp, -m, -cpu), running the static programs of
benchmarks/linux/ from a tiny initramfs. Its /init reads the case from the
kernel command line, prints the result lines of docs/benchmarks.md on
ttyS0 and powers the VM off.

Command line (also used by the meson custom target that packs the image):

    linux_baseline.py pack --init I --process P --thread T --output O
    linux_baseline.py run --build-dir B --smp 2 [--bench all] [--runs 1] [--hi H] [--blocks N] [--check]
    linux_baseline.py measure --build-dir B [--cpus 1 2 4] [--runs 3] [--out DIR]
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from capos import cpio, resultline  # noqa: E402
else:
    from . import cpio, resultline

if TYPE_CHECKING:
    from .qemu import Accel, RunResult

PROGRAM_NAMES = {"init": "linux-bench-init", "process": "smp-process-scale", "thread": "smp-thread-scale",
                 "micro": "micro-bench"}
BENCHES = ("process", "thread", "all", "micro")
DONE = re.compile(r"\[linux-init\] done status=(\w+)")
BASE_APPEND = "console=ttyS0 quiet panic=-1 loglevel=3"


@dataclass(frozen=True)
class Programs:
    init: Path
    process: Path
    thread: Path
    micro: Path | None = None  # benchmarks/linux/micro.cpp (ninja benchmark-micro); optional

    @classmethod
    def from_build(cls, build_dir: Path) -> "Programs":
        d = build_dir / "benchmarks"
        progs = cls(*(d / PROGRAM_NAMES[k] for k in ("init", "process", "thread")))
        if (d / PROGRAM_NAMES["micro"]).is_file():
            progs = cls(progs.init, progs.process, progs.thread, d / PROGRAM_NAMES["micro"])
        missing = [str(p) for p in (progs.init, progs.process, progs.thread) if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"Linux baseline programs not built: {', '.join(missing)} "
                                    f"(run: ninja -C {build_dir})")
        return progs


def initramfs_entries(progs: Programs) -> list[cpio.Entry]:
    """Directories, the console device nodes, /init and the two programs."""
    return [
        cpio.directory("bin"),
        cpio.directory("dev"),
        cpio.char_device("dev/console", 5, 1),
        cpio.char_device("dev/ttyS0", 4, 64),
        cpio.char_device("dev/null", 1, 3, 0o666),
        cpio.directory("proc"),
        cpio.directory("sys"),
        cpio.directory("tmp", 0o1777),
        cpio.regular("init", progs.init.read_bytes(), 0o755),
        cpio.regular("bin/smp-process-scale", progs.process.read_bytes(), 0o755),
        cpio.regular("bin/smp-thread-scale", progs.thread.read_bytes(), 0o755),
    ] + ([cpio.regular("bin/micro-bench", progs.micro.read_bytes(), 0o755)] if progs.micro else [])


def pack_initramfs(progs: Programs, out: Path) -> Path:
    """Writes the uncompressed newc initramfs; leaves the file alone if unchanged."""
    data = cpio.pack(initramfs_entries(progs))
    if not out.exists() or out.read_bytes() != data:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return out


def _version_key(p: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def find_kernel(explicit: Path | None = None) -> Path:
    """The Debian kernel image: explicit path, $CAPOS_LINUX_KERNEL, or the newest /boot/vmlinuz-*."""
    import os

    cand = explicit or (Path(os.environ["CAPOS_LINUX_KERNEL"]) if os.environ.get("CAPOS_LINUX_KERNEL") else None)
    if cand is None:
        found = sorted(Path("/boot").glob("vmlinuz-*"), key=_version_key)
        if not found:
            raise FileNotFoundError("no /boot/vmlinuz-*: run harness/setup.sh (installs linux-image-amd64)")
        cand = found[-1]
    if not cand.is_file() or not os.access(cand, os.R_OK):
        raise FileNotFoundError(f"Linux kernel image {cand} missing or unreadable")
    return cand


def kernel_cmdline(bench: str, workers: int, runs: int = 1, hi: int | None = None,
                   blocks: int | None = None, detail: bool = False, paired: int = 0) -> str:
    """paired > 0: one boot alternates 1 and `workers` workers in `paired` ABBA blocks
    (capos.paired=N; 4N result lines), for bench process or thread."""
    if bench not in BENCHES:
        raise ValueError(f"bench must be one of {BENCHES}, not {bench!r}")
    if workers < 1 or runs < 1 or paired < 0:
        raise ValueError("workers and runs must be positive, paired not negative")
    if paired and bench not in ("process", "thread"):
        raise ValueError("paired mode runs one workload: bench process or thread")
    parts = [BASE_APPEND, f"capos.bench={bench}", f"capos.workers={workers}", f"capos.runs={runs}"]
    if paired:
        parts.append(f"capos.paired={paired}")
    if hi is not None:
        parts.append(f"capos.hi={hi}")
    if blocks is not None:
        parts.append(f"capos.blocks={blocks}")
    if detail:
        parts.append("capos.detail=1")
    return " ".join(parts)


def done_marker(text: str) -> str | None:
    m = DONE.search(text)
    return m.group(1) if m else None


@dataclass
class LinuxRun:
    result: "RunResult"
    records: list[resultline.Record]
    status: str | None  # init's verdict: "ok" / "fail"; None if it never finished
    error: str | None   # a malformed line, a timeout, or a missing/unverified result

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def measurements(self) -> list[resultline.ProcessScale | resultline.ThreadScale]:
        return [r for r in self.records if not isinstance(r, resultline.Env)]

    @property
    def tsc_hz(self) -> int | None:
        for r in self.records:
            if isinstance(r, resultline.Env) and r.tsc_hz:
                return r.tsc_hz
        return None


def evaluate(text: str, bench: str, runs: int, timed_out: bool = False,
             paired: int = 0) -> tuple[list[resultline.Record], str | None, str | None]:
    """Parses a baseline log; returns (records, init status, error or None). With paired = N the
    boot must have printed 4N result lines of `bench` (N ABBA blocks of 1 and 2 workers)."""
    status = done_marker(text)
    try:
        records = resultline.parse_text(text)
    except resultline.ResultLineError as e:
        return [], status, f"malformed result line: {e}"
    if timed_out and status is None:
        return records, status, "timed out before /init finished"
    if status != "ok":
        return records, status, f"/init finished with status {status!r}" if status else "/init never finished"
    want = {"process": runs if bench in ("process", "all") else 0, "thread": runs if bench in ("thread", "all") else 0}
    if paired:
        want = {w: 4 * paired if w == bench else 0 for w in want}
    got = {"process": 0, "thread": 0}
    for r in records:
        if isinstance(r, resultline.Env):
            continue
        if not r.verified:
            return records, status, f"unverified result: {r}"
        got[r.workload] += 1
    if got != want:
        return records, status, f"expected result lines {want}, got {got}"
    return records, status, None


def run_case(accel: "Accel", smp: int, bench: str, initrd: Path, log: Path, *, workers: int | None = None,
             runs: int = 1, memory: str = "256M", cpu: str | None = None, kernel: Path | None = None,
             timeout: float = 900.0, pin_cpus: list[int] | None = None, hi: int | None = None,
             blocks: int | None = None, detail: bool = False, pin_vcpus: list[int] | None = None,
             paired: int = 0) -> LinuxRun:
    """Boots the baseline once with -smp smp and runs `bench` `runs` times (workers default to smp);
    paired = N instead alternates 1 and `workers` workers in N ABBA blocks (kernel_cmdline)."""
    from . import qemu

    spec = qemu.QemuSpec(accel=accel, smp=smp, memory=memory, cpu=cpu or ("host" if accel.name == "kvm" else "max"),
                         kernel=find_kernel(kernel), initrd=initrd,
                         append=kernel_cmdline(bench, workers or smp, runs, hi, blocks, detail, paired),
                         log=log, timeout=timeout, pin_cpus=pin_cpus, pin_vcpus=pin_vcpus)
    # /init's "done" line is the last thing it prints before powering off.
    res = qemu.run(spec, until=done_marker)
    records, status, error = evaluate(res.text, bench, runs, res.timed_out, paired)
    return LinuxRun(res, records, status, error)


# ---------------------------------------------------------------------------
# Command line


def _accel_by_name(name: str, build_dir: Path) -> "Accel":
    from . import qemu

    if name == "auto":
        return qemu.detect_accel(build_dir, build_dir / "iso" / "capos.iso")  # probes KVM with it when built
    args = {"kvm": ["-accel", "kvm"], "tcg-mt": ["-accel", "tcg,thread=multi"], "tcg": ["-accel", "tcg,thread=single"]}
    return qemu.Accel(name, args[name])


def _cmd_pack(a: argparse.Namespace) -> int:
    pack_initramfs(Programs(Path(a.init), Path(a.process), Path(a.thread), Path(a.micro) if a.micro else None),
                   Path(a.output))
    return 0


def _cmd_run(a: argparse.Namespace) -> int:
    build = Path(a.build_dir)
    initrd = pack_initramfs(Programs.from_build(build), build / "benchmarks" / "linux-baseline.cpio")
    accel = _accel_by_name(a.accel, build)
    log = Path(a.log) if a.log else build / "linux-baseline" / f"run-smp{a.smp}.log"
    r = run_case(accel, a.smp, a.bench, initrd, log, workers=a.workers, runs=a.runs, hi=a.hi, blocks=a.blocks,
                 timeout=a.timeout, memory=a.memory, detail=a.detail)
    for rec in r.records:
        print(rec)
    print(f"linux-baseline: accel={accel.name} smp={a.smp} status={r.status} "
          f"elapsed={r.result.elapsed:.1f}s log={log}" + (f" error={r.error}" if r.error else ""))
    return 0 if r.ok else 1


def host_cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all host CPUs from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return sum(f) - idle, sum(f)


def foreign_load(before: tuple[int, int], after: tuple[int, int], smp: int, host_cpus: int) -> float:
    """Average host CPUs busy during a run beyond what the guest's vCPUs could use.

    Other work on this host (builds, other VMs) steals time from TCG vCPU
    threads and skews timings; a run with foreign load is repeated."""
    busy = after[0] - before[0]
    total = after[1] - before[1]
    if total <= 0:
        return 0.0
    used = busy / total * host_cpus
    return max(0.0, used - min(smp, host_cpus))


def wait_idle(max_busy: float, limit_s: float) -> float:
    """Waits (up to limit_s) until the host is below max_busy CPUs busy over a 1 s sample; returns that load."""
    import os

    cpus = os.cpu_count() or 1
    deadline = time.monotonic() + limit_s
    while True:
        a = host_cpu_jiffies()
        time.sleep(1.0)
        b = host_cpu_jiffies()
        load = foreign_load(a, b, 0, cpus)
        if load <= max_busy or time.monotonic() > deadline:
            return load
        time.sleep(2.0)


def raise_priority(nice: int) -> None:
    """Runs this process and the QEMU it starts at `nice`, shielding the vCPU
    threads from other work on the host without changing the guest.

    With autogroup scheduling (Linux's default for desktops and many VMs) a
    process's nice value only counts inside its session's group, so we start
    a session of our own and set the group's nice too. Only our own
    processes are affected."""
    import os

    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    try:
        Path("/proc/self/autogroup").write_text(f"{nice}\n")
    except OSError:
        pass


def _cmd_measure(a: argparse.Namespace) -> int:
    import os

    from . import report, stats

    build = Path(a.build_dir)
    if a.nice:
        raise_priority(a.nice)
    initrd = pack_initramfs(Programs.from_build(build), build / "benchmarks" / "linux-baseline.cpio")
    accel = _accel_by_name(a.accel, build)
    out = Path(a.out) if a.out else build / "benchmarks" / ("linux-" + time.strftime("%Y%m%dT%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    samples: list[stats.Sample] = []
    cases = [(w, c, k) for k in range(1, a.runs + 1) for w in a.workloads for c in a.cpus]
    host_cpus = os.cpu_count() or 1
    t_start = time.monotonic()
    for i, (workload, cpus, k) in enumerate(cases, start=1):
        log = out / f"linux-{workload}-smp{cpus}-run{k}.log"
        for attempt in range(1, a.retries + 2):
            idle = wait_idle(a.max_foreign, a.idle_wait)
            before = host_cpu_jiffies()
            r = run_case(accel, cpus, workload, initrd, log, memory=a.memory, timeout=a.timeout, detail=True)
            foreign = foreign_load(before, host_cpu_jiffies(), cpus, host_cpus)
            noisy = foreign > a.max_foreign and cpus <= host_cpus
            spent = time.monotonic() - t_start
            eta = spent / i * (len(cases) - i)
            meas = r.measurements
            brief = f"work={meas[0].work}" if meas else ""
            print(f"[{i}/{len(cases)}] linux {workload} cpus={cpus} run {k}/{a.runs}"
                  f"{f' (attempt {attempt})' if attempt > 1 else ''}: "
                  f"{'ok' if r.ok else 'FAIL ' + str(r.error)} {brief} ({r.result.elapsed:.1f}s, ETA {eta:.0f}s, "
                  f"host load before {idle:.2f}, foreign {foreign:.2f} CPUs{', NOISY' if noisy else ''})",
                  flush=True)
            if not r.ok:
                return 1
            if not noisy:
                break
            log.rename(log.with_suffix(f".noisy{attempt}.log"))
        samples += [stats.Sample.from_record(m, os="linux", accel=accel.name, run=k, log=str(log),
                                             tsc_hz=r.tsc_hz) for m in meas]
    table = stats.summarize(samples)
    report.write_all(samples, table, out, host_cores=report.host_cores(), title="Linux baseline")
    print((out / "summary.md").read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pk = sub.add_parser("pack", help="write the initramfs")
    for opt in ("init", "process", "thread", "output"):
        pk.add_argument(f"--{opt}", required=True)
    pk.add_argument("--micro")
    for name in ("run", "measure"):
        sp = sub.add_parser(name)
        sp.add_argument("--build-dir", required=True)
        sp.add_argument("--accel", default="auto", choices=["auto", "kvm", "tcg-mt", "tcg"])
        sp.add_argument("--memory", default="256M")
        sp.add_argument("--timeout", type=float, default=900.0)
    r = sub.choices["run"]
    r.add_argument("--smp", type=int, default=2)
    r.add_argument("--bench", default="all", choices=BENCHES)
    r.add_argument("--workers", type=int)
    r.add_argument("--runs", type=int, default=1)
    r.add_argument("--hi", type=int, help="smaller prime range [2, hi) for functional runs")
    r.add_argument("--blocks", type=int, help="fewer blocks for functional runs")
    r.add_argument("--log")
    r.add_argument("--detail", action="store_true", help="also print per-worker cycles")
    m = sub.choices["measure"]
    m.add_argument("--cpus", type=int, nargs="+", default=[1, 2, 4])
    m.add_argument("--workloads", nargs="+", default=["process", "thread"], choices=["process", "thread"])
    m.add_argument("--runs", type=int, default=3)
    m.add_argument("--out")
    m.add_argument("--max-foreign", type=float, default=0.3,
                   help="repeat a run when other host work kept more than this many CPUs busy")
    m.add_argument("--retries", type=int, default=3)
    m.add_argument("--nice", type=int, default=0, help="run QEMU at this nice value (negative needs root)")
    m.add_argument("--idle-wait", type=float, default=120.0, help="seconds to wait for a quiet host per run")
    a = p.parse_args(argv)
    return {"pack": _cmd_pack, "run": _cmd_run, "measure": _cmd_measure}[a.cmd](a)


if __name__ == "__main__":
    if __package__ in (None, ""):
        from capos import linux_baseline as _self  # re-enter as a package module so relative imports work

        sys.exit(_self.main())
    sys.exit(main())
