"""harness/tests/test_guest_stats.py — [kstats]/[linux-stats] lines and window-to-run assignment."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capos import guest_stats as gs  # noqa: E402

PROC = ("[smp-process-scale] cpus=2 workers={w} range=2..16777216 primes=1077871 "
        "checksum=0x829abeafa2f78f12 elapsed={e} verified=true")


class ParseLine(unittest.TestCase):
    def test_kstats_per_cpu_and_all(self) -> None:
        s = gs.parse_stats_line("[kstats] scope=w0 cpu=1 ticks=250 ipi_sent=3 cr3_loads=12")
        self.assertEqual(s, gs.StatsLine("kstats", "w0", 1, {"ticks": 250, "ipi_sent": 3, "cr3_loads": 12}))
        a = gs.parse_stats_line("noise [linux-stats] scope=w0 cpu=all ctxt=99")
        self.assertEqual(a, gs.StatsLine("linux-stats", "w0", None, {"ctxt": 99}))
        self.assertEqual(gs.parse_stats_line("[kstats] scope=x cpu=0").values, {})

    def test_untagged(self) -> None:
        self.assertIsNone(gs.parse_stats_line("[capos] boot ok"))

    def test_malformed(self) -> None:
        for bad, frag in [("[kstats] cpu=0 scope=a t=1", "scope="), ("[kstats] scope=a cpu=x t=1", "cpu must"),
                          ("[kstats] scope=a cpu=0 t=-1", "key=<unsigned>"), ("[kstats] scope=a cpu=0 t", "key="),
                          ("[kstats] scope=a cpu=0 t=1 t=2", "duplicate"), ("[kstats] scope= cpu=0", "empty")]:
            with self.assertRaises(gs.StatsLineError) as cm:
                gs.parse_stats_line(bad, 4)
            self.assertIn(frag, str(cm.exception))
            self.assertIn("line 4", str(cm.exception))


LOG = "\n".join([
    "[smp-env] os=capos cpus=2 tsc_hz=1 cycle_source=rdtsc",
    "[bench-window] begin r0", "[bench-window] end r0",
    "[kstats] scope=r0 cpu=0 ticks=10 idle_ticks=1", "[kstats] scope=r0 cpu=1 ticks=12 idle_ticks=9",
    PROC.format(w=1, e=100),
    "[bench-window] begin r1", "[bench-window] end r1",
    PROC.format(w=2, e=50),
    "[kstats] scope=r1 cpu=0 ticks=5", "[kstats] scope=r1 cpu=1 ticks=6", "[kstats] scope=r1 cpu=all ticks=11",
    PROC.format(w=2, e=51),  # no window before it
])


class LockLines(unittest.TestCase):
    def test_lock_lines_are_counters_of_their_window(self) -> None:
        text = "\n".join(["[bench-window] end r0", "[kstats] scope=r0 cpu=0 ticks=3", "[kstats] scope=r0 cpu=all ticks=3",
                          "[kstats] scope=r0 lock=cap_tree acquisitions=40 contended=2 wait_cycles=900",
                          "[kstats] scope=r0 lock=sched_control.registry acquisitions=5 contended=0 wait_cycles=0",
                          PROC.format(w=1, e=10)])
        lines = gs.parse_stats(text)
        self.assertEqual(lines[2].lock, "cap_tree")
        self.assertIsNone(lines[2].cpu)
        c = gs.counters(lines, "r0")
        self.assertEqual(c["guest.ticks"], 3)  # a lock line is not a CPU: the sum stays the cpu=all line
        self.assertEqual(c["guest.lock.cap_tree.wait_cycles"], 900)
        self.assertEqual(c["guest.lock.sched_control.registry.acquisitions"], 5)
        self.assertEqual(len(gs.scope_groups(lines, "r0")), 1)  # two locks, one window

    def test_bad_lock_name(self) -> None:
        with self.assertRaises(gs.StatsLineError):
            gs.parse_stats_line("[kstats] scope=a lock=bad/name t=1")


class Runs(unittest.TestCase):
    def test_windows_assigned_in_order(self) -> None:
        self.assertEqual(gs.run_windows(LOG), ["r0", "r1", None])

    def test_counters_sum_cpus_or_take_all(self) -> None:
        lines = gs.parse_stats(LOG)
        c0 = gs.counters(lines, "r0")
        self.assertEqual((c0["guest.ticks"], c0["guest.idle_ticks"]), (22, 10))
        self.assertEqual(c0["guest.cpu1.idle_ticks"], 9)
        c1 = gs.counters(lines, "r1")
        self.assertEqual(c1["guest.ticks"], 11)   # the cpu=all line, not 11 + 11
        self.assertEqual(c1["guest.cpu0.ticks"], 5)
        self.assertEqual(gs.counters(lines, "nope"), {})

    def test_reused_label_splits_by_occurrence(self) -> None:
        text = "\n".join(["[bench-window] end w", "[kstats] scope=w cpu=0 t=1", "[kstats] scope=w cpu=1 t=2",
                          PROC.format(w=1, e=10), "[bench-window] end w", "[kstats] scope=w cpu=0 t=5",
                          "[kstats] scope=w cpu=1 t=7", PROC.format(w=2, e=5)])
        labels = gs.run_windows(text)
        self.assertEqual(gs.label_occurrences(labels), [("w", 0), ("w", 1)])
        lines = gs.parse_stats(text)
        self.assertEqual(gs.counters(lines, "w", 0)["guest.t"], 3)
        self.assertEqual(gs.counters(lines, "w", 1)["guest.t"], 12)
        self.assertEqual(gs.counters(lines, "w", 2), {})


if __name__ == "__main__":
    unittest.main()
