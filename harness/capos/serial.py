"""serial.py: parsing of the capOS serial log (boot line, test verdicts, panics)."""
from __future__ import annotations

import re
from dataclasses import dataclass

BOOT_RE = re.compile(r"^\[capos\] boot ok cpus=(?P<cpus>\d+) mem=(?P<mem>\d+)\s*$", re.M)
KTEST_RE = re.compile(r"^\[ktest\] (?P<name>\S+) (?P<verdict>PASS|FAIL)(?:: (?P<reason>.*))?$", re.M)
PANIC_RE = re.compile(r"^\[capos\] (PANIC|EXCEPTION)\b.*$", re.M)


@dataclass
class BootLine:
    cpus: int
    mem_mib: int


@dataclass
class Verdict:
    name: str
    passed: bool
    reason: str | None


def find_boot_line(text: str) -> BootLine | None:
    m = BOOT_RE.search(text)
    if m is None:
        return None
    return BootLine(int(m.group("cpus")), int(m.group("mem")))


def find_verdict(text: str, name: str | None = None) -> Verdict | None:
    for m in KTEST_RE.finditer(text):
        if name is None or m.group("name") == name:
            return Verdict(m.group("name"), m.group("verdict") == "PASS", m.group("reason"))
    return None


def find_panic(text: str) -> str | None:
    m = PANIC_RE.search(text)
    return m.group(0) if m else None
