"""harness/tests/test_stats.py — medians, speedups, capOS/Linux ratios and the 1->2 gate."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capos import stats  # noqa: E402
from capos.stats import Sample  # noqa: E402


def s(os: str, wl: str, cpus: int, work: int, total: int | None = None, run: int = 1, accel: str = "tcg-mt",
      verified: bool = True, policy: str = "") -> Sample:
    return Sample(os=os, workload=wl, cpus=cpus, parallelism=cpus, accel=accel, run=run, work=work,
                  total=work if total is None else total, verified=verified, policy=policy)


class Median(unittest.TestCase):
    def test_odd_even(self) -> None:
        self.assertEqual(stats.median([3, 1, 2]), 2)
        self.assertEqual(stats.median([4, 1, 3, 2]), 2.5)
        self.assertEqual(stats.median([7]), 7)

    def test_empty(self) -> None:
        with self.assertRaises(ValueError):
            stats.median([])

    def test_outlier_does_not_move_median(self) -> None:
        self.assertEqual(stats.median([100, 101, 10_000]), 101)


class Speedup(unittest.TestCase):
    def test_speedup(self) -> None:
        self.assertAlmostEqual(stats.speedup(200, 100), 2.0)
        self.assertAlmostEqual(stats.speedup(100, 200), 0.5)
        with self.assertRaises(ValueError):
            stats.speedup(100, 0)


class Summarize(unittest.TestCase):
    def samples(self) -> list[Sample]:
        out = []
        for k, jitter in enumerate([0, 5, -5], start=1):
            out += [s("linux", "process", 1, 1000 + jitter, run=k), s("linux", "process", 2, 520 + jitter, run=k),
                    s("linux", "process", 4, 400 + jitter, run=k),
                    s("capos", "process", 1, 1100 + jitter, run=k, policy="fair"),
                    s("capos", "process", 2, 600 + jitter, run=k, policy="fair"),
                    s("linux", "thread", 1, 800, 900, run=k), s("linux", "thread", 2, 410, 470, run=k)]
        out.append(s("linux", "process", 2, 1, run=9, verified=False))  # must be ignored
        return out

    def test_medians_and_speedups(self) -> None:
        cases = stats.summarize(self.samples())
        lp2 = stats.find(cases, "linux", "process", 2)
        assert lp2 is not None
        self.assertEqual(lp2.runs, 3)
        self.assertEqual(lp2.median_work, 520)
        self.assertAlmostEqual(lp2.speedup_work or 0, 1000 / 520)
        lt2 = stats.find(cases, "linux", "thread", 2)
        assert lt2 is not None
        self.assertAlmostEqual(lt2.speedup_total or 0, 900 / 470)
        lp4 = stats.find(cases, "linux", "process", 4)
        assert lp4 is not None
        self.assertAlmostEqual(lp4.speedup_work or 0, 2.5)

    def test_capos_linux_ratio(self) -> None:
        cases = stats.summarize(self.samples())
        c2 = stats.find(cases, "capos", "process", 2, policy="fair")
        assert c2 is not None
        self.assertAlmostEqual(c2.speedup_work or 0, 1100 / 600)
        self.assertAlmostEqual(c2.ratio_speedup_work or 0, (1100 / 600) / (1000 / 520))
        self.assertAlmostEqual(c2.ratio_work_time or 0, 600 / 520)
        self.assertIsNone(stats.find(cases, "linux", "process", 2).ratio_speedup_work)  # type: ignore[union-attr]

    def test_no_speedup_without_one_cpu_baseline(self) -> None:
        cases = stats.summarize([s("linux", "thread", 2, 100)])
        self.assertIsNone(cases[0].speedup_work)

    def test_accelerators_not_mixed(self) -> None:
        cases = stats.summarize([s("linux", "process", 1, 1000, accel="kvm"), s("linux", "process", 2, 500)])
        two = stats.find(cases, "linux", "process", 2)
        assert two is not None
        self.assertIsNone(two.speedup_work)  # its only 1-CPU baseline ran under another accelerator


class Gate(unittest.TestCase):
    def run_gate(self, capos_1: int, capos_2: int, accel: str = "tcg-mt") -> list[stats.GateResult]:
        ss = []
        for wl in ("process", "thread"):
            ss += [s("linux", wl, 1, 1000, accel=accel), s("linux", wl, 2, 510, accel=accel),
                   s("capos", wl, 1, capos_1, accel=accel), s("capos", wl, 2, capos_2, accel=accel)]
        return stats.gate_1_to_2(stats.summarize(ss))

    def test_pass_at_98_percent(self) -> None:
        res = self.run_gate(1000, 520)  # 1.923 vs 0.98 * 1.961 = 1.922
        self.assertTrue(stats.gate_passed(res), [r.reason for r in res])

    def test_fail_below(self) -> None:
        res = self.run_gate(1000, 540)
        self.assertFalse(stats.gate_passed(res))
        self.assertIn("required", res[0].reason)

    def test_kvm_floor(self) -> None:
        res = self.run_gate(1000, 520, accel="kvm")  # 1.923 < 1.95
        self.assertFalse(stats.gate_passed(res))
        res = self.run_gate(1000, 505, accel="kvm")
        self.assertTrue(stats.gate_passed(res))

    def test_missing_linux_or_workload_fails(self) -> None:
        res = stats.gate_1_to_2(stats.summarize([s("capos", "process", 1, 100), s("capos", "process", 2, 50)]))
        self.assertFalse(stats.gate_passed(res))
        self.assertIn("no Linux", res[0].reason)
        self.assertFalse(stats.gate_passed([]))


if __name__ == "__main__":
    unittest.main()
