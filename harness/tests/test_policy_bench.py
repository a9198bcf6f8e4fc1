"""Tests of policy_bench.py: [shares] line parsing and cross-checks, water-filling, the boot plan,
per-system statistics, the capOS boot checks and the CSV round trip."""
from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import policy_bench as pb  # noqa: E402

# Computed independently (by hand and in the C++ host test workloads_shares):
# 1 CPU x 1000 cycles split 1024:110 -> 902.998 / 97.002, truncated to 902 / 97.
GOOD = ("[shares] os=capos variant=threads cpus=1 threads=2 window=1000 weights=1024,110 cycles=900,50 "
        "expected=902,97 err_ppm=-2217,-484536 max_err_ppm=484536 jain_ppm=907779 used_ppm=950000 late_ppm=20 verified=true")


def run_line(variant: str, cycles: list[int], os_: str = "capos", late: int = 0) -> str:
    """A consistent 6-thread line on 2 CPUs for the given cycles (metrics from the module)."""
    w = [1024, 1024, 335, 335, 110, 110]
    window = 1_000_000
    exp = [int(x) for x in pb.expected_shares(w, 2 * window, window)]
    xs = [c / e for c, e in zip(cycles, exp)]
    errs = [round((x - 1) * 1e6) for x in xs]
    return (f"[shares] os={os_} variant={variant} cpus=2 threads=6 window={window} weights={','.join(map(str, w))} "
            f"cycles={','.join(map(str, cycles))} expected={','.join(map(str, exp))} "
            f"err_ppm={','.join(map(str, errs))} max_err_ppm={round(max(abs(x - 1) for x in xs) * 1e6)} "
            f"jain_ppm={round(pb.jain(xs) * 1e6)} used_ppm={round(sum(cycles) / (2 * window) * 1e6)} "
            f"late_ppm={late} verified=true")


class ParseLine(unittest.TestCase):
    def test_good_line(self) -> None:
        r = pb.parse_shares_line(GOOD)
        self.assertEqual((r.os, r.variant, r.cpus, r.threads, r.window), ("capos", "threads", 1, 2, 1000))
        self.assertEqual(r.weights, (1024, 110))
        self.assertEqual(r.err_ppm, (-2217, -484536))
        self.assertAlmostEqual(r.jain, 0.907779)
        self.assertAlmostEqual(r.max_err, 0.484536)
        self.assertAlmostEqual(r.class_ratio(110) or 0, 50 / 97)
        self.assertIsNone(r.class_ratio(335))
        self.assertTrue(r.verified)

    def test_noise_before_the_tag_and_other_lines(self) -> None:
        text = "boot noise\nxx" + GOOD + "\n[shares-info] variant=all cpus=2\n[shares-detail] variant=threads work=1,2\n"
        runs = pb.parse_text(text)
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0].cycles, (900, 50))

    def test_wrong_list_length(self) -> None:
        with self.assertRaisesRegex(pb.SharesLineError, "cycles: 1 entries for 2 threads"):
            pb.parse_shares_line(GOOD.replace("cycles=900,50", "cycles=900"))

    def test_missing_field_and_bad_values(self) -> None:
        with self.assertRaisesRegex(pb.SharesLineError, "missing jain_ppm"):
            pb.parse_shares_line(GOOD.replace(" jain_ppm=907779", ""))
        with self.assertRaisesRegex(pb.SharesLineError, "verified must be"):
            pb.parse_shares_line(GOOD.replace("verified=true", "verified=yes"))
        with self.assertRaisesRegex(pb.SharesLineError, "not a list of integers"):
            pb.parse_shares_line(GOOD.replace("weights=1024,110", "weights=1024,x"))

    def test_guest_arithmetic_is_cross_checked(self) -> None:
        with self.assertRaisesRegex(pb.SharesLineError, "jain_ppm 907000"):
            pb.parse_shares_line(GOOD.replace("jain_ppm=907779", "jain_ppm=907000"))
        with self.assertRaisesRegex(pb.SharesLineError, "water-filled"):
            pb.parse_shares_line(GOOD.replace("expected=902,97", "expected=800,97"))
        with self.assertRaisesRegex(pb.SharesLineError, "max_err_ppm"):
            pb.parse_shares_line(GOOD.replace("max_err_ppm=484536", "max_err_ppm=4"))

    def test_unverified_line_is_not_cross_checked(self) -> None:
        r = pb.parse_shares_line(GOOD.replace("jain_ppm=907779", "jain_ppm=0").replace("verified=true",
                                                                                        "verified=false"))
        self.assertFalse(r.verified)


class WaterFilling(unittest.TestCase):
    def test_proportional(self) -> None:
        e = pb.expected_shares([1024, 1024, 335, 335, 110, 110], 2e9, 1e9)
        self.assertAlmostEqual(sum(e) / 2e9, 1.0)
        self.assertAlmostEqual(e[0] / e[4], 1024 / 110)

    def test_cap_redistributes(self) -> None:
        self.assertEqual(pb.expected_shares([10000, 1, 1], 2000, 1000), [1000, 500, 500])
        self.assertEqual(pb.expected_shares([1, 5], 4000, 1000), [1000, 1000])

    def test_bad_input(self) -> None:
        with self.assertRaises(ValueError):
            pb.expected_shares([1, 0], 10, 10)
        with self.assertRaises(ValueError):
            pb.expected_shares([], 10, 10)


class Plan(unittest.TestCase):
    def test_interleaved_and_reversed(self) -> None:
        plan = pb.make_plan(["kernel", "fair-share", "linux"], 3)
        self.assertEqual([(b.system, b.index) for b in plan],
                         [("kernel", 1), ("fair-share", 1), ("linux", 1),
                          ("linux", 2), ("fair-share", 2), ("kernel", 2),
                          ("kernel", 3), ("fair-share", 3), ("linux", 3)])
        self.assertEqual(plan[2].os, "linux")
        self.assertEqual(plan[0].tag, "capos-kernel-shares-boot1")

    def test_cmdlines(self) -> None:
        self.assertEqual(pb.capos_cmdline("kernel"), "manifest=shares")
        self.assertEqual(pb.capos_cmdline("round-robin"), "manifest=shares-round-robin")
        # A spec's arguments travel as placement=, its name picks the manifest.
        self.assertEqual(pb.capos_cmdline("pinning:spread=1,slice_ms=2", "wakeup"),
                         "manifest=wakeup-pinning placement=spread=1,slice_ms=2")
        self.assertIn("capos.bench=shares capos.window_ms=4000", pb.linux_append(4000))
        b = pb.Boot("fair-share:slice_ms=2", 1, "shares")
        self.assertEqual(b.tag, "capos-fair-share_slice_ms-2-shares-boot1")

    def test_args(self) -> None:
        for bad in (["--policy", "Fifo"], ["--policy", "kernel:k=1"], ["--policy", "pack:k 3"],
                    ["--policy", "pack:k=1", "pack:k=1"], ["--boots", "0"]):
            with self.subTest(bad=bad), self.assertRaises(SystemExit):
                pb.parse_args(["--build-dir", "b", *bad])
        a = pb.parse_args(["--build-dir", "b"])
        self.assertEqual(a.policy, list(pb.POLICIES))
        self.assertEqual(a.boots, 5)
        # Any policy name and arguments are accepted: a researcher's own policy, swept.
        a = pb.parse_args(["--build-dir", "b", "--policy", "pack:k=1", "pack:k=2", "pack:k=3"])
        self.assertEqual(a.policy, ["pack:k=1", "pack:k=2", "pack:k=3"])

    def test_missing_manifests(self) -> None:
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            build = Path(d)
            (build / "benchmarks" / "capos").mkdir(parents=True)
            (build / "benchmarks" / "capos" / "manifest-shares-pack.bin").write_bytes(b"")
            self.assertEqual(pb.missing_manifests(build, ["kernel", "pack:k=1"], ["shares"]), [])
            self.assertEqual(pb.missing_manifests(build, ["pack:k=1", "fifo"], ["shares", "wakeup"]),
                             ["wakeup-pack", "shares-fifo", "wakeup-fifo"])


class Latency(unittest.TestCase):
    def test_last_line_of_a_boot_and_the_table(self) -> None:
        from capos import placement_latency as pl
        text = ("[placement] latency p50_us=900 p99_us=9000 samples=10 misses=0 demotions=0 via=rings\n"
                "noise\n"
                "[placement] latency p50_us=310 p99_us=4100 samples=812 misses=3 demotions=1 via=rings (at demotion)\n")
        lat = pl.last(text)
        self.assertEqual(lat, pl.Latency(310, 4100, 812, 3, 1, "rings"))
        self.assertIn("demotions 1", lat.describe())
        self.assertIsNone(pl.last("[placement] fair-share v1 serving epoch 1\n"))
        md = pb.latency_md({"pack:k=1": [lat, pl.Latency(290, 3000, 700, 0, 0, "rings")]})
        self.assertIn("| pack:k=1 | 2 | 300 | 3550 | 3 | 1 |", md)
        self.assertEqual(pb.latency_md({}), "")


class CaposChecks(unittest.TestCase):
    def test_done_line_and_failures(self) -> None:
        self.assertIsNotNone(pb.check_capos("nothing", "kernel"))
        self.assertIsNone(pb.check_capos("[utest] shares 5 passed, 0 failed\n", "kernel"))
        self.assertIn("1 failure", pb.check_capos("[utest] shares 4 passed, 1 failed\n", "kernel") or "")

    def test_policy_must_have_served(self) -> None:
        done = "[utest] shares 5 passed, 0 failed\n"
        self.assertIn("never served", pb.check_capos(done, "fair-share") or "")
        served = "[placement] fair-share v1 serving epoch 1\n" + done
        self.assertIsNone(pb.check_capos(served, "fair-share"))
        demoted = served + "[placement] fallback: deadline missed 8 times\n"
        self.assertIn("demoted", pb.check_capos(demoted, "fair-share") or "")

    def test_window_attribution(self) -> None:
        class W:
            def __init__(self, label: str, f: float) -> None:
                self.label, self.other_host_frac = label, f
        self.assertEqual(pb.window_other([W("shares-threads-0", 0.1), W("boot", 0.5), W("shares-procs-0", 0.2)]),
                         {"threads": 0.1, "procs": 0.2})


class Statistics(unittest.TestCase):
    def rows(self) -> list[pb.Row]:
        out: list[pb.Row] = []
        exact = [int(x) for x in pb.expected_shares([1024, 1024, 335, 335, 110, 110], 2_000_000, 1_000_000)]
        for boot, scale in ((1, 1.0), (2, 0.98), (3, 0.96)):
            for sysname in ("kernel", "linux"):
                # kernel ignores the weights (every thread a third of a CPU); linux is exact but short.
                cyc = [666_666] * 6 if sysname == "kernel" else [int(e * scale) for e in exact]
                for v in pb.VARIANTS:
                    r = pb.parse_shares_line(run_line(v, cyc, "capos" if sysname == "kernel" else "linux"))
                    out += pb.rows_of(sysname, boot, [r], "tcg-mt", {v: 0.01}, "x.log")
        return out

    def test_summaries_order_and_values(self) -> None:
        sums = pb.summarize(self.rows(), ["kernel", "linux"], resamples=500)
        self.assertEqual([(s.system, s.variant) for s in sums],
                         [("kernel", "threads"), ("kernel", "procs"), ("linux", "threads"), ("linux", "procs")])
        k, lx = sums[0], sums[2]
        self.assertEqual(k.boots, 3)
        self.assertLess(k.jain.point or 1, 0.7)
        self.assertGreater(lx.jain.point or 0, 0.9999)
        # linux is short by 0, 2 and 4 %: mean cycles/expected of every class 0.98, with an interval around it.
        iv = lx.class_ratio[1024]
        self.assertAlmostEqual(iv.point or 0, 0.98, places=3)
        self.assertIsNotNone(iv.lo)
        self.assertLessEqual(iv.lo or 0, 0.98)
        self.assertGreaterEqual(iv.hi or 0, 0.98)
        self.assertGreater(k.class_ratio[110].point or 0, 4.0)  # the light threads got 4.5x their share

    def test_disturbed_runs_are_left_out(self) -> None:
        rows = self.rows()
        w = [1024, 1024, 335, 335, 110, 110]
        exact = [int(x) for x in pb.expected_shares(w, 2_000_000, 1_000_000)]
        skew = list(exact)
        skew[4] *= 5  # one thread charged for a stopped vCPU's time
        for v in pb.VARIANTS:
            rows += pb.rows_of("linux", 4, [pb.parse_shares_line(run_line(v, skew, "linux", late=30_000))],
                               "tcg-mt", {}, "y.log")
        s = pb.summarize(rows, ["linux"], resamples=200)[0]
        self.assertEqual((s.boots, s.left_out), (3, 1))
        self.assertGreater(s.jain.point or 0, 0.9999)  # the skewed run is not in it
        md = pb.summary_markdown(pb.summarize(rows, ["linux"], resamples=100), "t", "tcg-mt")
        self.assertIn("| Linux (CFS) | 3 (+1 left out) |", md)

    def test_one_boot_has_no_interval(self) -> None:
        rows = [r for r in self.rows() if r.boot == 1]
        s = pb.summarize(rows, ["linux"], resamples=100)[0]
        self.assertTrue(s.jain.degenerate)

    def test_csv_round_trip_and_markdown(self) -> None:
        rows = self.rows()
        with tempfile.TemporaryDirectory() as d:
            p = pb.write_csv(rows, Path(d) / "results.csv")
            back = pb.read_csv(p)
        self.assertEqual(back, rows)
        md = pb.summary_markdown(pb.summarize(rows, ["kernel", "linux"], resamples=100), "t", "tcg-mt")
        self.assertIn("## shares, variant threads", md)
        self.assertIn("| capOS kernel | 3 |", md)
        self.assertIn("| Linux (CFS) | 3 |", md)


WAKE = ("[wakeup] os=capos kind=timer cpus=2 hogs=2 tsc_hz=2000000000 period_us=5000 samples=700 dropped=0 "
        "p50=2000000 p99=8000000 p999=9000000 max=10000000 verified=true")


class Wakeup(unittest.TestCase):
    def test_parse_and_convert(self) -> None:
        r = pb.parse_wakeup_line(WAKE)
        self.assertEqual((r.kind, r.samples, r.hogs), ("timer", 700, 2))
        self.assertAlmostEqual(r.us(r.p50), 1000.0)  # 2e6 cycles at 2 GHz
        self.assertAlmostEqual(r.us(r.max), 5000.0)
        runs = pb.parse_wakeup_text("x\n" + WAKE + "\n" + WAKE.replace("kind=timer", "kind=message") + "\n")
        self.assertEqual([x.kind for x in runs], ["timer", "message"])
        self.assertIsNone(pb.check_runs("wakeup", runs))
        self.assertIn("expected one run per kind", pb.check_runs("wakeup", runs[:1]) or "")

    def test_bad_lines(self) -> None:
        with self.assertRaisesRegex(pb.SharesLineError, "out of order"):
            pb.parse_wakeup_line(WAKE.replace("p99=8000000", "p99=9500000"))
        with self.assertRaisesRegex(pb.SharesLineError, "kind must be"):
            pb.parse_wakeup_line(WAKE.replace("kind=timer", "kind=irq"))
        with self.assertRaisesRegex(pb.SharesLineError, "without samples"):
            pb.parse_wakeup_line(WAKE.replace("samples=700", "samples=0"))
        with self.assertRaisesRegex(pb.SharesLineError, "missing p999"):
            pb.parse_wakeup_line(WAKE.replace(" p999=9000000", ""))

    def test_plan_cmdlines_and_done_line(self) -> None:
        plan = pb.make_plan(["kernel", "linux"], 2, ["shares", "wakeup"])
        self.assertEqual([(b.system, b.index, b.workload) for b in plan],
                         [("kernel", 1, "shares"), ("linux", 1, "shares"), ("kernel", 1, "wakeup"),
                          ("linux", 1, "wakeup"), ("linux", 2, "shares"), ("kernel", 2, "shares"),
                          ("linux", 2, "wakeup"), ("kernel", 2, "wakeup")])
        self.assertEqual(pb.capos_cmdline("pinning", "wakeup"), "manifest=wakeup-pinning")
        self.assertIn("capos.bench=wakeup", pb.linux_append(4000, "wakeup"))
        done = "[utest] wakeup 2 passed, 0 failed\n"
        self.assertIsNone(pb.check_capos(done, "kernel", "wakeup"))
        self.assertIn("no '[utest] shares", pb.check_capos(done, "kernel", "shares") or "")

    def test_summary_and_csv(self) -> None:
        rows = []
        for boot, p99 in ((1, 8e6), (2, 8.5e6), (3, 9e6)):
            r = pb.parse_wakeup_line(WAKE.replace("p99=8000000", f"p99={int(p99)}"))
            rows += pb.wakeup_rows_of("kernel", boot, [r], "tcg-mt", 0.02, "w.log")
        sums = pb.summarize_wakeup(rows, ["kernel"], resamples=200)
        self.assertEqual(len(sums), 1)
        self.assertAlmostEqual(sums[0].stats["p99_us"].point or 0, 4250.0)  # mean of 4000, 4250, 4500 us
        self.assertIsNotNone(sums[0].stats["p99_us"].lo)
        with tempfile.TemporaryDirectory() as d:
            back = pb.read_wakeup_csv(pb.write_wakeup_csv(rows, Path(d) / "wakeup.csv"))
        self.assertEqual(back, rows)
        md = pb.wakeup_markdown(sums, "tcg-mt")
        self.assertIn("## wakeup, timer-woken", md)
        self.assertIn("| capOS kernel | 3 | 700 | 1000 [", md)


if __name__ == "__main__":
    unittest.main()
