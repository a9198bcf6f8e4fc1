"""qemu.py: find QEMU, choose the accelerator, boot an image and watch its serial log.

Every run is bounded: QEMU is started in its own process group and killed
(the whole group) when it exits, when the caller's `until` predicate fires,
on timeout, or when the harness itself is interrupted.

Each run also attributes host CPU time (hostattr.py): one QMP connection per
boot gives the vCPU thread ids (for pinning and sampling) and `info jit`;
the guest's `[bench-window] begin/end <label>` lines delimit the windows of
RunResult.windows, which always ends with the whole-boot window "boot".
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import io
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import hangdump, hostattr

# isa-debug-exit status codes written by the kernel (exit = code << 1 | 1).
EXIT_PASS = 33
EXIT_FAIL = 35
EXIT_STOP = 37      # panic or unexpected exception
EXIT_HALT = 39

EXIT_NAMES = {EXIT_PASS: "pass", EXIT_FAIL: "fail", EXIT_STOP: "panic/exception", EXIT_HALT: "halt"}


@dataclass
class Accel:
    name: str                 # 'kvm' | 'tcg-mt' | 'tcg'
    args: list[str]
    reason: str = ""

    @property
    def default_cpu(self) -> str:
        return "host" if self.name == "kvm" else "max"


TCG_MT = Accel("tcg-mt", ["-accel", "tcg,thread=multi"])
TCG_ST = Accel("tcg", ["-accel", "tcg,thread=single"])
KVM = Accel("kvm", ["-accel", "kvm"])


@dataclass
class QemuSpec:
    accel: Accel
    smp: int | str = 1
    memory: str = "256M"
    cpu: str = "max"
    iso: Path | None = None
    kernel: Path | None = None
    initrd: Path | None = None
    append: str | None = None
    cmdline: str | None = None         # capOS kernel command line (via the config disk)
    extra: list[str] = field(default_factory=list)
    log: Path = Path("serial.log")
    timeout: float = 60.0
    pin_cpus: list[int] | None = None   # taskset the whole QEMU process to these host CPUs
    pin_vcpus: list[int] | None = None  # pin vCPU thread i to host CPU pin_vcpus[i % len] (via QMP)
    symbols: Path | None = None         # kernel ELF: a timed-out boot gets a per-vCPU hang dump (hangdump.py)
    attribution: bool = True            # host-side attribution windows (hostattr.py; needs QMP)
    report_windows: bool = False        # print each window's describe() line as it ends
    machine: str = "q35"                # QEMU -machine: q35 (the tests' default) or pc
    uefi: bool = False                  # boot through OVMF (UEFI) instead of SeaBIOS (ovmf_drives)


@dataclass
class RunResult:
    exit_code: int | None
    timed_out: bool
    log: Path
    text: str
    elapsed: float
    matched: str | None
    command: list[str] = field(default_factory=list)
    # The [bench-window] windows in the order they ended, then "boot"; empty
    # when attribution was off or QMP never answered.
    windows: list[hostattr.Window] = field(default_factory=list)

    def window(self, label: str) -> hostattr.Window | None:
        """The first window with this label."""
        return next((w for w in self.windows if w.label == label), None)

    @property
    def exit_name(self) -> str:
        if self.timed_out:
            return "timeout"
        if self.exit_code is None:
            return "stopped by harness"
        return EXIT_NAMES.get(self.exit_code, f"exit {self.exit_code}")


def find_qemu() -> str:
    env = os.environ.get("CAPOS_QEMU")
    if env:
        return env
    path = shutil.which("qemu-system-x86_64")
    if path is None:
        raise FileNotFoundError("qemu-system-x86_64 not found: run harness/setup.sh "
                                "(installs qemu-system-x86 from Debian backports)")
    return path


def qemu_version(qemu: str) -> str:
    out = subprocess.run([qemu, "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


def make_config_disk(cmdline: str, directory: Path) -> Path:
    """A tar archive holding capos.cfg; grub.cfg sources it to set the command line."""
    if '"' in cmdline or "\n" in cmdline or "$" in cmdline:
        raise ValueError(f"kernel command line may not contain quotes, $ or newlines: {cmdline!r}")
    data = f'set capos_cmdline="{cmdline}"\n'.encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("capos.cfg")
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    raw += b"\0" * (-len(raw) % 65536)
    fd, name = tempfile.mkstemp(prefix="capos-cfg-", suffix=".tar", dir=directory)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    return Path(name)


OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE.fd")   # Debian's ovmf (no Secure Boot, no SMM needed)
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS.fd")


def ovmf_vars_copy(directory: Path) -> Path:
    """A writable copy of the OVMF variable store (the firmware writes its
    boot entries there); one per boot, so parallel boots do not share it."""
    if not OVMF_CODE.exists() or not OVMF_VARS.exists():
        raise FileNotFoundError(f"{OVMF_CODE} / {OVMF_VARS} not found: run harness/setup.sh "
                                "(installs Debian's ovmf)")
    fd, name = tempfile.mkstemp(prefix="capos-ovmf-vars-", suffix=".fd", dir=directory)
    with os.fdopen(fd, "wb") as f:
        f.write(OVMF_VARS.read_bytes())
    return Path(name)


def ovmf_drives(vars_copy: Path) -> list[str]:
    """The two pflash drives of a UEFI boot: OVMF's code (read-only) and its variables."""
    return ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]


def qmp_socket(spec: QemuSpec) -> Path:
    """Where this boot's QMP socket lives: beside its log, unless that path
    is too long for a Unix socket (108 bytes with the NUL), then in the
    temporary directory under a name derived from the log's path."""
    beside = spec.log.with_suffix(".qmp")
    if len(os.fsencode(str(beside.resolve()))) < 100:
        return beside
    import hashlib
    digest = hashlib.sha1(os.fsencode(str(spec.log.resolve()))).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"capos-{digest}.qmp"


def uses_qmp(spec: QemuSpec) -> bool:
    return bool(spec.pin_vcpus) or spec.symbols is not None or spec.attribution


def build_command(spec: QemuSpec, qemu: str, cfg_disk: Path | None,
                  ovmf_vars: Path | None = None) -> list[str]:
    """The QEMU command line of spec. A UEFI boot (spec.uefi) needs
    ovmf_vars, the writable copy of OVMF's variable store (ovmf_vars_copy)."""
    cmd = [qemu, "-machine", spec.machine, "-display", "none", "-vga", "none", "-no-reboot",
           "-monitor", "none", "-serial", f"file:{spec.log}",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-m", spec.memory, "-smp", str(spec.smp), "-cpu", spec.cpu]
    cmd += spec.accel.args
    if spec.uefi:
        if ovmf_vars is None:
            raise ValueError("a UEFI boot needs a copy of OVMF's variable store")
        # No NIC: nothing for OVMF to try network boot on if the CD failed (its
        # default order lists the CD first; the variable store starts empty).
        cmd += ovmf_drives(ovmf_vars) + ["-nic", "none"]
    if spec.iso is not None:
        cmd += ["-drive", f"file={spec.iso},media=cdrom,if=ide,index=0,readonly=on", "-boot", "d"]
    if cfg_disk is not None:
        cmd += ["-drive", f"file={cfg_disk},format=raw,if=ide,index=1,media=disk,snapshot=on"]
    if spec.kernel is not None:
        cmd += ["-kernel", str(spec.kernel)]
    if spec.initrd is not None:
        cmd += ["-initrd", str(spec.initrd)]
    if spec.append is not None:
        cmd += ["-append", spec.append]
    if uses_qmp(spec):
        cmd += ["-qmp", f"unix:{qmp_socket(spec)},server=on,wait=off"]
    cmd += spec.extra
    if spec.pin_cpus:
        taskset = shutil.which("taskset")
        if taskset:
            cmd = [taskset, "-c", ",".join(str(c) for c in spec.pin_cpus)] + cmd
    return cmd


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _qmp_vcpu_threads(sock_path: Path, deadline: float) -> dict[int, int]:
    """cpu-index -> host thread id, from QMP query-cpus-fast."""
    import socket

    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5.0)
            s.connect(str(sock_path))
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise TimeoutError(f"QMP socket {sock_path} never appeared")
            time.sleep(0.02)
    with s:
        f = s.makefile("rw")

        def rpc(cmd: str) -> dict:
            f.write(json.dumps({"execute": cmd}) + "\n")
            f.flush()
            while True:
                msg = json.loads(f.readline())
                if "return" in msg or "error" in msg:
                    return msg

        json.loads(f.readline())  # greeting
        rpc("qmp_capabilities")
        res = rpc("query-cpus-fast")
    return {c["cpu-index"]: c["thread-id"] for c in res.get("return", [])}


def pin_vcpu_threads(sock_path: Path, host_cpus: list[int], timeout: float = 10.0) -> dict[int, int]:
    """Pins vCPU i's thread to host_cpus[i % len(host_cpus)]; returns cpu-index -> host CPU."""
    return pin_threads(_qmp_vcpu_threads(sock_path, time.monotonic() + timeout), host_cpus)


def pin_threads(threads: dict[int, int], host_cpus: list[int]) -> dict[int, int]:
    """Pins thread threads[i] (cpu-index i) to host_cpus[i % len(host_cpus)]."""
    placed: dict[int, int] = {}
    for idx, tid in sorted(threads.items()):
        host = host_cpus[idx % len(host_cpus)]
        os.sched_setaffinity(tid, {host})
        placed[idx] = host
    return placed


def connect_qmp(sock_path: Path, deadline: float, alive: Callable[[], bool],
                timeout: float = 2.0) -> hangdump.Qmp | None:
    """One QMP connection, retried until the socket answers, `alive()` turns
    false or the deadline passes (then None)."""
    while True:
        try:
            if sock_path.exists():  # (Qmp leaks its socket when the connect fails)
                return hangdump.Qmp(sock_path, timeout=timeout)
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline or not alive():
            return None
        time.sleep(0.02)


def vcpu_threads(q: hangdump.Qmp) -> dict[int, int]:
    """cpu-index -> host thread id (QMP query-cpus-fast)."""
    return {int(c["cpu-index"]): int(c["thread-id"]) for c in q.rpc("query-cpus-fast").get("return", [])}


class _Log:
    """The serial log read as it grows. `text` is a prefix of what decoding
    the whole file gives (UTF-8, errors replaced, CR LF as LF): a partial
    UTF-8 sequence or a CR that may start a CR LF waits for the next read."""

    def __init__(self, path: Path) -> None:
        import codecs

        self._f = path.open("rb")
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._cr = ""
        self.text = ""

    def update(self) -> bool:
        new = self._f.read()
        if not new:
            return False
        piece = self._cr + self._dec.decode(new)
        self._cr = ""
        if piece.endswith("\r"):
            piece, self._cr = piece[:-1], "\r"
        self.text += piece.replace("\r\n", "\n")
        return True

    def close(self) -> None:
        self._f.close()


class _FileWatch:
    """Wakes when a file is written (inotify IN_MODIFY, through libc): the
    serial log is looked at as soon as the guest prints, without polling
    every few ms. Polling at 5 ms costs about 2.5 % of a host CPU here, which
    the vCPUs being measured would lose."""

    IN_MODIFY = 0x2
    IN_NONBLOCK = 0o4000
    IN_CLOEXEC = 0o2000000

    def __init__(self, path: Path) -> None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(fd, os.fsencode(str(path)), self.IN_MODIFY) < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise OSError(err, f"inotify_add_watch {path}")
        self.fd = fd

    def wait(self, timeout: float) -> None:
        import select

        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                while os.read(self.fd, 4096):
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        os.close(self.fd)


def _watch(path: Path) -> _FileWatch | None:
    try:
        return _FileWatch(path)
    except (OSError, AttributeError):
        return None


def _die_with_parent() -> None:
    """preexec hook: the kernel SIGKILLs QEMU if the harness process dies for any reason."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Terminated(Exception):
    pass


def _raise_terminated(signum: int, _frame: object) -> None:
    raise _Terminated(f"harness received signal {signum}")


def run(spec: QemuSpec, until: Callable[[str], str | None] | None = None) -> RunResult:
    """Boots spec; returns when QEMU exits, `until(text)` is non-None, or at timeout."""
    qemu = find_qemu()
    spec.log.parent.mkdir(parents=True, exist_ok=True)
    spec.log.write_bytes(b"")
    cfg_disk = make_config_disk(spec.cmdline, spec.log.parent) if spec.cmdline is not None else None
    ovmf_vars = ovmf_vars_copy(spec.log.parent) if spec.uefi else None
    cmd = build_command(spec, qemu, cfg_disk, ovmf_vars)
    if uses_qmp(spec):
        qmp_socket(spec).unlink(missing_ok=True)  # a stale one would be connected to
    start = time.monotonic()
    # A test runner's timeout sends SIGTERM: turn it into an exception so the
    # finally clause below still kills QEMU (PDEATHSIG covers SIGKILL).
    old_handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            old_handlers[sig] = signal.signal(sig, _raise_terminated)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent)
    matched: str | None = None
    timed_out = False
    text = ""
    qmp: hangdump.Qmp | None = None
    recorder: hostattr.Recorder | None = None
    windows: list[hostattr.Window] = []
    log = _Log(spec.log)
    watch: _FileWatch | None = None
    try:
        if uses_qmp(spec) and (spec.pin_vcpus or spec.attribution):
            qmp = connect_qmp(qmp_socket(spec), start + min(10.0, spec.timeout), lambda: proc.poll() is None)
            threads: dict[int, int] = {}
            if qmp is not None:
                try:
                    threads = vcpu_threads(qmp)
                except (OSError, ValueError, KeyError, TypeError):
                    qmp.close()  # out of step: no attribution figures from it
                    qmp = None
            if spec.pin_vcpus:
                if not threads:
                    raise TimeoutError(f"QMP socket {qmp_socket(spec)} never answered with vCPU threads")
                pin_threads(threads, spec.pin_vcpus)
            if spec.attribution and proc.poll() is None:
                recorder = hostattr.Recorder(
                    hostattr.Sampler(proc.pid, threads, qmp.hmp if qmp is not None else None),
                    report=(lambda w: print(w.describe(), flush=True)) if spec.report_windows else None)
                recorder.start()
        # While windows are recorded, a marker is sampled within a few ms of
        # its line reaching the file: woken by inotify (at most every 2 ms),
        # else polled every 10 ms. `until` looks at the whole text, so it
        # runs at most every 50 ms, and only on news.
        if recorder is not None:
            watch = _watch(spec.log)
        poll_s = 0.05 if recorder is None or watch is not None else 0.01
        pending, last_until, last_wake = True, 0.0, 0.0
        while True:
            changed = log.update()
            text = log.text
            pending = pending or changed
            if changed and recorder is not None:
                recorder.feed(text)
            now = time.monotonic()
            if until is not None and pending and now - last_until >= 0.05:
                pending, last_until = False, now
                matched = until(text)
                if matched is not None:
                    break
            if proc.poll() is not None:
                # What QEMU wrote last may not have been looked at yet.
                if log.update() or pending:
                    text = log.text
                    if recorder is not None:
                        recorder.feed(text)
                    if until is not None:
                        matched = until(text)
                break
            if time.monotonic() - start > spec.timeout:
                timed_out = True
                break
            if recorder is not None:
                recorder.poll()
            if watch is not None:
                gap = last_wake + 0.002 - time.monotonic()
                if gap > 0:
                    time.sleep(gap)
                watch.wait(poll_s)
                last_wake = time.monotonic()
            else:
                time.sleep(poll_s)
        if recorder is not None:
            windows = recorder.finish(alive=proc.poll() is None)
            recorder = None
        if timed_out and spec.symbols is not None and proc.poll() is None:
            if qmp is not None:  # QEMU serves one QMP client at a time
                qmp.close()
                qmp = None
            lines = hangdump.dump(qmp_socket(spec), spec.symbols)
            with spec.log.open("a") as f:
                f.write("\n" + "\n".join(lines) + "\n")
    finally:
        exited = proc.poll()
        if qmp is not None:
            qmp.close()
        if watch is not None:
            watch.close()
        log.close()
        _kill_group(proc)
        if cfg_disk is not None:
            cfg_disk.unlink(missing_ok=True)
        if ovmf_vars is not None:
            ovmf_vars.unlink(missing_ok=True)
        if uses_qmp(spec):
            qmp_socket(spec).unlink(missing_ok=True)
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
    elapsed = time.monotonic() - start
    text = spec.log.read_text(errors="replace").replace("\r\n", "\n")
    qemu_out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    if qemu_out.strip():
        text += "\n[qemu] " + qemu_out.strip().replace("\n", "\n[qemu] ") + "\n"
    return RunResult(exit_code=exited, timed_out=timed_out, log=spec.log, text=text,
                     elapsed=elapsed, matched=matched, command=cmd, windows=windows)


def processes_with_arg(needle: str, proc: Path = Path("/proc")) -> list[int]:
    """Pids of live processes with `needle` inside one of their command-line
    arguments (read from /proc: no procps needed); zombies do not count."""
    pids: list[int] = []
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            args = (d / "cmdline").read_bytes().split(b"\0")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and any(needle.encode() in a for a in args):
            pids.append(int(d.name))
    return sorted(pids)


def tail(text: str, n: int = 40) -> str:
    lines = text.splitlines()
    return "\n".join(lines[-n:])


def _kvm_usable() -> bool:
    return os.path.exists("/dev/kvm") and os.access("/dev/kvm", os.R_OK | os.W_OK)


def _first_line(path: str, prefix: str = "") -> str:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip() if prefix else line.strip()
    except OSError:
        pass
    return ""


def accel_cache_key(qemu_version_line: str) -> dict[str, str]:
    """What a KVM probe's answer depends on: the QEMU build, the host kernel,
    the machine (its id, else its name) and CPU model, and the /dev/kvm node
    (device number, permissions). A cached answer counts only if all agree."""
    u = os.uname()
    try:
        st = os.stat("/dev/kvm")
        kvm = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)} mode={st.st_mode & 0o7777:o} " \
              f"rw={'yes' if _kvm_usable() else 'no'}"
    except OSError:
        kvm = "absent"
    return {"qemu": qemu_version_line, "kernel": f"{u.release} {u.version}",
            "host": _first_line("/etc/machine-id") or u.nodename,
            "cpu": _first_line("/proc/cpuinfo", "model name"), "kvm": kvm}


def probe_kvm(build_dir: Path, iso: Path) -> tuple[bool, str]:
    """Boots the ISO with test=boot under KVM for at most a few seconds."""
    spec = QemuSpec(accel=KVM, smp=1, memory="128M", cpu="host", iso=iso, cmdline="test=boot",
                    log=build_dir / "kvm-probe.log", timeout=8.0, attribution=False)
    res = run(spec)
    if res.exit_code == EXIT_PASS:
        return True, f"KVM booted the probe in {res.elapsed:.1f}s"
    return False, f"KVM probe did not boot ({res.exit_name} after {res.elapsed:.1f}s)"


def detect_accel(build_dir: Path, iso: Path | None = None) -> Accel:
    """KVM only if it really boots our kernel; otherwise multi-threaded TCG.

    Opening /dev/kvm is not enough: a paravirtual KVM may accept the guest and
    then hang it, so we boot the ISO with test=boot for a few seconds. Only
    the answer of such a probe is cached, in build_dir/accel.json, keyed by
    accel_cache_key(); without /dev/kvm or without an ISO to probe with, the
    answer is TCG for this call only."""
    forced = os.environ.get("CAPOS_ACCEL")
    if forced:
        table = {"kvm": KVM, "tcg-mt": TCG_MT, "tcg": TCG_ST}
        if forced not in table:
            raise ValueError(f"CAPOS_ACCEL must be one of {sorted(table)}, not {forced!r}")
        acc = table[forced]
        return Accel(acc.name, acc.args, "forced by CAPOS_ACCEL")
    if not _kvm_usable():
        return Accel(TCG_MT.name, TCG_MT.args, "/dev/kvm missing or not accessible")
    key = accel_cache_key(qemu_version(find_qemu()))
    cache = build_dir / "accel.json"
    if cache.exists():
        try:
            data = json.loads(cache.read_text())
            if data.get("key") == key and data["accel"] in ("kvm", "tcg-mt"):
                acc = KVM if data["accel"] == "kvm" else TCG_MT
                return Accel(acc.name, acc.args, f"{data.get('reason', 'probed')} (cached)")
        except (ValueError, KeyError, TypeError):
            pass
    if iso is None or not iso.exists():
        return Accel(TCG_MT.name, TCG_MT.args, "no ISO to probe KVM with (not cached)")
    ok, reason = probe_kvm(build_dir, iso)
    chosen = KVM if ok else TCG_MT
    build_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".accel.json.{os.getpid()}")
    tmp.write_text(json.dumps({"key": key, "accel": chosen.name, "reason": reason}, indent=1) + "\n")
    tmp.replace(cache)  # whole or not at all, also with probes running side by side
    return Accel(chosen.name, chosen.args, reason)
