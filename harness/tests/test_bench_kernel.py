"""Tests of bench_kernel.py's result-line parsing."""
from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_kernel  # noqa: E402


class ParseWork(unittest.TestCase):
    LINE = ("[bench] smp_work cpus=2 threads=2 range=2..3000000 primes=216816 cycles=4748515096 "
            "work=4700000000 tsc_hz=2600666000 verified=true")

    def test_parses_the_guest_line(self) -> None:
        text = "noise\n" + self.LINE + "\n[ktest] bench_smp PASS\n"
        self.assertEqual(bench_kernel.parse_work(text), (2, 2, 4748515096, 4700000000, 2600666000, True))

    def test_unverified_run_is_reported_as_such(self) -> None:
        text = self.LINE.replace("verified=true", "verified=false")
        parsed = bench_kernel.parse_work(text)
        self.assertIsNotNone(parsed)
        assert parsed is not None
        self.assertFalse(parsed[5])

    def test_missing_or_partial_line(self) -> None:
        self.assertIsNone(bench_kernel.parse_work("[bench] smp_work cpus=2 threads=2\n"))
        self.assertIsNone(bench_kernel.parse_work(""))

    def test_medians_of_the_other_measurements(self) -> None:
        text = ("[bench] ipi_roundtrip_cycles median=31018 samples=1000 p10=1 p90=2 ns=3\n"
                "[bench] shootdown_1page_cycles median=68068 samples=256 cpus=2 mask_cpus=2 p10=1 p90=2\n")
        self.assertEqual(bench_kernel.parse_median(bench_kernel.IPI_RE, text), 31018)
        self.assertEqual(bench_kernel.parse_median(bench_kernel.SHOOTDOWN_RE, text), 68068)
        self.assertIsNone(bench_kernel.parse_median(bench_kernel.IPI_RE, "nothing"))


if __name__ == "__main__":
    unittest.main()
