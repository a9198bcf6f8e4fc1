"""harness/tests/test_linux_baseline.py — initramfs contents, kernel command line, log evaluation."""
import stat
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capos import cpio, linux_baseline as lb  # noqa: E402

PROC = ("[smp-process-scale] cpus=2 workers=2 range=2..300000 primes=25997 checksum=0x0000000000000001 "
        "elapsed=100 verified=true")
THREAD = ("[smp-thread-scale] cpus=2 threads=2 blocks=8192 rounds=64 root=0x0000000000000002 spawn_ready=1 "
          "work=10 shutdown=1 total=12 verified=true")
ENV = "[smp-env] os=linux cpus=2 tsc_hz=2500000000 cycle_source=rdtsc"
DONE = "[linux-init] done status=ok"


class Initramfs(unittest.TestCase):
    def test_contents(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            files = []
            for name in ("init", "p", "t"):
                f = Path(d) / name
                f.write_bytes(name.encode() * 10)
                files.append(f)
            out = lb.pack_initramfs(lb.Programs(*files), Path(d) / "x.cpio")
            members = {e.name: e for e in cpio.read_members(out.read_bytes())}
            self.assertEqual(members["init"].data, b"init" * 10)
            self.assertEqual(members["bin/smp-process-scale"].data, b"p" * 10)
            self.assertEqual(members["bin/smp-thread-scale"].data, b"t" * 10)
            self.assertTrue(members["init"].mode & 0o100)
            self.assertTrue(stat.S_ISCHR(members["dev/console"].mode))
            self.assertEqual((members["dev/console"].rdev_major, members["dev/console"].rdev_minor), (5, 1))
            self.assertIn("proc", members)

    def test_missing_programs_named(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(FileNotFoundError) as cm:
                lb.Programs.from_build(Path(d))
            self.assertIn("smp-process-scale", str(cm.exception))


class Cmdline(unittest.TestCase):
    def test_fields(self) -> None:
        c = lb.kernel_cmdline("thread", 4, runs=3, blocks=1024)
        self.assertIn("console=ttyS0", c)
        self.assertIn("panic=-1", c)
        for part in ("capos.bench=thread", "capos.workers=4", "capos.runs=3", "capos.blocks=1024"):
            self.assertIn(part, c.split())
        self.assertNotIn("capos.hi", c)

    def test_rejects(self) -> None:
        with self.assertRaises(ValueError):
            lb.kernel_cmdline("bogus", 1)
        with self.assertRaises(ValueError):
            lb.kernel_cmdline("all", 0)


class Evaluate(unittest.TestCase):
    def test_ok(self) -> None:
        recs, status, err = lb.evaluate("\n".join([ENV, PROC, THREAD, DONE]), "all", 1)
        self.assertIsNone(err)
        self.assertEqual(status, "ok")
        self.assertEqual(len(recs), 3)

    def test_missing_result(self) -> None:
        _, _, err = lb.evaluate("\n".join([ENV, PROC, DONE]), "all", 1)
        self.assertIn("expected result lines", err or "")
        _, _, err = lb.evaluate("\n".join([ENV, PROC, DONE]), "process", 2)
        self.assertIn("expected result lines", err or "")

    def test_unverified(self) -> None:
        _, _, err = lb.evaluate("\n".join([PROC.replace("verified=true", "verified=false"), DONE]), "process", 1)
        self.assertIn("unverified", err or "")

    def test_malformed(self) -> None:
        _, _, err = lb.evaluate("\n".join([PROC.replace("elapsed=100", "elapsed="), DONE]), "process", 1)
        self.assertIn("malformed", err or "")

    def test_init_failure_and_timeout(self) -> None:
        _, status, err = lb.evaluate("\n".join([PROC, "[linux-init] done status=fail"]), "process", 1)
        self.assertEqual(status, "fail")
        self.assertIn("fail", err or "")
        _, status, err = lb.evaluate(PROC, "process", 1, timed_out=True)
        self.assertIsNone(status)
        self.assertIn("timed out", err or "")

    def test_done_marker(self) -> None:
        self.assertEqual(lb.done_marker("x\n" + DONE + "\n"), "ok")
        self.assertIsNone(lb.done_marker("x"))


class ForeignLoad(unittest.TestCase):
    def test_guest_alone_is_not_foreign(self) -> None:
        # 2 host CPUs, 10 s: the guest's 2 vCPUs kept both busy.
        self.assertAlmostEqual(lb.foreign_load((0, 0), (2000, 2000), smp=2, host_cpus=2), 0.0)
        # 1 vCPU guest using one of two CPUs.
        self.assertAlmostEqual(lb.foreign_load((0, 0), (1000, 2000), smp=1, host_cpus=2), 0.0)

    def test_other_work_is_foreign(self) -> None:
        self.assertAlmostEqual(lb.foreign_load((0, 0), (2000, 2000), smp=1, host_cpus=2), 1.0)
        self.assertAlmostEqual(lb.foreign_load((100, 100), (1600, 2100), smp=1, host_cpus=2), 0.5)

    def test_no_time_elapsed(self) -> None:
        self.assertEqual(lb.foreign_load((5, 5), (5, 5), smp=1, host_cpus=2), 0.0)

    def test_reads_proc_stat(self) -> None:
        busy, total = lb.host_cpu_jiffies()
        self.assertGreaterEqual(total, busy)
        self.assertGreaterEqual(busy, 0)


class Kernel(unittest.TestCase):
    def test_explicit_missing(self) -> None:
        with self.assertRaises(FileNotFoundError):
            lb.find_kernel(Path("/nonexistent/vmlinuz"))

    @unittest.skipUnless(list(Path("/boot").glob("vmlinuz-*")), "no Debian kernel installed")
    def test_finds_debian_kernel(self) -> None:
        self.assertTrue(lb.find_kernel().name.startswith("vmlinuz-"))


if __name__ == "__main__":
    unittest.main()
