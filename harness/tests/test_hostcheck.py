"""Unit tests for hostcheck.py's statistics and a tiny real run."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostcheck  # noqa: E402


class HostcheckTest(unittest.TestCase):
    def test_spread_is_slowest_over_fastest(self):
        self.assertAlmostEqual(hostcheck.spread([1.0, 1.5, 1.2]), 1.5)
        self.assertAlmostEqual(hostcheck.spread([2.0]), 1.0)

    def test_median_odd_and_even(self):
        self.assertEqual(hostcheck.median([3.0, 1.0, 2.0]), 2.0)
        self.assertEqual(hostcheck.median([4.0, 1.0, 2.0, 3.0]), 2.5)

    def test_run_times_every_trial_on_every_cpu(self):
        cpus = sorted(__import__("os").sched_getaffinity(0))[:2]
        res = hostcheck.run(cpus, 10_000, 2)
        self.assertEqual(sorted(res), cpus)
        for times in res.values():
            self.assertEqual(len(times), 2)
            self.assertTrue(all(t > 0 for t in times))


if __name__ == "__main__":
    unittest.main()
