"""Tests of iso/mkiso.py's boot-module limit: the ISO build refuses more modules than the kernel takes."""
from __future__ import annotations

import importlib.util
import io
import sys
import unittest
from contextlib import redirect_stderr
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mkiso", ROOT / "iso" / "mkiso.py")
assert _spec is not None and _spec.loader is not None
mkiso = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mkiso)


class ModuleLimitTest(unittest.TestCase):
    def test_reads_the_kernel_header(self) -> None:
        text = (ROOT / "microkernel" / "boot" / "boot_info.h").read_text()
        self.assertGreaterEqual(mkiso.module_limit(text), 128)

    def test_missing_constant_is_an_error(self) -> None:
        with self.assertRaises(ValueError):
            mkiso.module_limit("inline constexpr size_t kOther = 5;")

    def test_too_many_modules_fail_before_anything_is_built(self) -> None:
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            h = Path(d) / "boot_info.h"
            h.write_text("inline constexpr size_t kMaxBootModules = 2;\n")
            argv = ["mkiso.py", "--kernel", "k", "--grub-cfg", "g", "--limit-header", str(h), "-o", "x.iso",
                    "--module", "a", "--module", "b", "--module", "c"]
            err = io.StringIO()
            with mock.patch.object(sys, "argv", argv), redirect_stderr(err), \
                    mock.patch.object(mkiso.shutil, "which", side_effect=AssertionError("must not get this far")):
                self.assertEqual(mkiso.main(), 1)
            self.assertIn("3 boot modules, but the kernel takes at most 2", err.getvalue())


class PlatformTest(unittest.TestCase):
    def test_a_missing_grub_platform_fails_the_build(self) -> None:
        # Without grub-efi-amd64-bin grub-mkrescue would make a BIOS-only ISO.
        argv = ["mkiso.py", "--kernel", "k", "--grub-cfg", "g", "-o", "x.iso"]
        err = io.StringIO()
        with mock.patch.object(sys, "argv", argv), redirect_stderr(err), \
                mock.patch.object(mkiso.shutil, "which", return_value="/usr/bin/grub-mkrescue"), \
                mock.patch.object(mkiso, "GRUB_PLATFORMS", ("/usr/lib/grub/i386-pc", "/nonexistent/x86_64-efi")), \
                mock.patch.object(mkiso.subprocess, "run", side_effect=AssertionError("must not get this far")):
            self.assertEqual(mkiso.main(), 1)
        self.assertIn("/nonexistent/x86_64-efi not found", err.getvalue())
        self.assertIn("grub-efi-amd64-bin", err.getvalue())


if __name__ == "__main__":
    unittest.main()
