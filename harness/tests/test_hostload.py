"""Unit tests for capos.hostload (foreign CPU time during a benchmark)."""
import tempfile
import unittest
from pathlib import Path

from capos import hostload

STAT = ("cpu  100 5 50 1000 20 3 2 7 40 0\n"
        "cpu0 50 2 25 500 10 1 1 3 20 0\n"
        "intr 12345\n")


class BusyJiffiesTest(unittest.TestCase):
    def test_sums_busy_fields_without_idle_iowait_or_guest(self):
        # user+nice+system+irq+softirq+steal = 100+5+50+3+2+7
        self.assertEqual(hostload.busy_jiffies(STAT), 167)

    def test_rejects_missing_or_short_line(self):
        with self.assertRaises(ValueError):
            hostload.busy_jiffies("cpu0 1 2 3 4 5 6 7 8\n")
        with self.assertRaises(ValueError):
            hostload.busy_jiffies("cpu 1 2 3\n")


class ForeignLoadTest(unittest.TestCase):
    def test_share_and_busy_threshold(self):
        quiet = hostload.ForeignLoad(seconds=0.5, wall=100.0, cpus=2)
        self.assertAlmostEqual(quiet.share, 0.0025)
        self.assertFalse(quiet.busy)
        loaded = hostload.ForeignLoad(seconds=30.0, wall=100.0, cpus=2)
        self.assertAlmostEqual(loaded.share, 0.15)
        self.assertTrue(loaded.busy)
        self.assertIn("15.0%", loaded.describe())

    def test_negative_foreign_time_counts_as_zero(self):
        self.assertEqual(hostload.ForeignLoad(seconds=-1.0, wall=10.0, cpus=2).share, 0.0)

    def test_meter_subtracts_host_busy_delta(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "stat"
            p.write_text(STAT)
            m = hostload.Meter(p)
            hz = m._hz
            # 10 s of busy time appears on the host that this process did not spend.
            p.write_text(STAT.replace("cpu  100", f"cpu  {100 + 10 * hz}"))
            r = m.stop()
            self.assertGreater(r.seconds, 9.0)
            self.assertLessEqual(r.seconds, 10.0)


if __name__ == "__main__":
    unittest.main()
