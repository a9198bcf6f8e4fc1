"""harness/tests/test_cpio.py — the pure-Python newc writer, checked by its reader and by cpio(1) if present."""
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capos import cpio  # noqa: E402

ENTRIES = [cpio.directory("bin"), cpio.directory("dev"), cpio.char_device("dev/console", 5, 1),
           cpio.regular("init", b"\x7fELF" + b"x" * 1001, 0o755), cpio.regular("bin/a", b"abc"),
           cpio.regular("bin/empty", b"")]


class Newc(unittest.TestCase):
    def test_layout(self) -> None:
        data = cpio.pack(ENTRIES)
        self.assertTrue(data.startswith(b"070701"))
        self.assertEqual(len(data) % 4, 0)
        self.assertIn(b"TRAILER!!!\0", data)

    def test_round_trip(self) -> None:
        back = cpio.read_members(cpio.pack(ENTRIES))
        self.assertEqual(back, ENTRIES)
        console = back[2]
        self.assertTrue(stat.S_ISCHR(console.mode))
        self.assertEqual((console.rdev_major, console.rdev_minor), (5, 1))

    def test_rejects_bad_names(self) -> None:
        with self.assertRaises(ValueError):
            cpio.pack([cpio.regular("/init", b"")])
        with self.assertRaises(ValueError):
            cpio.pack([cpio.regular("bin/x", b"")])  # directory missing
        with self.assertRaises(ValueError):
            cpio.pack([cpio.regular("x", b""), cpio.regular("x", b"")])

    @unittest.skipUnless(shutil.which("cpio"), "cpio(1) not installed")
    def test_system_cpio_reads_it(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            arc = cpio.write(Path(d) / "a.cpio", [e for e in ENTRIES if not stat.S_ISCHR(e.mode)])
            out = Path(d) / "x"
            out.mkdir()
            subprocess.run(["cpio", "-idm", "--quiet", "-F", str(arc)], cwd=out, check=True)
            self.assertEqual((out / "bin" / "a").read_bytes(), b"abc")
            self.assertEqual((out / "init").stat().st_size, 1005)
            self.assertTrue((out / "init").stat().st_mode & 0o111)


if __name__ == "__main__":
    unittest.main()
