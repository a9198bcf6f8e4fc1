"""Tests of policy_bench.py for workloads imbalance and consolidation: line parsing and its
cross-checks, the task costs of a seed, rows, statistics and the CSV round trip."""
from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import policy_bench as pb  # noqa: E402

# Printed by the capOS guest (imbalance_smoke_smp2, unit_blocks=128).
IMB = ("[imbalance] os=capos cpus=2 threads=6 tasks=8 seed=16 unit_blocks=128 tsc_hz=2780113425 "
       "units=50,46,60,46,54,37 cpu=429669392,195750408,255963080,322852010,372245924,160920342 "
       "finish=922805131,556783476,629794206,772906440,860220598,475311948 makespan=922805131 ideal=868700578 "
       "efficiency_ppm=941369 busy_ppm=934021,984452 verified=true")
CON = ("[consolidation] os=capos cpus=2 threads=3 period_us=20000 est_duty_ppm=200000 window=1629653720 "
       "work_blocks=128 periods=31,31,31 missed=0,1,0 busy_ppm=169399,156289 idle_ppm=830601,843711 cpus_used=2 "
       "load_ppm=325688 verified=true")


class TaskUnits(unittest.TestCase):
    def test_units_are_one_to_ten_and_reproduce_the_guest(self) -> None:
        us = [pb.imbalance_task_units(16, k) for k in range(48)]
        self.assertTrue(all(1 <= u <= 10 for u in us))
        self.assertEqual(min(us), 1)
        self.assertEqual(max(us), 10)  # the tenfold range is reached with the default seed
        self.assertEqual([sum(us[i * 8:(i + 1) * 8]) for i in range(6)], [50, 46, 60, 46, 54, 37])
        self.assertNotEqual([pb.imbalance_task_units(17, k) for k in range(48)], us)


class ParseImbalance(unittest.TestCase):
    def test_good_line(self) -> None:
        r = pb.parse_imbalance_line(IMB)
        self.assertEqual((r.os, r.cpus, r.threads, r.tasks, r.seed), ("capos", 2, 6, 8, 16))
        self.assertAlmostEqual(r.makespan_ms, 922805131 * 1e3 / 2780113425)
        self.assertAlmostEqual(r.efficiency, 0.941369)
        self.assertEqual(r.busy_ppm, (934021, 984452))
        self.assertEqual(len(pb.parse_imbalance_text("noise\n" + IMB + "\n[imbalance-detail] start_cpus=0\n")), 1)

    def test_cross_checks(self) -> None:
        with self.assertRaisesRegex(pb.SharesLineError, "not seed 16's"):
            pb.parse_imbalance_line(IMB.replace("units=50,", "units=51,"))
        with self.assertRaisesRegex(pb.SharesLineError, "makespan/ideal"):
            pb.parse_imbalance_line(IMB.replace("makespan=922805131", "makespan=922805132"))
        with self.assertRaisesRegex(pb.SharesLineError, "efficiency_ppm"):
            pb.parse_imbalance_line(IMB.replace("efficiency_ppm=941369", "efficiency_ppm=951369"))
        with self.assertRaisesRegex(pb.SharesLineError, "busy_ppm: 1 entries for 2 CPUs"):
            pb.parse_imbalance_line(IMB.replace("busy_ppm=934021,984452", "busy_ppm=934021"))
        with self.assertRaisesRegex(pb.SharesLineError, "missing tsc_hz"):
            pb.parse_imbalance_line(IMB.replace(" tsc_hz=2780113425", ""))
        # An unverified line is not cross-checked (its metrics are zeros).
        bad = IMB.replace("makespan=922805131", "makespan=0").replace("verified=true", "verified=false")
        self.assertFalse(pb.parse_imbalance_line(bad).verified)


class ParseConsolidation(unittest.TestCase):
    def test_good_line(self) -> None:
        r = pb.parse_consolidation_line(CON)
        self.assertEqual((r.cpus, r.threads, r.cpus_used), (2, 3, 2))
        self.assertEqual(r.busy_sorted, [0.169399, 0.156289])
        self.assertAlmostEqual(r.missed_frac, 1 / 93)

    def test_cross_checks(self) -> None:
        with self.assertRaisesRegex(pb.SharesLineError, "busy \\+ idle"):
            pb.parse_consolidation_line(CON.replace("idle_ppm=830601", "idle_ppm=830600"))
        with self.assertRaisesRegex(pb.SharesLineError, "cpus_used/load_ppm"):
            pb.parse_consolidation_line(CON.replace("cpus_used=2", "cpus_used=1"))
        with self.assertRaisesRegex(pb.SharesLineError, "cpus_used/load_ppm"):
            pb.parse_consolidation_line(CON.replace("load_ppm=325688", "load_ppm=325689"))
        with self.assertRaisesRegex(pb.SharesLineError, "more missed periods"):
            pb.parse_consolidation_line(CON.replace("missed=0,1,0", "missed=0,32,0"))
        with self.assertRaisesRegex(pb.SharesLineError, "periods: 2 entries for 3 threads"):
            pb.parse_consolidation_line(CON.replace("periods=31,31,31", "periods=31,31"))

    def test_one_cpu_used_below_the_threshold(self) -> None:
        line = (CON.replace("busy_ppm=169399,156289", "busy_ppm=600000,100000")
                .replace("idle_ppm=830601,843711", "idle_ppm=400000,900000")
                .replace("cpus_used=2", "cpus_used=1").replace("load_ppm=325688", "load_ppm=700000"))
        r = pb.parse_consolidation_line(line)
        self.assertEqual(r.cpus_used, 1)  # exactly 10 % busy is not "used"


class RowsAndStats(unittest.TestCase):
    def test_checks_rows_summary_and_csv(self) -> None:
        imb = pb.parse_imbalance_line(IMB)
        con = pb.parse_consolidation_line(CON)
        self.assertIsNone(pb.check_runs("imbalance", [imb]))
        self.assertIn("expected one", pb.check_runs("consolidation", []) or "")
        irows = [pb.imbalance_row_of("kernel", b, imb, "tcg-mt", 0.1, "x.log") for b in (1, 2, 3)]
        crows = [pb.consolidation_row_of("pinning", b, con, "tcg-mt", None, "y.log") for b in (1, 2)]
        self.assertAlmostEqual(irows[0].busy_min, 0.934021)
        self.assertEqual((crows[0].busy_max, crows[0].busy_min), (0.169399, 0.156289))
        sums = pb.summarize_tasks(irows, pb.IMBALANCE_STATS, ["kernel", "linux"], resamples=200)
        self.assertEqual([s.system for s in sums], ["kernel"])
        self.assertAlmostEqual(sums[0].stats["efficiency"].point or 0, 0.941369)
        with tempfile.TemporaryDirectory() as d:
            p = pb._write_rows(irows, pb.IMBALANCE_FIELDS, Path(d) / "imbalance.csv")
            self.assertEqual(pb._read_rows(p, pb.ImbalanceRow), irows)
            q = pb._write_rows(crows, pb.CONSOLIDATION_FIELDS, Path(d) / "consolidation.csv")
            self.assertEqual(pb._read_rows(q, pb.ConsolidationRow), crows)
            paths, _ = pb.write_all([], Path(d), ["kernel", "pinning"], "t", "tcg-mt", imbalance=irows,
                                    consolidation=crows)
            text = paths["summary"].read_text()
            self.assertIn("## imbalance", text)
            self.assertIn("| capOS kernel | 3 |", text)
            self.assertIn("| capOS pinning | 2 |", text)

    def test_capos_done_line_of_the_new_workloads(self) -> None:
        self.assertIsNone(pb.check_capos("[utest] imbalance 1 passed, 0 failed\n", "kernel", "imbalance"))
        self.assertIn("failure", pb.check_capos("[utest] consolidation 0 passed, 1 failed\n", "kernel",
                                                "consolidation") or "")


if __name__ == "__main__":
    unittest.main()
