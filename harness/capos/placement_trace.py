"""placement_trace.py: one placement trace per benchmark boot (`--trace`), saved, replayed and checked.

With `--trace`, harness/bench.py and harness/policy_bench.py boot every policy
spec with the server argument trace=1 (kernel option placement=...,trace=1).
The server then starts a fresh kernel trace just before it attaches, and the
coordinator asks it for the dump after its last timed window
(Placement.traceDump; benchmarks/capos/bench_client.cpp), before its final
line, so the dump is in the serial log when the harness stops the boot.

Per boot this module takes the log's last trace dump that holds records,
writes it to <out>/traces/<tag>.strace.log and runs
`placement-tool check <file> --policy <spec> --ncpus <n> --cpus <n>`: the
conformance checks at the tool's defaults and a decision-by-decision replay
under the same spec. The replay must be IDENTICAL (a policy is deterministic);
the conformance verdict is reported, not gated: with more vCPUs than host
cores the trace's times include host descheduling (docs/placement.md).
`kernel` boots have no server and so no trace."""
from __future__ import annotations

import csv
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

TRACE_ARG = "trace=1"
_END = re.compile(r"^\[strace\] tsc_hz=\d+", re.M)
_COUNT = re.compile(r"^\[strace\] cpu \d+ records=(\d+) lost=(\d+)$", re.M)
_RECORD = re.compile(r"^\[strace\] T \d+ ", re.M)
FIELDS = ("tag", "policy", "file", "records", "lost", "replay", "conformance", "detail")


def cmdline_with_trace(cmdline: str) -> str:
    """`cmdline` with trace=1 added to its placement= option (or a placement=trace=1 option)."""
    words = cmdline.split()
    for i, w in enumerate(words):
        if w.startswith("placement="):
            words[i] = w + ("," if w != "placement=" else "") + TRACE_ARG
            return " ".join(words)
    return " ".join(words + [f"placement={TRACE_ARG}"])


def last_dump(text: str) -> str | None:
    """The `[strace]` lines of the log's last complete dump that holds a record, or None."""
    start = 0
    best = None
    for m in _END.finditer(text):
        chunk = text[start:m.end()]
        start = m.end()
        lines = [ln for ln in chunk.splitlines() if ln.startswith("[strace] ")]
        if any(_RECORD.match(ln) for ln in lines):
            best = "\n".join(lines) + "\n"
    return best


def served_cpus(text: str, policy_name: str) -> int | None:
    """The CPU count the server's policy places on (its serving line), or None."""
    m = re.search(rf"^\[placement\] {re.escape(policy_name)} v\d+ serving epoch \d+ on (\d+) cpus", text, re.M)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class TraceResult:
    file: Path | None
    records: int = 0
    lost: int = 0
    replay: str = "-"        # IDENTICAL, DIFFERENT or - (not run)
    conformance: str = "-"   # PASS, FAIL or -
    detail: str = ""         # why there is none, or the first violation

    def describe(self) -> str:
        if self.file is None:
            return f"no trace ({self.detail})"
        s = (f"{self.records} records, {self.lost} lost; replay {self.replay}; conformance {self.conformance} "
             f"-> {self.file}")
        return s + (f" ({self.detail})" if self.detail else "")


def check(dump: str, path: Path, spec: str, ncpus: int, tool: Path) -> TraceResult:
    """Writes `dump` to `path` and checks it with placement-tool (see the module doc)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump)
    counts = [(int(r), int(lost)) for r, lost in _COUNT.findall(dump)]
    records, lost = sum(r for r, _ in counts), sum(x for _, x in counts)
    if not tool.is_file():
        return TraceResult(path, records, lost, detail=f"no {tool}: not checked")
    p = subprocess.run([str(tool), "check", str(path), "--policy", spec, "--ncpus", str(ncpus), "--cpus", str(ncpus)],
                       capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    rm = re.search(r"-> (IDENTICAL|DIFFERENT|\w+)\s*$", out, re.M)
    cm = re.search(r"^conformance: (PASS|FAIL)", out, re.M)
    viol = re.search(r"^VIOLATION (.*)$", out, re.M)
    detail = viol.group(1) if viol else ""
    if lost:
        detail = (f"{lost} records lost (the kernel's per-CPU buffer filled): replay and checks see part of the run"
                  + (f"; {detail}" if detail else ""))
    if rm is None and cm is None:
        detail = f"placement-tool said: {out.strip().splitlines()[-1] if out.strip() else f'exit {p.returncode}'}"
    return TraceResult(path, records, lost, rm.group(1) if rm else "-", cm.group(1) if cm else "-", detail)


def save_and_check(text: str, out_dir: Path, tag: str, spec: str, tool: Path) -> TraceResult:
    """The boot's trace (policy spec `spec`, log `text`) saved under out_dir/traces and checked."""
    name = spec.partition(":")[0]
    if name == "kernel":
        return TraceResult(None, detail="the kernel's built-in placement: no server to dump a trace")
    served = re.search(rf"^\[bench\] placement trace: (.*)$", text, re.M)
    dump = last_dump(text)
    if dump is None:
        why = served.group(1) if served else "no '[bench] placement trace' line"
        return TraceResult(None, detail=f"no trace dump in the log ({why})")
    ncpus = served_cpus(text, name)
    if ncpus is None:
        return TraceResult(None, detail=f"no '[placement] {name} v.. serving' line: CPU count unknown")
    return check(dump, out_dir / "traces" / f"{tag}.strace.log", spec, ncpus, tool)


def write_csv(results: Sequence[tuple[str, str, TraceResult]], path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for tag, spec, r in results:
            w.writerow([tag, spec, "" if r.file is None else r.file.name, r.records, r.lost, r.replay, r.conformance,
                        r.detail])
    return path


def markdown(results: Sequence[tuple[str, str, TraceResult]]) -> str:
    """The summary's trace table: one row per traced boot."""
    if not results:
        return ""
    lines = ["", "Placement traces (`--trace`: one per boot, in traces/; `placement-tool check --policy SPEC`: "
             "replay must be IDENTICAL; conformance at the checker's defaults, reported, not gated):", "",
             "| boot | policy | records | lost | replay | conformance | note |", "|---|---|---:|---:|---|---|---|"]
    for tag, spec, r in results:
        lines.append(f"| {tag} | {spec} | {r.records} | {r.lost} | {r.replay} | {r.conformance} | "
                     f"{(r.detail or '').replace('|', '/')} |")
    return "\n".join(lines) + "\n"
