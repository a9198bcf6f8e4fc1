"""Tests of micro_compare.py: the ABBA boot order and the before/after table."""
from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import micro_compare  # noqa: E402


class Order(unittest.TestCase):
    def test_abba_balances_each_cycle(self) -> None:
        self.assertEqual(micro_compare.abba(2), ["A", "B", "B", "A", "A", "B", "B", "A"])
        self.assertEqual(micro_compare.abba(0), [])


class Compare(unittest.TestCase):
    def test_ratio_is_after_over_before_with_interval(self) -> None:
        s = {"A": {"nop": [100.0, 102.0, 98.0, 101.0], "only_a": [1.0, 2.0]},
             "B": {"nop": [110.0, 112.0, 108.0, 111.0], "only_b": [3.0, 4.0]}}
        rows = micro_compare.compare(s)
        self.assertEqual([r[0] for r in rows], ["nop"])  # cases in both builds only
        name, ma, na, mb, nb, iv = rows[0]
        self.assertAlmostEqual(ma, 100.5)
        self.assertAlmostEqual(mb, 110.5)
        self.assertEqual((na, nb), (4, 4))
        self.assertAlmostEqual(iv.point, 110.5 / 100.5)
        self.assertLess(iv.lo, iv.point)
        self.assertGreater(iv.hi, iv.point)
        self.assertGreater(iv.lo, 1.0)  # every after boot is slower than every before boot
        md = micro_compare.table_md(rows)
        self.assertIn("| nop | 100 (4) | 110 (4) | 1.100 [", md)

    def test_one_boot_gives_no_interval(self) -> None:
        rows = micro_compare.compare({"A": {"x": [1.0]}, "B": {"x": [2.0]}})
        self.assertTrue(rows[0][5].degenerate)
        self.assertIn("no interval", micro_compare.table_md(rows))


if __name__ == "__main__":
    unittest.main()
