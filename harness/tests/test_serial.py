"""Tests of harness/capos/serial.py and the QEMU runner's pure helpers."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

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

    def test_machine_and_uefi(self) -> None:
        spec = qemu.QemuSpec(accel=qemu.TCG_MT, iso=Path("/x.iso"), log=Path("/tmp/l.log"))
        cmd = qemu.build_command(spec, "qemu-system-x86_64", None)
        self.assertEqual(cmd[cmd.index("-machine") + 1], "q35")
        self.assertNotIn("if=pflash", " ".join(cmd))
        spec = qemu.QemuSpec(accel=qemu.TCG_MT, iso=Path("/x.iso"), log=Path("/tmp/l.log"), machine="pc", uefi=True)
        with self.assertRaises(ValueError):  # a UEFI boot needs its own variable store
            qemu.build_command(spec, "qemu-system-x86_64", None)
        cmd = qemu.build_command(spec, "qemu-system-x86_64", None, Path("/tmp/vars.fd"))
        joined = " ".join(cmd)
        self.assertEqual(cmd[cmd.index("-machine") + 1], "pc")
        self.assertIn(f"if=pflash,format=raw,unit=0,readonly=on,file={qemu.OVMF_CODE}", joined)
        self.assertIn("if=pflash,format=raw,unit=1,file=/tmp/vars.fd", joined)
        self.assertIn("isa-debug-exit,iobase=0xf4", joined)

    def test_ovmf_vars_copy_is_private_and_writable(self) -> None:
        if not qemu.OVMF_VARS.exists():
            self.skipTest("ovmf not installed")
        with tempfile.TemporaryDirectory() as d:
            a, b = qemu.ovmf_vars_copy(Path(d)), qemu.ovmf_vars_copy(Path(d))
            self.assertNotEqual(a, b)
            self.assertEqual(a.read_bytes(), qemu.OVMF_VARS.read_bytes())
            self.assertTrue(os.access(a, os.W_OK))

    def test_log_read_in_pieces_is_a_prefix_of_the_whole(self) -> None:
        data = "[capos] ok\r\nµs \u2588 done\r\n".encode()
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "s.log"
            path.write_bytes(b"")
            log = qemu._Log(path)
            whole = data.decode().replace("\r\n", "\n")
            # Cut inside the CR LF and inside multi-byte characters.
            cuts = [data.index(b"\r") + 1, data.index("µ".encode()) + 1, data.index("\u2588".encode()) + 2, len(data)]
            prev = 0
            for cut in cuts:
                with path.open("ab") as f:
                    f.write(data[prev:cut])
                prev = cut
                self.assertTrue(log.update())
                self.assertTrue(whole.startswith(log.text), (log.text, whole))
                self.assertNotIn("\ufffd", log.text)
            self.assertEqual(log.text, whole)
            self.assertFalse(log.update())
            log.close()

    def test_file_watch_wakes_on_a_write(self) -> None:
        import threading

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "s.log"
            path.write_bytes(b"")
            w = qemu._FileWatch(path)
            try:
                t0 = time.monotonic()
                w.wait(0.1)                     # nothing written: the timeout ends it
                self.assertGreaterEqual(time.monotonic() - t0, 0.09)
                timer = threading.Timer(0.05, lambda: path.write_text("x\n"))
                timer.start()
                t0 = time.monotonic()
                w.wait(5.0)
                self.assertLess(time.monotonic() - t0, 2.0)
                timer.join()
            finally:
                w.close()

    def test_processes_found_from_proc_without_procps(self) -> None:
        marker = f"capos-marker-{os.getpid()}-{time.monotonic_ns()}"
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", marker])
        try:
            # Popen returns once the child's close-on-exec pipe closes, which
            # Linux does before the new image's argument area is set up: for
            # a moment /proc/<pid>/cmdline is empty. Wait (bounded) for it.
            cmdline = Path(f"/proc/{child.pid}/cmdline")
            deadline = time.monotonic() + 10.0
            while marker.encode() not in cmdline.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(qemu.processes_with_arg(marker), [child.pid])
        finally:
            child.kill()
            child.wait()
        self.assertEqual(qemu.processes_with_arg(marker), [])

    def test_tail(self) -> None:
        text = "\n".join(str(i) for i in range(100))
        self.assertEqual(qemu.tail(text, 3), "97\n98\n99")


class AccelCacheTest(unittest.TestCase):
    """detect_accel caches only what a KVM probe said, keyed by what the probe depends on."""

    KEY = {"qemu": "QEMU emulator version 10.0.2", "kernel": "6.1.0 #1", "host": "m1", "cpu": "x", "kvm": "10:232"}

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.build = Path(self.tmp.name)
        self.iso = self.build / "capos.iso"
        self.iso.write_bytes(b"iso")
        self.probes: list[Path] = []
        self.probe_answer = True
        self.key = dict(self.KEY)
        env = {k: v for k, v in os.environ.items() if k != "CAPOS_ACCEL"}
        for p in (mock.patch.dict(os.environ, env, clear=True),
                  mock.patch.object(qemu, "find_qemu", return_value="qemu-system-x86_64"),
                  mock.patch.object(qemu, "qemu_version", return_value=self.KEY["qemu"]),
                  mock.patch.object(qemu, "accel_cache_key", side_effect=lambda v: dict(self.key)),
                  mock.patch.object(qemu, "_kvm_usable", side_effect=lambda: self.kvm_usable),
                  mock.patch.object(qemu, "probe_kvm", side_effect=self._probe)):
            p.start()
            self.addCleanup(p.stop)
        self.kvm_usable = True

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def _probe(self, build_dir: Path, iso: Path) -> tuple[bool, str]:
        self.probes.append(iso)
        return self.probe_answer, "fake probe"

    def cache(self) -> Path:
        return self.build / "accel.json"

    def test_no_iso_is_not_cached_and_a_later_probe_decides(self) -> None:
        acc = qemu.detect_accel(self.build)
        self.assertEqual(acc.name, "tcg-mt")
        self.assertIn("no ISO", acc.reason)
        self.assertFalse(self.cache().exists())
        self.assertEqual(qemu.detect_accel(self.build, self.iso).name, "kvm")
        self.assertEqual(self.probes, [self.iso])
        # Now cached: neither a call with the ISO nor one without probes again.
        self.assertEqual(qemu.detect_accel(self.build, self.iso).name, "kvm")
        acc = qemu.detect_accel(self.build)
        self.assertEqual(acc.name, "kvm")
        self.assertIn("cached", acc.reason)
        self.assertEqual(len(self.probes), 1)

    def test_a_failed_probe_is_cached_too(self) -> None:
        self.probe_answer = False
        self.assertEqual(qemu.detect_accel(self.build, self.iso).name, "tcg-mt")
        self.assertEqual(qemu.detect_accel(self.build, self.iso).name, "tcg-mt")
        self.assertEqual(len(self.probes), 1)

    def test_any_change_of_the_key_probes_again(self) -> None:
        qemu.detect_accel(self.build, self.iso)
        for field_name in self.KEY:
            self.key[field_name] += " changed"
            qemu.detect_accel(self.build, self.iso)
        self.assertEqual(len(self.probes), 1 + len(self.KEY))

    def test_an_old_unkeyed_cache_is_ignored(self) -> None:
        self.cache().write_text(json.dumps({"qemu": self.KEY["qemu"], "accel": "tcg-mt",
                                            "reason": "no ISO to probe KVM with"}))
        self.assertEqual(qemu.detect_accel(self.build, self.iso).name, "kvm")
        self.assertEqual(len(self.probes), 1)
        self.assertEqual(json.loads(self.cache().read_text())["key"], self.KEY)

    def test_without_kvm_nothing_is_probed_or_cached(self) -> None:
        self.kvm_usable = False
        acc = qemu.detect_accel(self.build, self.iso)
        self.assertEqual(acc.name, "tcg-mt")
        self.assertEqual(self.probes, [])
        self.assertFalse(self.cache().exists())

    def test_forced_accelerator(self) -> None:
        with mock.patch.dict(os.environ, {"CAPOS_ACCEL": "tcg"}):
            self.assertEqual(qemu.detect_accel(self.build, self.iso).name, "tcg")
        self.assertEqual(self.probes, [])


class BootArgsTest(unittest.TestCase):
    """harness/run boot [--smp N] [--memory M] [--cpu C] [kernel options...] (harness/boot.py)."""

    def test_words_are_the_kernel_command_line(self) -> None:
        import boot

        a = boot.parse_args(["test=paging"])
        self.assertEqual((a.cmdline, a.smp, a.memory, a.cpu), ("test=paging", "2", "512M", None))
        a = boot.parse_args(["--smp", "4", "test=paging", "--memory", "2G", "quiet", "--cpu", "max,x2apic=off"])
        self.assertEqual((a.cmdline, a.smp, a.memory, a.cpu), ("test=paging quiet", "4", "2G", "max,x2apic=off"))
        self.assertEqual(boot.parse_args([]).cmdline, "")
        self.assertEqual(boot.parse_args(["--cmdline", "test=boot"]).cmdline, "test=boot")
        with mock.patch("sys.stderr", io.StringIO()), self.assertRaises(SystemExit):
            boot.parse_args(["--cmdline", "test=boot", "quiet"])
        a = boot.parse_args(["test=boot"])
        self.assertEqual((a.machine, a.uefi), ("q35", False))
        a = boot.parse_args(["--machine", "pc", "test=boot", "--uefi"])
        self.assertEqual((a.cmdline, a.machine, a.uefi), ("test=boot", "pc", True))
        self.assertIsNone(a.until)
        a = boot.parse_args(["manifest=placement-swap", "--until", "system up"])
        self.assertEqual((a.cmdline, a.until), ("manifest=placement-swap", "system up"))


class AccelCacheKeyTest(unittest.TestCase):
    def test_key_has_every_part(self) -> None:
        key = qemu.accel_cache_key("QEMU emulator version 10.0.2")
        self.assertEqual(set(key), {"qemu", "kernel", "host", "cpu", "kvm"})
        self.assertEqual(key["qemu"], "QEMU emulator version 10.0.2")
        self.assertIn(os.uname().release, key["kernel"])
        self.assertTrue(key["host"])
        self.assertEqual(key["kvm"] == "absent", not os.path.exists("/dev/kvm"))


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
