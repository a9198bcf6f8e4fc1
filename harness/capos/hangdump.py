"""hangdump.py: what every vCPU was doing when a boot timed out.

A boot that stops making progress prints nothing by itself. Before the
harness kills such a QEMU, it stops the guest through QMP and asks, per vCPU,
for the registers and the top of the stack, then names the kernel functions
those addresses fall in (symbols from `nm` on the kernel ELF). A return
address on the stack is only a guess at a caller (the kernel keeps no frame
pointers everywhere), so stack words are listed as "maybe called from".
"""
from __future__ import annotations

import bisect
import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

KERNEL_BASE = 0xFFFF_8000_0000_0000


class Symbols:
    """Address -> 'function+0xoff' from the kernel ELF's text symbols."""

    def __init__(self, elf: Path | None):
        self.addrs: list[int] = []
        self.sizes: list[int] = []
        self.names: list[str] = []
        nm = shutil.which("nm")
        if elf is None or nm is None or not elf.exists():
            return
        out = subprocess.run([nm, "-n", "-S", "-C", "--defined-only", str(elf)], capture_output=True, text=True,
                             check=False).stdout
        for line in out.splitlines():
            # "addr size type name" for sized symbols, "addr type name" for bare labels.
            m = re.match(r"([0-9a-f]+) (?:([0-9a-f]+) )?([tTwW]) (.+)$", line)
            if m:
                self.addrs.append(int(m.group(1), 16))
                self.sizes.append(int(m.group(2), 16) if m.group(2) else 0)
                self.names.append(m.group(4))

    def name(self, addr: int) -> str | None:
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0:
            return None
        off = addr - self.addrs[i]
        # Past a sized function's end is not in it (data, or a stray word);
        # a bare assembly label gets a page's benefit of the doubt.
        if off >= (self.sizes[i] if self.sizes[i] else 0x1000):
            return None
        return f"{self.names[i]}+{off:#x}"


class Qmp:
    def __init__(self, sock_path: Path, timeout: float = 5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(sock_path))
        self.f = self.sock.makefile("rw")
        json.loads(self.f.readline())  # greeting
        self.rpc("qmp_capabilities")

    def rpc(self, cmd: str, **args: object) -> dict:
        msg: dict[str, object] = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            reply = json.loads(self.f.readline())
            if "return" in reply or "error" in reply:
                return reply

    def hmp(self, line: str, cpu: int | None = None) -> str:
        args: dict[str, object] = {"command-line": line}
        if cpu is not None:
            args["cpu-index"] = cpu
        r = self.rpc("human-monitor-command", **args)
        return str(r.get("return", r.get("error", "")))

    def close(self) -> None:
        self.f.close()
        self.sock.close()


def parse_regs(text: str) -> dict[str, int]:
    regs: dict[str, int] = {}
    for name, val in re.findall(r"\b(RIP|RSP|RBP|RAX|RBX|RCX|RDX|RSI|RDI|CR3|CR2)=([0-9a-fA-F]+)", text):
        regs.setdefault(name, int(val, 16))
    m = re.search(r"RFL=([0-9a-fA-F]+)", text)
    if m:
        regs["RFL"] = int(m.group(1), 16)
    m = re.search(r"\bHLT=(\d)", text)
    if m:
        regs["HLT"] = int(m.group(1))
    return regs


def parse_words(text: str) -> list[int]:
    words: list[int] = []
    for line in text.splitlines():
        if ":" in line:
            words += [int(w, 16) for w in re.findall(r"0x([0-9a-fA-F]{16})", line.split(":", 1)[1])]
    return words


def describe_cpu(index: int, regs_text: str, stack_text: str, syms: Symbols) -> list[str]:
    regs = parse_regs(regs_text)
    rip = regs.get("RIP", 0)
    where = syms.name(rip) or ("user space" if rip < KERNEL_BASE else "?")
    flags = regs.get("RFL", 0)
    lines = [f"[hang-dump] cpu {index}: rip={rip:#x} ({where}) rsp={regs.get('RSP', 0):#x} "
             f"if={'on' if flags & 0x200 else 'off'} halted={regs.get('HLT', '?')} cr3={regs.get('CR3', 0):#x}"]
    callers = []
    for w in parse_words(stack_text):
        if w >= KERNEL_BASE:
            n = syms.name(w)
            if n is not None:
                callers.append(n)
    if callers:
        lines.append(f"[hang-dump] cpu {index}: maybe called from: " + " <- ".join(callers[:12]))
    return lines


def dump(sock_path: Path, elf: Path | None, deadline_s: float = 20.0) -> list[str]:
    """Stops the guest and describes each vCPU; never raises."""
    t0 = time.monotonic()
    try:
        q = Qmp(sock_path)
    except OSError as e:
        return [f"[hang-dump] no QMP connection ({e})"]
    out: list[str] = []
    try:
        q.rpc("stop")
        cpus = q.rpc("query-cpus-fast").get("return", [])
        syms = Symbols(elf)
        if not syms.addrs:
            out.append(f"[hang-dump] no kernel symbols ({elf}); raw addresses only")
        for c in cpus:
            if time.monotonic() - t0 > deadline_s:
                out.append("[hang-dump] out of time")
                break
            idx = int(c["cpu-index"])
            regs_text = q.hmp("info registers", idx)
            rsp = parse_regs(regs_text).get("RSP", 0)
            stack_text = q.hmp(f"x /48gx {rsp:#x}", idx) if rsp >= KERNEL_BASE else ""
            out += describe_cpu(idx, regs_text, stack_text, syms)
    except (OSError, ValueError) as e:
        out.append(f"[hang-dump] QMP failed: {e}")
    finally:
        q.close()
    return out
