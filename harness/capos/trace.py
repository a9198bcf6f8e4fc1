"""trace.py: capOS placement traces -> Perfetto / Chrome trace JSON.

Reads the kernel's "[strace] T <cpu> <tsc> <kind> <sub> <seq> <tid> <a> <b> <c>"
lines (SchedulerControl trace; format in microkernel/sched/sched_events.h) from a
serial log and writes the Trace Event Format JSON that ui.perfetto.dev and
chrome://tracing open: one track per CPU with a slice per running thread
("X" events from switch-ins), and instant events for scheduling events,
placement decisions (with their outcome), placements by the kernel and
server attaches.

    python3 -m capos.trace serial.log -o trace.json [--tsc-hz N]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

EVENT_NAMES = {1: "created", 2: "runnable", 3: "blocked", 4: "exited", 5: "cpu_load",
               6: "deadline_missed", 7: "demoted"}
DECISION_NAMES = {0: "none", 1: "assign", 2: "thread_weight", 3: "process_weight", 4: "slice",
                  5: "default_slice"}
OUTCOMES = {0: "applied", 1: "stale", 2: "invalid"}
PLACED_BY = {0: "default", 1: "standing assignment", 2: "decision (moved)"}

_LINE = re.compile(r"(?:^|\s)T (\d+) (\d+) ([EDPSAK]) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)\s*$")
_HZ = re.compile(r"\[strace\] tsc_hz=(\d+)")


@dataclass(frozen=True)
class Record:
    cpu: int
    tsc: int
    kind: str
    sub: int
    seq: int
    tid: int
    a: int
    b: int
    c: int


def parse(text: str) -> tuple[list[Record], int | None]:
    """Records (sorted by TSC, stable) and the TSC frequency if the log has it."""
    recs: list[Record] = []
    hz: int | None = None
    for line in text.splitlines():
        m = _LINE.search(line)
        if m:
            f = m.groups()
            recs.append(Record(int(f[0]), int(f[1]), f[2], int(f[3]), int(f[4]), int(f[5]), int(f[6]),
                               int(f[7]), int(f[8])))
            continue
        h = _HZ.search(line)
        if h:
            hz = int(h.group(1))
    recs.sort(key=lambda r: r.tsc)
    return recs, hz


def to_chrome(recs: list[Record], tsc_hz: int) -> dict:
    """Trace Event Format: pid 0 = the machine, tid = CPU (one timeline per CPU)."""
    per_us = tsc_hz / 1e6
    t0 = recs[0].tsc if recs else 0

    def ts(tsc: int) -> float:
        return round((tsc - t0) / per_us, 3)

    events: list[dict] = []
    cpus = sorted({r.cpu for r in recs} | {r.c for r in recs if r.kind == "S"})
    for c in cpus:
        events.append({"ph": "M", "name": "thread_name", "pid": 0, "tid": c, "args": {"name": f"CPU {c}"}})
    events.append({"ph": "M", "name": "process_name", "pid": 0, "args": {"name": "capOS placement"}})
    running: dict[int, Record] = {}
    for r in recs:
        if r.kind == "S":
            prev = running.get(r.cpu)
            if prev is not None and prev.tid != 0:
                events.append({"ph": "X", "pid": 0, "tid": r.cpu, "ts": ts(prev.tsc), "dur": ts(r.tsc) - ts(prev.tsc),
                               "name": f"thread {prev.tid}", "cat": "run",
                               "args": {"thread": prev.tid, "process": prev.a}})
            running[r.cpu] = r
        elif r.kind == "E":
            name = EVENT_NAMES.get(r.sub, f"event{r.sub}")
            args = {"seq": r.seq, "thread": r.tid, "cpu": r.c}
            if r.sub == 5:
                args.update(runnable=r.a)
            elif r.sub == 6:
                args.update(failed_seq=r.a)
            else:
                args.update(process=r.a, weight=r.b)
            events.append({"ph": "i", "s": "t", "pid": 0, "tid": r.c if r.sub == 5 else r.cpu, "ts": ts(r.tsc),
                           "name": name, "cat": "event", "args": args})
        elif r.kind == "D":
            events.append({"ph": "i", "s": "t", "pid": 0, "tid": r.cpu, "ts": ts(r.tsc),
                           "name": f"{DECISION_NAMES.get(r.sub, 'decision')} ({OUTCOMES.get(r.b, '?')})",
                           "cat": "decision",
                           "args": {"answers_seq": r.seq, "thread": r.tid, "cpu": r.c, "value": r.a}})
        elif r.kind == "P":
            events.append({"ph": "i", "s": "t", "pid": 0, "tid": r.a, "ts": ts(r.tsc),
                           "name": f"placed by {PLACED_BY.get(r.sub, '?')}", "cat": "placement",
                           "args": {"seq": r.seq, "thread": r.tid, "cpu": r.a}})
        elif r.kind == "A":
            events.append({"ph": "i", "s": "g", "pid": 0, "tid": r.cpu, "ts": ts(r.tsc),
                           "name": f"server attached (epoch {r.a})", "cat": "server",
                           "args": {"first_seq": r.seq, "process": r.b}})
        elif r.kind == "K":
            events.append({"ph": "i", "s": "t", "pid": 0, "tid": r.cpu, "ts": ts(r.tsc),
                           "name": f"thread {r.tid} cpu ticks", "cat": "accounting",
                           "args": {"thread": r.tid, "ticks": r.a, "process": r.b}})
    if recs:
        end = recs[-1].tsc
        for cpu, r in running.items():
            if r.tid != 0:
                events.append({"ph": "X", "pid": 0, "tid": cpu, "ts": ts(r.tsc), "dur": ts(end) - ts(r.tsc),
                               "name": f"thread {r.tid}", "cat": "run", "args": {"thread": r.tid, "process": r.a}})
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"source": "capOS SchedulerControl trace", "tsc_hz": tsc_hz}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", type=Path, help="serial log with [strace] lines")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--tsc-hz", type=int, default=None, help="TSC frequency (default: from the log)")
    args = ap.parse_args(argv)
    recs, hz = parse(args.log.read_text(errors="replace"))
    if not recs:
        print("trace: no [strace] records in the log", file=sys.stderr)
        return 1
    tsc_hz = args.tsc_hz or hz or 1_000_000_000
    args.output.write_text(json.dumps(to_chrome(recs, tsc_hz)))
    cpus = len({r.cpu for r in recs})
    print(f"trace: {len(recs)} records, {cpus} cpus -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
