"""resultline.py: parse the benchmark result lines of docs/benchmarks.md into typed records.

The same lines come from the capOS coordinator and from the Linux baseline:

    [smp-process-scale] cpus=<n> workers=<n> range=<lo>..<hi> primes=<count> checksum=<hex> elapsed=<cycles> [total=<cycles>] verified=true
    [smp-thread-scale] cpus=<n> threads=<n> blocks=<n> rounds=<n> root=<hex> spawn_ready=<cycles> work=<cycles> shutdown=<cycles> total=<cycles> verified=true
    [smp-env] os=<name> cpus=<n> tsc_hz=<hz> cycle_source=<name>

A line that starts with one of these tags but does not have exactly the
documented fields, in order, with well-formed values, raises ResultLineError
naming the problem; lines without a tag are ignored by parse_text. Serial
noise before the tag on the same line (e.g. a kernel timestamp) is allowed.

`total=` on a process-scale line is optional: guests that measure spawn to
shutdown print it; older logs have only `elapsed`, and their `total` is None
(unknown), never a copy of `work`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

PROCESS_TAG = "[smp-process-scale]"
THREAD_TAG = "[smp-thread-scale]"
ENV_TAG = "[smp-env]"
TAGS = (PROCESS_TAG, THREAD_TAG, ENV_TAG)


class ResultLineError(ValueError):
    """A tagged line that does not follow the result-line contract."""

    def __init__(self, message: str, line: str, lineno: int | None = None) -> None:
        where = f"line {lineno}: " if lineno is not None else ""
        super().__init__(f"{where}{message}: {line.strip()!r}")
        self.line = line
        self.lineno = lineno


@dataclass(frozen=True)
class ProcessScale:
    cpus: int
    workers: int
    lo: int
    hi: int
    primes: int
    checksum: int
    elapsed: int  # guest cycles, the timed compute window
    verified: bool
    total_cycles: int | None = None  # spawn to shutdown; None in logs from before the field existed

    workload = "process"

    @property
    def parallelism(self) -> int:
        return self.workers

    @property
    def work(self) -> int:
        return self.elapsed

    @property
    def total(self) -> int | None:
        return self.total_cycles


@dataclass(frozen=True)
class ThreadScale:
    cpus: int
    threads: int
    blocks: int
    rounds: int
    root: int
    spawn_ready: int
    work: int
    shutdown: int
    total: int
    verified: bool

    workload = "thread"

    @property
    def parallelism(self) -> int:
        return self.threads


@dataclass(frozen=True)
class Env:
    os: str
    cpus: int
    tsc_hz: int
    cycle_source: str


Record = Union[ProcessScale, ThreadScale, Env]

_UINT = re.compile(r"[0-9]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]{1,16}\Z")
_RANGE = re.compile(r"([0-9]+)\.\.([0-9]+)\Z")
_NAME = re.compile(r"[A-Za-z0-9_.-]+\Z")

# Field lists in their required order, with each value's kind; a third
# element True marks an optional field (present or absent, never elsewhere).
_Spec = list[tuple[str, str, bool]]
_PROCESS_FIELDS: _Spec = [("cpus", "uint", False), ("workers", "uint", False), ("range", "range", False),
                          ("primes", "uint", False), ("checksum", "hex", False), ("elapsed", "uint", False),
                          ("total", "uint", True), ("verified", "bool", False)]
_THREAD_FIELDS: _Spec = [("cpus", "uint", False), ("threads", "uint", False), ("blocks", "uint", False),
                         ("rounds", "uint", False), ("root", "hex", False), ("spawn_ready", "uint", False),
                         ("work", "uint", False), ("shutdown", "uint", False), ("total", "uint", False),
                         ("verified", "bool", False)]
_ENV_FIELDS: _Spec = [("os", "name", False), ("cpus", "uint", False), ("tsc_hz", "uint", False),
                      ("cycle_source", "name", False)]


def _names(tokens: list[str]) -> list[str]:
    return [t.split("=", 1)[0] for t in tokens]


def _fields(body: str, spec: _Spec, line: str, lineno: int | None) -> dict[str, object]:
    tokens = body.split()
    required = sum(1 for _, _, opt in spec if not opt)
    if not required <= len(tokens) <= len(spec):
        raise ResultLineError(f"expected fields {[k for k, _, _ in spec]}, got {_names(tokens)}", line, lineno)
    out: dict[str, object] = {}
    pairs: list[tuple[str, tuple[str, str]]] = []
    i = 0
    for key, kind, optional in spec:
        if optional and not (i < len(tokens) and tokens[i].partition("=")[0] == key):
            continue  # an optional field is taken only where it stands, under its own name
        if i >= len(tokens):
            raise ResultLineError(f"expected fields {[k for k, _, _ in spec]}, got {_names(tokens)}", line, lineno)
        pairs.append((tokens[i], (key, kind)))
        i += 1
    for token, (key, kind) in pairs:
        name, sep, value = token.partition("=")
        if not sep or name != key:
            raise ResultLineError(f"expected {key}=..., got {token!r}", line, lineno)
        if kind == "uint":
            if not _UINT.match(value):
                raise ResultLineError(f"{key} is not an unsigned integer: {value!r}", line, lineno)
            out[key] = int(value)
        elif kind == "hex":
            if not _HEX.match(value):
                raise ResultLineError(f"{key} is not 0x-hex (up to 64 bits): {value!r}", line, lineno)
            out[key] = int(value, 16)
        elif kind == "range":
            m = _RANGE.match(value)
            if not m or int(m.group(1)) >= int(m.group(2)):
                raise ResultLineError(f"{key} is not <lo>..<hi> with lo < hi: {value!r}", line, lineno)
            out["lo"], out["hi"] = int(m.group(1)), int(m.group(2))
        elif kind == "bool":
            if value not in ("true", "false"):
                raise ResultLineError(f"{key} must be true or false: {value!r}", line, lineno)
            out[key] = value == "true"
        elif kind == "name":
            if not _NAME.match(value):
                raise ResultLineError(f"{key} is not a plain name: {value!r}", line, lineno)
            out[key] = value
        else:  # pragma: no cover - spec tables are fixed above
            raise AssertionError(kind)
    if i != len(tokens):
        raise ResultLineError(f"expected fields {[k for k, _, _ in spec]}, got {_names(tokens)}", line, lineno)
    return out


def parse_line(line: str, lineno: int | None = None) -> Record | None:
    """The record on this line, None if it carries no result tag; raises ResultLineError if malformed."""
    for tag in TAGS:
        at = line.find(tag)
        if at < 0:
            continue
        body = line[at + len(tag):]
        if body and not body[0].isspace():
            raise ResultLineError(f"no space after {tag}", line, lineno)
        if tag == PROCESS_TAG:
            f = _fields(body, _PROCESS_FIELDS, line, lineno)
            if "total" in f:
                f["total_cycles"] = f.pop("total")
            rec = ProcessScale(**f)  # type: ignore[arg-type]
            if rec.workers == 0 or rec.cpus == 0:
                raise ResultLineError("cpus and workers must be positive", line, lineno)
            if rec.verified and rec.total_cycles is not None and rec.elapsed > rec.total_cycles:
                raise ResultLineError("elapsed (work) exceeds total", line, lineno)
            return rec
        if tag == THREAD_TAG:
            f = _fields(body, _THREAD_FIELDS, line, lineno)
            trec = ThreadScale(**f)  # type: ignore[arg-type]
            if trec.threads == 0 or trec.cpus == 0:
                raise ResultLineError("cpus and threads must be positive", line, lineno)
            if trec.verified and trec.spawn_ready + trec.work + trec.shutdown > trec.total:
                raise ResultLineError("phases spawn_ready + work + shutdown exceed total", line, lineno)
            return trec
        f = _fields(body, _ENV_FIELDS, line, lineno)
        return Env(**f)  # type: ignore[arg-type]
    return None


def parse_text(text: str) -> list[Record]:
    """All records of a serial log, in order. A malformed tagged line raises ResultLineError."""
    out: list[Record] = []
    for n, line in enumerate(text.splitlines(), start=1):
        rec = parse_line(line, n)
        if rec is not None:
            out.append(rec)
    return out


def results(text: str) -> list[ProcessScale | ThreadScale]:
    """Only the measurement records (process and thread scale) of a log."""
    return [r for r in parse_text(text) if not isinstance(r, Env)]
