"""Tests of bench_micro.py: [micro] line parsing, TSC conversion, medians and capOS/Linux ratios."""
from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_micro  # noqa: E402

CAPOS_LOG = """\
[capos] tsc: 2596149 kHz (source pit; pit 2596149 kHz, cpuid15 0 kHz, cpuid16 0 kHz)
[micro] os=capos env cpus=2
[micro] os=capos name=ring_nop_single median_cycles=5564 median_ns=2190 samples=2000 cpus=0,-1
[micro] os=capos name=endpoint_rtt_cross_cpu median_cycles=293462 median_ns=115536 samples=1000 cpus=0,1
[utest] bench 1 passed, 0 failed
"""

LINUX_LOG = """\
[smp-env] os=linux cpus=2 tsc_hz=2594415582 cycle_source=rdtsc
[micro] os=linux env cpus=2 tsc_khz=2596152
noise[micro] os=linux name=futex_rtt_cross_cpu median_cycles=98566 median_ns=37966 samples=2000 cpus=0,1
[micro] os=linux name=syscall_getppid median_cycles=1352 median_ns=520 samples=10000 cpus=0,-1
[micro] os=linux done status=ok
"""


class Parse(unittest.TestCase):
    def test_capos_lines_and_cpus(self) -> None:
        c = bench_micro.parse_cases(CAPOS_LOG)
        self.assertEqual(set(c), {"ring_nop_single", "endpoint_rtt_cross_cpu"})
        e = c["endpoint_rtt_cross_cpu"]
        self.assertEqual((e.os, e.cycles, e.ns_guest, e.samples, e.cpu_a, e.cpu_b),
                         ("capos", 293462, 115536, 1000, 0, 1))
        self.assertEqual(c["ring_nop_single"].cpu_b, -1)

    def test_env_and_done_lines_are_not_cases(self) -> None:
        c = bench_micro.parse_cases(LINUX_LOG)
        self.assertEqual(set(c), {"futex_rtt_cross_cpu", "syscall_getppid"})

    def test_line_without_cpus(self) -> None:
        c = bench_micro.parse_cases("[micro] os=capos name=x median_cycles=10 median_ns=4 samples=3\n")
        self.assertIsNone(c["x"].cpu_a)
        self.assertEqual(c["x"].cycles, 10)

    def test_tsc_from_each_os(self) -> None:
        self.assertEqual(bench_micro.parse_tsc_khz(CAPOS_LOG, "capos"), 2596149)
        self.assertEqual(bench_micro.parse_tsc_khz(LINUX_LOG, "linux"), 2596152)
        self.assertIsNone(bench_micro.parse_tsc_khz(LINUX_LOG, "capos"))
        self.assertIsNone(bench_micro.parse_tsc_khz("[capos] tsc: 0 kHz", "capos"))

    def test_missing_cases_depend_on_smp(self) -> None:
        c = bench_micro.parse_cases(CAPOS_LOG)
        miss2 = bench_micro.missing_cases("capos", c, 2)
        self.assertIn("endpoint_rtt_same_cpu", miss2)
        self.assertIn("map_touch_unmap_1page", miss2)
        self.assertNotIn("endpoint_rtt_cross_cpu", miss2)
        miss1 = bench_micro.missing_cases("capos", c, 1)
        self.assertNotIn("map_touch_unmap_1page", miss1)
        self.assertIn("thread_create_join", miss1)


class Numbers(unittest.TestCase):
    def test_cycles_to_ns(self) -> None:
        self.assertAlmostEqual(bench_micro.cycles_to_ns(2_600_000, 2_600_000), 1_000_000.0)
        self.assertAlmostEqual(bench_micro.cycles_to_ns(5564, 2596149), 2143.18, places=1)

    def test_median(self) -> None:
        self.assertEqual(bench_micro.median([3, 1, 2]), 2)
        self.assertEqual(bench_micro.median([4, 1, 3, 2]), 2.5)
        with self.assertRaises(ValueError):
            bench_micro.median([])

    def _runs(self) -> list[tuple[str, dict[str, bench_micro.Case], int]]:
        def case(os_name: str, name: str, cyc: int) -> dict[str, bench_micro.Case]:
            return {name: bench_micro.Case(os_name, name, cyc, 0, 1, 0, 1)}
        # capOS at 1 GHz (1 cycle = 1 ns), Linux at 2 GHz (2 cycles = 1 ns).
        return [("capos", case("capos", "endpoint_rtt_cross_cpu", 10_000), 1_000_000),
                ("capos", case("capos", "endpoint_rtt_cross_cpu", 30_000), 1_000_000),
                ("capos", case("capos", "endpoint_rtt_cross_cpu", 20_000), 1_000_000),
                ("linux", case("linux", "futex_rtt_cross_cpu", 120_000), 2_000_000),
                ("linux", case("linux", "pipe_rtt_cross_cpu", 40_000), 2_000_000)]

    def test_ratio_uses_ns_of_each_boot_and_median_over_runs(self) -> None:
        res = {(r.row.capos, r.row.linux): r for r in bench_micro.summarize(self._runs())}
        futex = res[("endpoint_rtt_cross_cpu", "futex_rtt_cross_cpu")]
        self.assertAlmostEqual(futex.capos_ns, 20_000.0)   # median of 10k, 30k, 20k
        self.assertAlmostEqual(futex.linux_ns, 60_000.0)   # 120k cycles at 2 GHz
        self.assertAlmostEqual(futex.ratio, 1 / 3)
        self.assertFalse(futex.met)                        # goal is strictly below 1/3
        pipe = res[("endpoint_rtt_cross_cpu", "pipe_rtt_cross_cpu")]
        self.assertAlmostEqual(pipe.ratio, 1.0)
        self.assertFalse(pipe.met)

    def test_missing_side_gives_no_ratio(self) -> None:
        res = bench_micro.summarize(self._runs())
        nop = next(r for r in res if r.row.capos == "ring_nop_single")
        self.assertIsNone(nop.ratio)
        self.assertIsNone(nop.met)
        self.assertIn("| - | - | - |", bench_micro.table_md([nop]))

    def test_goal_met_when_faster(self) -> None:
        row = bench_micro.ROWS[2]
        self.assertAlmostEqual(row.goal, 1 / 3)
        r = bench_micro.RowResult(row, 100.0, 400.0, 100.0, 400.0)
        self.assertAlmostEqual(r.ratio, 0.25)
        self.assertTrue(r.met)
        self.assertIn("| 0.25 |", bench_micro.table_md([r]))

    def test_fmt(self) -> None:
        self.assertEqual(bench_micro.fmt_ns(None), "-")
        self.assertEqual(bench_micro.fmt_ns(520.4), "520 ns")
        self.assertEqual(bench_micro.fmt_ns(29091.0), "29.09 us")


if __name__ == "__main__":
    unittest.main()
