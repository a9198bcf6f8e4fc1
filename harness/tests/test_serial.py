"""Tests of harness/capos/serial.py and the QEMU runner's pure helpers."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
from pathlib import Path

from capos import qemu, serial

LOG = """\x1b[H\x1b[J  Booting `capOS'
[capos] capOS kernel starting
[capos] cpu 0 apic 0 online (boot cpu)
[capos] boot ok cpus=4 mem=2047
[ktest] paging START
[ktest] paging PASS
[ktest] frames FAIL: free count not restored
"""


class SerialTest(unittest.TestCase):
    def test_boot_line(self) -> None:
        b = serial.find_boot_line(LOG)
        self.assertIsNotNone(b)
        assert b is not None
        self.assertEqual((b.cpus, b.mem_mib), (4, 2047))

    def test_boot_line_must_be_whole(self) -> None:
        self.assertIsNone(serial.find_boot_line("[capos] boot ok cpus=x mem=1\n"))
        self.assertIsNone(serial.find_boot_line("[capos] boot ok cpus=2\n"))
        self.assertIsNone(serial.find_boot_line("junk [capos] boot ok cpus=2 mem=3\n"))

    def test_verdicts(self) -> None:
        v = serial.find_verdict(LOG, "paging")
        assert v is not None
        self.assertTrue(v.passed)
        f = serial.find_verdict(LOG, "frames")
        assert f is not None
        self.assertFalse(f.passed)
        self.assertEqual(f.reason, "free count not restored")
        self.assertIsNone(serial.find_verdict(LOG, "kheap"))

    def test_panic(self) -> None:
        self.assertIsNone(serial.find_panic(LOG))
        self.assertIn("PANIC", serial.find_panic(LOG + "[capos] PANIC: assertion failed\n") or "")
        self.assertIn("EXCEPTION", serial.find_panic("[capos] EXCEPTION vector=14 (#PF)\n") or "")


class QemuHelpersTest(unittest.TestCase):
    def test_config_disk_holds_cmdline(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            disk = qemu.make_config_disk("test=paging quiet", Path(d))
            data = disk.read_bytes()
            self.assertEqual(len(data) % 512, 0)
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                member = tar.extractfile("capos.cfg")
                assert member is not None
                self.assertEqual(member.read().decode(), 'set capos_cmdline="test=paging quiet"\n')

    def test_config_disk_refuses_grub_syntax(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            for bad in ('a"b', "a\nb", "$x"):
                with self.assertRaises(ValueError):
                    qemu.make_config_disk(bad, Path(d))

    def test_command_line(self) -> None:
        spec = qemu.QemuSpec(accel=qemu.TCG_MT, smp="2,maxcpus=4", memory="2G", cpu="max,x2apic=off",
                             iso=Path("/x.iso"), log=Path("/tmp/l.log"))
        cmd = qemu.build_command(spec, "qemu-system-x86_64", None)
        joined = " ".join(cmd)
        self.assertIn("-smp 2,maxcpus=4", joined)
        self.assertIn("-accel tcg,thread=multi", joined)
        self.assertIn("isa-debug-exit,iobase=0xf4", joined)
        self.assertIn("-no-reboot", cmd)

    def test_processes_found_from_proc_without_procps(self) -> None:
        marker = f"capos-marker-{os.getpid()}-{time.monotonic_ns()}"
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", marker])
        try:
            self.assertEqual(qemu.processes_with_arg(marker), [child.pid])
        finally:
            child.kill()
            child.wait()
        self.assertEqual(qemu.processes_with_arg(marker), [])

    def test_tail(self) -> None:
        text = "\n".join(str(i) for i in range(100))
        self.assertEqual(qemu.tail(text, 3), "97\n98\n99")


@unittest.skipUnless(os.environ.get("CAPOS_BUILD_DIR") and
                     Path(os.environ.get("CAPOS_BUILD_DIR", "/nonexistent"), "iso", "capos.iso").exists(),
                     "needs CAPOS_BUILD_DIR with a built ISO")
class NoStrayQemuTest(unittest.TestCase):
    """A boot test killed by its runner (SIGTERM on timeout, or SIGKILL) leaves no QEMU behind."""

    def _run_and_kill(self, sig: int) -> None:
        build = Path(os.environ["CAPOS_BUILD_DIR"])
        name = f"stray-{sig}-{os.getpid()}"
        harness = Path(__file__).resolve().parent.parent
        proc = subprocess.Popen([sys.executable, str(harness / "boottest.py"), "--iso", str(build / "iso" / "capos.iso"),
                                 "--build-dir", str(build), "--name", name, "--accel", "tcg-mt",
                                 "--exit", "none", "--until", "never-printed", "--timeout", "120"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = str(build / "test-logs" / f"{name}.log")

        def qemu_alive() -> bool:
            return bool(qemu.processes_with_arg(log))

        deadline = time.monotonic() + 30
        while not qemu_alive():
            self.assertLess(time.monotonic(), deadline, "QEMU never started")
            time.sleep(0.1)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while qemu_alive():
            self.assertLess(time.monotonic(), deadline, f"QEMU still running after signal {sig}")
            time.sleep(0.1)

    def test_sigterm(self) -> None:
        self._run_and_kill(signal.SIGTERM)

    def test_sigkill(self) -> None:
        self._run_and_kill(signal.SIGKILL)


if __name__ == "__main__":
    unittest.main()
