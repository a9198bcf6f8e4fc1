"""harness/tests/test_linux_paired.py — the Linux baseline's paired mode (capos.paired=N)."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capos import linux_baseline as lb  # noqa: E402

LINE = ("[smp-thread-scale] cpus=2 threads={w} blocks=8192 rounds=64 root=0x0000000000000002 spawn_ready=1 "
        "work=10 shutdown=1 total=12 verified=true")
DONE = "[linux-init] done status=ok"


def log(blocks: int) -> str:
    return "\n".join([LINE.format(w=w) for w in (1, 2, 2, 1) * blocks] + [DONE])


class PairedCmdline(unittest.TestCase):
    def test_option(self) -> None:
        c = lb.kernel_cmdline("process", 2, paired=3).split()
        self.assertIn("capos.paired=3", c)
        self.assertIn("capos.workers=2", c)
        self.assertNotIn("capos.paired=0", lb.kernel_cmdline("process", 2).split())
        self.assertFalse(any(p.startswith("capos.paired") for p in lb.kernel_cmdline("process", 2).split()))

    def test_rejects(self) -> None:
        with self.assertRaises(ValueError):
            lb.kernel_cmdline("all", 2, paired=2)
        with self.assertRaises(ValueError):
            lb.kernel_cmdline("thread", 2, paired=-1)


class PairedEvaluate(unittest.TestCase):
    def test_expects_four_lines_per_block(self) -> None:
        _, _, err = lb.evaluate(log(2), "thread", 1, paired=2)
        self.assertIsNone(err)
        _, _, err = lb.evaluate(log(1), "thread", 1, paired=2)
        self.assertIn("expected result lines", err or "")
        _, _, err = lb.evaluate(log(2), "thread", 1)  # not paired: one line expected
        self.assertIn("expected result lines", err or "")


if __name__ == "__main__":
    unittest.main()
