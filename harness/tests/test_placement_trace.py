"""Tests of capos.placement_trace: the benchmark's --trace (cmdline, dump extraction, check, report)."""
from __future__ import annotations

import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from capos import placement_trace as pt

EMPTY_DUMP = "[strace] cpu 0 records=0 lost=0\n[strace] cpu 1 records=0 lost=0\n[strace] tsc_hz=2600000000\n"


def tool_path() -> Path | None:
    build = os.environ.get("CAPOS_BUILD_DIR")
    return Path(build) / "harness" / "replay" / "placement-tool" if build else None


def boot_log(records: str, policy: str = "fair-share", lost: int = 0) -> str:
    """A benchmark boot's log as the traced server and coordinator print it: the empty dump
    of the recording's start, the run, the run's dump, the coordinator's lines."""
    body = "".join(f"[strace] {ln}\n" for ln in records.splitlines() if ln.strip())
    n = sum(1 for ln in records.splitlines() if ln.strip())
    return ("[capos] boot ok cpus=2 mem=511\n" + EMPTY_DUMP
            + f"[placement] {policy} v1 serving epoch 1 on 2 cpus (deadline 650000 us: default for tcg, rings)\n"
            + "[smp-thread-scale] cpus=2 ...\n" + body
            + f"[strace] cpu 0 records={n} lost={lost}\n[strace] cpu 1 records=0 lost=0\n[strace] tsc_hz=2600000000\n"
            + f"[placement] {policy}: trace dumped in 40 ms\n[bench] placement trace: dumped\n"
            + "[utest] smp-bench 1 passed, 0 failed\n")


class Cmdline(unittest.TestCase):
    def test_adds_to_existing_placement_option(self) -> None:
        self.assertEqual(pt.cmdline_with_trace("manifest=thread-scale-fair-share placement=slice_ms=4"),
                         "manifest=thread-scale-fair-share placement=slice_ms=4,trace=1")

    def test_adds_the_option(self) -> None:
        self.assertEqual(pt.cmdline_with_trace("manifest=wakeup-pinning"), "manifest=wakeup-pinning placement=trace=1")


class Dumps(unittest.TestCase):
    def test_last_dump_with_records(self) -> None:
        log = boot_log("T 0 1000 E 2 5 10 4 1024 0\nT 0 2000 S 0 0 10 4 0 0")
        d = pt.last_dump(log)
        assert d is not None
        self.assertIn("[strace] T 0 1000 E", d)
        self.assertTrue(d.rstrip().endswith("[strace] tsc_hz=2600000000"))
        self.assertNotIn("smp-thread-scale", d)           # only [strace] lines
        self.assertEqual(d.count("records=0"), 1)         # cpu 1 of this dump, not the empty first dump

    def test_no_dump_with_records(self) -> None:
        self.assertIsNone(pt.last_dump("[capos] boot\n" + EMPTY_DUMP))
        # A dump cut off before its end line (the boot stopped mid-dump) does not count.
        self.assertIsNone(pt.last_dump(EMPTY_DUMP + "[strace] T 0 1000 E 2 5 10 4 1024 0\n"))

    def test_served_cpus(self) -> None:
        self.assertEqual(pt.served_cpus(boot_log("T 0 1 S 0 0 1 0 0 0", "pinning"), "pinning"), 2)
        self.assertIsNone(pt.served_cpus(boot_log("T 0 1 S 0 0 1 0 0 0", "pinning"), "fair-share"))


class SaveAndCheck(unittest.TestCase):
    def test_kernel_has_no_trace(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            r = pt.save_and_check(boot_log("T 0 1 S 0 0 1 0 0 0"), Path(d), "b1", "kernel", Path("/nonexistent"))
        self.assertIsNone(r.file)
        self.assertIn("no server", r.describe())

    def test_missing_dump_says_why(self) -> None:
        log = "[placement] fair-share v1 serving epoch 1 on 2 cpus\n[bench] placement trace: not recorded\n"
        with tempfile.TemporaryDirectory() as d:
            r = pt.save_and_check(log, Path(d), "b1", "fair-share", Path("/nonexistent"))
        self.assertIsNone(r.file)
        self.assertIn("not recorded", r.detail)

    def test_without_the_tool_the_dump_is_saved_unchecked(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            r = pt.save_and_check(boot_log("T 0 1000 E 2 5 10 4 1024 0", lost=3), Path(d), "b1", "fair-share",
                                  Path(d) / "no-tool")
            assert r.file is not None
            self.assertTrue(r.file.is_file())
            self.assertEqual((r.records, r.lost, r.replay, r.conformance), (1, 3, "-", "-"))
            self.assertIn("not checked", r.detail)

    def test_real_tool_replays_a_simulated_run(self) -> None:
        """A trace the simulator wrote for fair-share, inside a boot log: the tool replays it
        IDENTICAL under fair-share and DIFFERENT under pinning, and the table says so."""
        tool = tool_path()
        if tool is None or not tool.is_file():
            self.skipTest("CAPOS_BUILD_DIR with placement-tool not given (meson test sets it)")
        sim = subprocess.run([str(tool), "sim", "fair-share", "2", "3", "--work", "60"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        log = boot_log(sim)
        with tempfile.TemporaryDirectory() as d:
            same = pt.save_and_check(log, Path(d), "b1", "fair-share", tool)
            other = pt.save_and_check(log.replace("fair-share", "pinning"), Path(d), "b2", "pinning", tool)
            table = pt.markdown([("b1", "fair-share", same), ("b2", "pinning", other)])
            csv_text = pt.write_csv([("b1", "fair-share", same)], Path(d) / "traces.csv").read_text()
        self.assertEqual(same.replay, "IDENTICAL", same)
        self.assertEqual(other.replay, "DIFFERENT", other)
        self.assertIn(same.conformance, ("PASS", "FAIL"))
        self.assertIn("| b1 | fair-share |", table)
        self.assertIn("IDENTICAL", csv_text)


if __name__ == "__main__":
    unittest.main()
