"""harness/tests/test_stats.py — medians, speedups, capOS/Linux ratios and the 1->2 gate."""
import random
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


def noisy(center: float, n: int, rel: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [center * (1 + rng.uniform(-rel, rel)) for _ in range(n)]


class Bootstrap(unittest.TestCase):
    def test_known_ratio_small_noise_is_contained_and_narrow(self) -> None:
        num, den = noisy(2000.0, 10, 0.005, 1), noisy(1000.0, 10, 0.005, 2)
        iv = stats.mean_ratio_interval(num, den)
        assert iv.lo is not None and iv.hi is not None
        self.assertLessEqual(iv.lo, 2.0)
        self.assertGreaterEqual(iv.hi, 2.0)
        self.assertLess(iv.hi - iv.lo, 0.02)
        self.assertFalse(iv.degenerate)
        self.assertEqual(iv.n, (10, 10))

    def test_one_sample_is_degenerate_and_flagged(self) -> None:
        iv = stats.mean_ratio_interval([2000.0], [1000.0, 1001.0])
        self.assertTrue(iv.degenerate)
        self.assertAlmostEqual(iv.point or 0, 2000 / 1000.5)
        self.assertIn("one run", iv.note)
        self.assertIn("no interval", iv.fmt())
        self.assertEqual(stats.decide(iv, 0.5), stats.INCONCLUSIVE)  # never a bare point estimate
        self.assertTrue(stats.mean_interval([]).degenerate)

    def test_reproducible_with_fixed_seed(self) -> None:
        a, b = noisy(5.0, 5, 0.1, 3), noisy(2.0, 5, 0.1, 4)
        self.assertEqual(stats.mean_ratio_interval(a, b), stats.mean_ratio_interval(a, b))
        self.assertNotEqual(stats.mean_ratio_interval(a, b, seed=1), stats.mean_ratio_interval(a, b, seed=2))

    def test_spread_widens_the_interval(self) -> None:
        tight = stats.mean_interval(noisy(1.9, 5, 0.005, 5))
        wide = stats.mean_interval(noisy(1.9, 5, 0.05, 5))
        self.assertLess((tight.hi or 0) - (tight.lo or 0), (wide.hi or 0) - (wide.lo or 0))

    def test_student_t_quantiles(self) -> None:
        self.assertAlmostEqual(stats.student_t_quantile(0.975, 1), 12.706, places=2)
        self.assertAlmostEqual(stats.student_t_quantile(0.975, 2), 4.303, places=2)
        self.assertAlmostEqual(stats.student_t_quantile(0.975, 3), 3.182, places=2)
        self.assertAlmostEqual(stats.student_t_quantile(0.975, 10), 2.228, places=2)
        self.assertAlmostEqual(stats.student_t_quantile(0.995, 1), 63.657, places=2)
        self.assertAlmostEqual(stats.student_t_quantile(0.995, 2), 9.925, places=2)
        self.assertAlmostEqual(stats.student_t_quantile(0.995, 4), 4.604, places=2)

    def test_expansion(self) -> None:
        self.assertLess(stats.expanded_alpha(0.05, 2), 1e-6)        # n = 2: the whole resample range
        self.assertLess(stats.expanded_alpha(0.05, 4), 0.01)
        self.assertAlmostEqual(stats.expanded_alpha(0.05, 2000), 0.05, delta=0.001)
        data = noisy(1.0, 4, 0.1, 6)
        plain = stats.mean_interval(data, expand=False)
        wide = stats.mean_interval(data)
        self.assertLessEqual(wide.lo or 0, plain.lo or 0)
        self.assertGreaterEqual(wide.hi or 0, plain.hi or 0)

    def test_expanded_interval_keeps_coverage_with_four_runs(self) -> None:
        # 150 synthetic experiments, 4 boots per OS, true ratio 1.0: the
        # expanded interval covers close to 95 %, the plain percentile one less.
        rng = random.Random(7)
        cover_exp = cover_plain = 0
        trials = 150
        for t in range(trials):
            a = [rng.gauss(1.9, 0.03) for _ in range(4)]
            b = [rng.gauss(1.9, 0.03) for _ in range(4)]
            e = stats.mean_ratio_interval(a, b, resamples=1000, seed=t)
            p = stats.mean_ratio_interval(a, b, resamples=1000, seed=t, expand=False)
            cover_exp += (e.lo or 9) <= 1.0 <= (e.hi or -9)
            cover_plain += (p.lo or 9) <= 1.0 <= (p.hi or -9)
        self.assertGreaterEqual(cover_exp / trials, 0.90)
        self.assertLess(cover_plain, cover_exp)

    def test_decide_and_combine(self) -> None:
        iv = stats.Interval
        self.assertEqual(stats.decide(iv(1.0, 0.985, 1.02), 0.98), stats.PASS)
        self.assertEqual(stats.decide(iv(0.95, 0.94, 0.979), 0.98), stats.FAIL)
        self.assertEqual(stats.decide(iv(0.99, 0.97, 1.01), 0.98), stats.INCONCLUSIVE)
        self.assertEqual(stats.combine(stats.PASS, stats.INCONCLUSIVE), stats.INCONCLUSIVE)
        self.assertEqual(stats.combine(stats.INCONCLUSIVE, stats.FAIL), stats.FAIL)
        self.assertEqual(stats.combine(stats.PASS, stats.PASS), stats.PASS)


class PerCountIntervals(unittest.TestCase):
    def test_case_intervals(self) -> None:
        ss = []
        for k, j in enumerate([0, 4, -4, 2, -2], start=1):
            ss += [s("linux", "process", 1, 1000 + j, run=k), s("linux", "process", 2, 510 + j, run=k),
                   s("capos", "process", 1, 1000 + j, run=k), s("capos", "process", 2, 505 - j, run=k)]
        cases = stats.summarize(ss, resamples=2000)
        c2 = stats.find(cases, "capos", "process", 2)
        assert c2 is not None and c2.speedup_ci is not None and c2.ratio_ci is not None and c2.work_ci is not None
        self.assertLessEqual(c2.speedup_ci.lo or 0, c2.speedup_work or 0)
        self.assertGreaterEqual(c2.speedup_ci.hi or 0, c2.speedup_work or 0)
        self.assertEqual(c2.ratio_ci.n, (5, 5, 5, 5))
        self.assertAlmostEqual(c2.ratio_ci.point or 0, c2.ratio_speedup_work or 0)
        self.assertLessEqual(c2.work_ci.lo or 0, 505)
        c1 = stats.find(cases, "capos", "process", 1)
        assert c1 is not None and c1.speedup_ci is not None and c1.ratio_ci is not None
        self.assertEqual((c1.speedup_ci.lo, c1.speedup_ci.hi), (1.0, 1.0))   # the base, by definition
        self.assertEqual((c1.ratio_ci.lo, c1.ratio_ci.hi), (1.0, 1.0))

    def test_paired_samples_are_not_per_count_cases(self) -> None:
        ss = [s("linux", "process", 1, 1000), s("linux", "process", 2, 500)]
        ss.append(Sample(os="linux", workload="process", cpus=2, parallelism=1, accel="tcg-mt", run=1, work=7,
                         total=None, verified=True, design=stats.PAIRED, boot="b"))
        cases = stats.summarize(ss)
        lp2 = stats.find(cases, "linux", "process", 2)
        assert lp2 is not None
        self.assertEqual(lp2.runs, 1)

    def test_missing_total_is_none_not_work(self) -> None:
        ss = [Sample(os="linux", workload="process", cpus=c, parallelism=c, accel="tcg-mt", run=1, work=w,
                     total=None, verified=True) for c, w in ((1, 1000), (2, 500))]
        cases = stats.summarize(ss)
        self.assertIsNone(cases[1].median_total)
        self.assertIsNone(cases[1].speedup_total)
        self.assertAlmostEqual(cases[1].speedup_work or 0, 2.0)


class Gate(unittest.TestCase):
    def run_gate(self, capos_2: list[int], accel: str = "tcg-mt", linux_2: list[int] | None = None
                 ) -> list[stats.GateResult]:
        ss = []
        linux_2 = linux_2 or [510, 511, 509]
        for wl in ("process", "thread"):
            for k in range(3):
                ss += [s("linux", wl, 1, 1000 + k, accel=accel, run=k), s("linux", wl, 2, linux_2[k], accel=accel, run=k),
                       s("capos", wl, 1, 1000 + k, accel=accel, run=k),
                       s("capos", wl, 2, capos_2[k], accel=accel, run=k)]
        return stats.gate_1_to_2(stats.summarize(ss, resamples=2000))

    def test_per_count_three_verdicts(self) -> None:
        self.assertEqual(self.run_gate([505, 506, 504])[0].verdict, stats.PASS)
        res = self.run_gate([560, 561, 559])
        self.assertEqual(res[0].verdict, stats.FAIL)
        self.assertFalse(stats.gate_passed(res))
        res = self.run_gate([500, 540, 520], linux_2=[490, 530, 510])
        self.assertEqual(res[0].verdict, stats.INCONCLUSIVE)
        self.assertIn("[", res[0].reason)  # the interval is quoted, not a bare point

    def test_busy_host_makes_per_count_inconclusive(self) -> None:
        ss = []
        for k in range(3):
            for o, c, w in (("linux", 1, 1000), ("linux", 2, 510), ("capos", 1, 1000), ("capos", 2, 505)):
                x = s(o, "process", c, w + k, run=k)
                if o == "linux" and c == 1 and k == 0:
                    x = Sample(**{**x.__dict__, "boot_other_host": 0.3, "boot": "linux-process-smp1-run0"})
                ss.append(x)
        res = stats.gate_1_to_2(stats.summarize(ss, resamples=500))
        self.assertEqual(res[0].verdict, stats.INCONCLUSIVE)
        self.assertIn("other host work 30.0%", res[0].reason)

    def test_one_run_per_case_is_inconclusive(self) -> None:
        ss = []
        for wl in ("process", "thread"):
            ss += [s("linux", wl, 1, 1000), s("linux", wl, 2, 510), s("capos", wl, 1, 1000), s("capos", wl, 2, 500)]
        res = stats.gate_1_to_2(stats.summarize(ss))
        self.assertEqual({r.verdict for r in res}, {stats.INCONCLUSIVE})
        self.assertIn("no interval", res[0].reason)

    def test_kvm_floor(self) -> None:
        res = self.run_gate([520, 521, 519], accel="kvm", linux_2=[530, 531, 529])  # ratio fine, 1.92x < 1.95
        self.assertEqual(res[0].verdict, stats.FAIL)
        self.assertIn("KVM floor", res[0].reason)

    def test_missing_linux_or_workload_fails(self) -> None:
        res = stats.gate_1_to_2(stats.summarize([s("capos", "process", 1, 100), s("capos", "process", 2, 50)]))
        self.assertFalse(stats.gate_passed(res))
        self.assertIn("no Linux", res[0].reason)
        self.assertFalse(stats.gate_passed([]))


def paired_boot(os: str, boot: str, speed: float, *, wl: str = "process", base: float = 10_000.0, rel: float = 0.002,
                seed: int = 0, blocks: int = 2, other: float | None = 0.01, share: float | None = 0.99,
                accel: str = "tcg-mt") -> list[Sample]:
    """Samples of one paired boot: ABBA blocks, work_1 ~ base, work_2 ~ base / speed."""
    rng = random.Random(seed)
    out = []
    for seq, workers in enumerate((1, 2, 2, 1) * blocks):
        work = base if workers == 1 else base / speed
        work *= 1 + rng.uniform(-rel, rel)
        wall = work / 1000
        vcpu = {} if share is None else {0: wall * share, 1: (wall * share if workers == 2 else 0.01)}
        out.append(Sample(os=os, workload=wl, cpus=2, parallelism=workers, accel=accel, run=1, work=int(work),
                          total=int(work) + 50, verified=True, policy="kernel" if os == "capos" else "",
                          design=stats.PAIRED, boot=boot, seq=seq, boot_other_host=other,
                          window_wall_s=None if share is None else wall, vcpu_cpu_s=vcpu))
    return out


def paired_set(capos: list[float], linux: list[float], **kw: object) -> list[stats.PairedBoot]:
    ss = []
    for i, sp in enumerate(capos):
        ss += paired_boot("capos", f"capos-{i}", sp, seed=i, **kw)  # type: ignore[arg-type]
    for i, sp in enumerate(linux):
        ss += paired_boot("linux", f"linux-{i}", sp, seed=100 + i, **kw)  # type: ignore[arg-type]
    return stats.paired_boots(ss)


class Paired(unittest.TestCase):
    def test_per_boot_speedup_and_abba(self) -> None:
        boots = stats.paired_boots(paired_boot("capos", "b0", 1.9, rel=0.0))
        self.assertEqual(len(boots), 1)
        b = boots[0]
        self.assertTrue(b.abba)
        self.assertEqual(len(b.work_1), 4)
        self.assertAlmostEqual(b.speedup, 1.9, places=3)
        self.assertEqual(b.host, ())
        self.assertTrue(b.vcpu_checked)

    def test_abba_cancels_linear_drift(self) -> None:
        # The host slows down by 1 % per run across the boot; the true speedup is 2.
        ss = []
        for seq, w in enumerate((1, 2, 2, 1) * 2):
            work = (1000 if w == 1 else 500) * (1 + 0.01 * seq)
            ss.append(Sample(os="linux", workload="thread", cpus=2, parallelism=w, accel="tcg-mt", run=1,
                             work=int(round(work * 1000)), total=None, verified=True, design=stats.PAIRED,
                             boot="d", seq=seq))
        self.assertAlmostEqual(stats.paired_boots(ss)[0].speedup, 2.0, places=6)

    def test_pass(self) -> None:
        g = stats.gate_paired(paired_set([1.95, 1.951, 1.949, 1.952], [1.93, 1.931, 1.929, 1.932]), "process")
        self.assertEqual(g.verdict, stats.PASS, g.line())
        self.assertLess(g.ratio.half_width or 1, 0.01)
        self.assertEqual(g.boots, (4, 4))
        self.assertTrue(g.line().startswith("[bench] gate process: PASS ratio 1.01"))
        self.assertIn("(paired, 4+4 boots", g.line())

    def test_time_ratio_at_each_worker_count(self) -> None:
        ss = []
        for i in range(4):
            ss += paired_boot("capos", f"c{i}", 2.0, base=9_000.0, seed=i)
            ss += paired_boot("linux", f"l{i}", 1.8, base=10_000.0, seed=50 + i)
        t1, t2 = stats.paired_time_ratios(stats.paired_boots(ss), "process")
        self.assertEqual((t1.workers, t2.workers), (1, 2))
        self.assertAlmostEqual(t1.ratio.point or 0, 0.9, places=2)
        self.assertAlmostEqual(t2.ratio.point or 0, (9_000 / 2.0) / (10_000 / 1.8), places=2)
        self.assertEqual(t1.verdict, "at or below Linux", t1.line())
        self.assertEqual(t1.boots, (4, 4))
        self.assertIn("[bench] time process workers=1: capOS/Linux work 0.90", t1.line())
        # capOS slower at 1 worker -> above; a boot the host starved is left out of the figure.
        ss = []
        for i in range(4):
            ss += paired_boot("capos", f"c{i}", 2.0, base=11_000.0, seed=i)
            ss += paired_boot("linux", f"l{i}", 2.0, base=10_000.0, seed=50 + i)
        ss += paired_boot("linux", "starved", 2.0, base=30_000.0, share=0.5)
        t1, _ = stats.paired_time_ratios(stats.paired_boots(ss), "process")
        self.assertEqual(t1.verdict, "above Linux", t1.line())
        self.assertEqual(t1.boots, (4, 4))

    def test_time_ratio_undecided_and_empty(self) -> None:
        ss = []
        for i, base in enumerate((9_000.0, 11_000.0, 10_500.0)):
            ss += paired_boot("capos", f"c{i}", 2.0, base=base, seed=i)
            ss += paired_boot("linux", f"l{i}", 2.0, base=10_000.0 + 800 * (i - 1), seed=50 + i)
        t1, _ = stats.paired_time_ratios(stats.paired_boots(ss), "process")
        self.assertEqual(t1.verdict, "not decided", t1.line())
        t1, t2 = stats.paired_time_ratios(stats.paired_boots(paired_boot("capos", "c", 2.0)), "process")
        self.assertEqual(t1.boots, (1, 0))
        self.assertEqual(t1.verdict, "no interval")

    def test_fail(self) -> None:
        g = stats.gate_paired(paired_set([1.80, 1.81, 1.79], [1.95, 1.94, 1.96]), "process")
        self.assertEqual(g.verdict, stats.FAIL, g.line())

    def test_straddle_is_inconclusive(self) -> None:
        g = stats.gate_paired(paired_set([1.85, 1.95, 1.90], [1.90, 1.92, 1.94]), "process")
        self.assertEqual(g.verdict, stats.INCONCLUSIVE, g.line())
        self.assertIn("interval contains 0.98", g.line())

    def test_one_boot_per_os_is_inconclusive(self) -> None:
        g = stats.gate_paired(paired_set([1.99], [1.90]), "process")
        self.assertEqual(g.verdict, stats.INCONCLUSIVE)
        self.assertIn("fewer than 2", g.line())
        g = stats.gate_paired(paired_set([1.99, 1.98], []), "process")
        self.assertEqual(g.verdict, stats.INCONCLUSIVE)
        self.assertIn("no paired Linux", g.line())

    def test_busy_host_is_inconclusive_and_named(self) -> None:
        boots = paired_set([1.99, 1.99, 1.99], [1.90, 1.90, 1.90], other=0.2)
        g = stats.gate_paired(boots, "process")
        self.assertEqual(g.verdict, stats.INCONCLUSIVE)
        self.assertIn("other host work 20.0% > 5%", g.line())

    def test_starved_vcpu_is_inconclusive_and_named(self) -> None:
        g = stats.gate_paired(paired_set([1.99, 1.99, 1.99], [1.90, 1.90, 1.90], share=0.7), "process")
        self.assertEqual(g.verdict, stats.INCONCLUSIVE)
        self.assertIn("vCPU thread got 70.0% < 90%", g.line())
        # An idle second vCPU in a 1-worker window is not a delivery failure.
        self.assertEqual(stats.gate_paired(paired_set([1.99] * 3, [1.90] * 3), "process").verdict, stats.PASS)

    def test_missing_attribution_is_said_not_silent(self) -> None:
        g = stats.gate_paired(paired_set([1.95] * 3, [1.90, 1.91, 1.89], share=None), "process")
        self.assertEqual(g.verdict, stats.PASS)
        self.assertIn("not checked", g.line())

    def test_kvm_floor(self) -> None:
        g = stats.gate_paired(paired_set([1.90, 1.901, 1.899], [1.85, 1.851, 1.849], accel="kvm"), "process")
        self.assertEqual(g.verdict, stats.FAIL)
        self.assertIn("KVM floor", g.line())
        g = stats.gate_paired(paired_set([1.99, 1.991, 1.989], [1.97, 1.971, 1.969], accel="kvm"), "process")
        self.assertEqual(g.verdict, stats.PASS, g.line())

    def test_summaries(self) -> None:
        sums = stats.paired_summaries(paired_set([1.9, 1.92], [1.8, 1.82]))
        self.assertEqual([(x.os, x.boots) for x in sums], [("linux", 2), ("capos", 2)])
        self.assertAlmostEqual(sums[1].speedup.point or 0, 1.91, places=2)


if __name__ == "__main__":
    unittest.main()
