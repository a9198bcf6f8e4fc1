"""host_scaling.speedup_of: the host's own paired speedup from the baseline program's output."""
from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import host_scaling  # noqa: E402

LINE = ("[smp-process-scale] cpus=2 workers={w} range=2..16777216 primes=1077871 checksum=0x829abeafa2f78f12 "
        "elapsed={e} total={t} verified=true")


class SpeedupOf(unittest.TestCase):
    def test_paired_output(self) -> None:
        runs = [(1, 1000), (2, 520), (2, 480), (1, 1000)]
        text = "\n".join(["[bench-window] begin process-0-w1"] +
                         [LINE.format(w=w, e=e, t=e + 10) for w, e in runs])
        sp, w1, w2 = host_scaling.speedup_of(text)
        self.assertAlmostEqual(sp, 2.0)
        self.assertEqual((w1, w2), ([1000, 1000], [520, 480]))

    def test_missing_side_is_an_error(self) -> None:
        with self.assertRaises(ValueError):
            host_scaling.speedup_of(LINE.format(w=1, e=1000, t=1010))


if __name__ == "__main__":
    unittest.main()
