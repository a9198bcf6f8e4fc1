"""guest_stats.py: guest-side counter lines and which timed run each belongs to.

The guests print their own counters for a timed window, one line per CPU
and optionally one for all CPUs:

    [kstats] scope=<label> cpu=<n|all> key=value key=value ...        (capOS kernel)
    [linux-stats] scope=<label> cpu=<n|all> key=value key=value ...   (Linux baseline /init)

and bracket every timed run with `[bench-window] begin <label>` /
`[bench-window] end <label>`. The keys differ between the OSes and may grow,
so they are parsed generically: `scope` and `cpu` first, then any number of
`key=<unsigned decimal>` fields. A tagged line that does not follow that
shape raises StatsLineError naming the line.

run_windows() assigns each result line of a log the label of the window
that ended last before it (each window at most once), and counters() sums a
label's per-CPU lines (or takes its cpu=all line), so bench.py can put
every run's counters beside its timing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import resultline

TAGS = {"[kstats]": "kstats", "[linux-stats]": "linux-stats"}
_WINDOW = re.compile(r"\[bench-window\] (begin|end) (\S+)\s*$")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_UINT = re.compile(r"[0-9]+\Z")


class StatsLineError(ValueError):
    def __init__(self, message: str, line: str, lineno: int | None = None) -> None:
        where = f"line {lineno}: " if lineno is not None else ""
        super().__init__(f"{where}{message}: {line.strip()!r}")
        self.lineno = lineno


@dataclass(frozen=True)
class StatsLine:
    source: str                 # "kstats" | "linux-stats"
    scope: str
    cpu: int | None             # None: the cpu=all line (or a lock line)
    values: dict[str, int] = field(default_factory=dict)
    lock: str | None = None     # `lock=<name>` lines (capOS shared-lock statistics) instead of cpu=

    @property
    def key(self) -> tuple[int | None, str | None]:
        """What a window has once: one line per CPU, one cpu=all, one per lock."""
        return (self.cpu, self.lock)


def parse_stats_line(line: str, lineno: int | None = None) -> StatsLine | None:
    """The counters on this line, None if it has no stats tag; raises StatsLineError if malformed."""
    for tag, source in TAGS.items():
        at = line.find(tag)
        if at < 0:
            continue
        tokens = line[at + len(tag):].split()
        if len(tokens) < 2 or not tokens[0].startswith("scope=") or \
                not tokens[1].startswith(("cpu=", "lock=")):
            raise StatsLineError("expected scope=<label> cpu=<n|all> (or lock=<name>) first", line, lineno)
        scope = tokens[0][len("scope="):]
        if not scope:
            raise StatsLineError("empty scope", line, lineno)
        lock: str | None = None
        cpu_s = "all"
        if tokens[1].startswith("lock="):
            lock = tokens[1][len("lock="):]
            if not _KEY.match(lock.replace(".", "_")):
                raise StatsLineError(f"lock must be a plain name: {lock!r}", line, lineno)
        else:
            cpu_s = tokens[1][len("cpu="):]
        if cpu_s != "all" and not _UINT.match(cpu_s):
            raise StatsLineError(f"cpu must be a number or 'all': {cpu_s!r}", line, lineno)
        values: dict[str, int] = {}
        for tok in tokens[2:]:
            key, sep, val = tok.partition("=")
            if not sep or not _KEY.match(key) or not _UINT.match(val):
                raise StatsLineError(f"expected key=<unsigned>, got {tok!r}", line, lineno)
            if key in values:
                raise StatsLineError(f"duplicate key {key!r}", line, lineno)
            values[key] = int(val)
        return StatsLine(source, scope, None if cpu_s == "all" else int(cpu_s), values, lock)
    return None


def parse_stats(text: str) -> list[StatsLine]:
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        s = parse_stats_line(line, n)
        if s is not None:
            out.append(s)
    return out


def scope_groups(lines: list[StatsLine], scope: str) -> list[list[StatsLine]]:
    """The lines of one scope split into windows: a CPU (or 'all') seen again starts a new one,
    for guests that reuse one label for every run."""
    groups: list[list[StatsLine]] = []
    seen: set[tuple[int | None, str | None]] = set()
    for s in lines:
        if s.scope != scope:
            continue
        if not groups or s.key in seen:
            groups.append([])
            seen = set()
        groups[-1].append(s)
        seen.add(s.key)
    return groups


def counters(lines: list[StatsLine], scope: str, occurrence: int = 0, prefix: str = "guest.") -> dict[str, int]:
    """The counters of the occurrence-th window labelled scope: `<prefix><key>` over all CPUs (the
    cpu=all line if there is one, else the sum of the per-CPU lines) and `<prefix>cpu<n>.<key>`
    per CPU, and `<prefix>lock.<name>.<key>` per lock line. Empty when there is no such window."""
    out: dict[str, int] = {}
    groups = scope_groups(lines, scope)
    if occurrence >= len(groups):
        return out
    mine = [s for s in groups[occurrence] if s.lock is None]
    for s in groups[occurrence]:
        if s.lock is not None:
            for k, v in s.values.items():
                out[f"{prefix}lock.{s.lock}.{k}"] = v
    alls = [s for s in mine if s.cpu is None]
    for s in mine:
        if s.cpu is not None:
            for k, v in s.values.items():
                out[f"{prefix}cpu{s.cpu}.{k}"] = out.get(f"{prefix}cpu{s.cpu}.{k}", 0) + v
                if not alls:
                    out[f"{prefix}{k}"] = out.get(f"{prefix}{k}", 0) + v
    for s in alls:
        for k, v in s.values.items():
            out[f"{prefix}{k}"] = out.get(f"{prefix}{k}", 0) + v
    return out


def run_windows(text: str) -> list[str | None]:
    """For each result line (process or thread scale) of the log, in order, the label of the
    window that ended last before it and was not yet given to an earlier run; None without one."""
    out: list[str | None] = []
    pending: list[str] = []
    for line in text.splitlines():
        m = _WINDOW.search(line)
        if m is not None:
            if m.group(1) == "end":
                pending.append(m.group(2))
            continue
        rec = resultline.parse_line(line)
        if rec is None or isinstance(rec, resultline.Env):
            continue
        out.append(pending[-1] if pending else None)
        pending.clear()
    return out


def label_occurrences(labels: list[str | None]) -> list[tuple[str, int] | None]:
    """(label, n) with n the count of earlier runs with the same label: to match the n-th host
    window of that label when a guest reuses one label for every run."""
    seen: dict[str, int] = {}
    out: list[tuple[str, int] | None] = []
    for lab in labels:
        if lab is None:
            out.append(None)
            continue
        out.append((lab, seen.get(lab, 0)))
        seen[lab] = seen.get(lab, 0) + 1
    return out
