"""Tests of hangdump.py: register/stack parsing, symbol lookup, and a real
dump of a boot that is still running when its timeout expires."""
from __future__ import annotations

import os
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from capos import hangdump, qemu  # noqa: E402

REGS = """RAX=0000000000000001 RBX=ffff800000123000 RCX=0000000000000000 RDX=0000000000000002
RSI=0000000000000000 RDI=ffff800000200000 RBP=0000000000000000 RSP=ffff800000345f00
R8 =0000000000000000 R9 =0000000000000000 R10=0000000000000000 R11=0000000000000000
RIP=ffffffff80101234 RFL=00000046 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
CR0=80010033 CR2=0000000000000000 CR3=0000000001234000 CR4=003506f0
"""
STACK = """ffff800000345f00: 0xffffffff80100010 0x0000000000000005
ffff800000345f10: 0xffffffff80102000 0xffffffff80fff000
"""


def fake_symbols() -> hangdump.Symbols:
    s = hangdump.Symbols(None)
    s.addrs = [0xFFFFFFFF80100000, 0xFFFFFFFF80101000, 0xFFFFFFFF80102000]
    s.sizes = [0, 0x300, 0x80]
    s.names = ["entry", "kern::sched::idle_loop()", "kern::sched::move_queued(kern::Thread&, unsigned int)"]
    return s


class Parsing(unittest.TestCase):
    def test_registers(self) -> None:
        r = hangdump.parse_regs(REGS)
        self.assertEqual(r["RIP"], 0xFFFFFFFF80101234)
        self.assertEqual(r["RSP"], 0xFFFF800000345F00)
        self.assertEqual(r["CR3"], 0x1234000)
        self.assertEqual(r["RFL"], 0x46)
        self.assertEqual(r["HLT"], 1)

    def test_stack_words(self) -> None:
        self.assertEqual(hangdump.parse_words(STACK),
                         [0xFFFFFFFF80100010, 5, 0xFFFFFFFF80102000, 0xFFFFFFFF80FFF000])

    def test_symbol_lookup_bounds(self) -> None:
        s = fake_symbols()
        self.assertEqual(s.name(0xFFFFFFFF80101234), "kern::sched::idle_loop()+0x234")
        self.assertIsNone(s.name(0xFFFFFFFF800FFFFF))           # below the first symbol
        self.assertIsNone(s.name(0xFFFFFFFF80FFF000))           # too far past the last one
        self.assertIsNone(s.name(0xFFFFFFFF80101300))           # just past a sized function's end
        self.assertEqual(s.name(0xFFFFFFFF80100FFF), "entry+0xfff")  # a bare label: up to a page

    def test_describe_names_the_function_and_guessed_callers(self) -> None:
        lines = hangdump.describe_cpu(3, REGS, STACK, fake_symbols())
        self.assertIn("cpu 3: rip=0xffffffff80101234 (kern::sched::idle_loop()+0x234)", lines[0])
        self.assertIn("if=off halted=1", lines[0])
        self.assertEqual(lines[1], "[hang-dump] cpu 3: maybe called from: entry+0x10 <- "
                                   "kern::sched::move_queued(kern::Thread&, unsigned int)+0x0")

    def test_user_rip(self) -> None:
        lines = hangdump.describe_cpu(0, REGS.replace("RIP=ffffffff80101234", "RIP=0000000000401000"), "",
                                      fake_symbols())
        self.assertIn("(user space)", lines[0])
        self.assertEqual(len(lines), 1)


BUILD = Path(os.environ.get("CAPOS_BUILD_DIR", "/nonexistent"))


@unittest.skipUnless((BUILD / "iso" / "capos.iso").exists() and (BUILD / "microkernel" / "capos.elf").exists(),
                     "needs CAPOS_BUILD_DIR with a built ISO")
class RealDump(unittest.TestCase):
    def test_timed_out_boot_gets_a_dump_per_vcpu(self) -> None:
        # The default manifest never exits: the timeout ends it, with a dump.
        with tempfile.TemporaryDirectory() as d:
            spec = qemu.QemuSpec(accel=qemu.TCG_MT, smp=2, iso=BUILD / "iso" / "capos.iso", cmdline="",
                                 log=Path(d) / "hang.log", timeout=4.0, symbols=BUILD / "microkernel" / "capos.elf")
            res = qemu.run(spec)
            self.assertTrue(res.timed_out)
            dump = [line for line in res.text.splitlines() if line.startswith("[hang-dump] cpu ")]
            cpus = {line.split()[2].rstrip(":") for line in dump}
            self.assertEqual(cpus, {"0", "1"}, res.text[-2000:])
            # Every vCPU is somewhere nameable: a kernel function or user space.
            first = [line for line in dump if " rip=" in line]
            self.assertTrue(all("(?)" not in line for line in first), first)
            self.assertFalse(Path(d, "hang.qmp").exists())


class SocketPath(unittest.TestCase):
    def test_short_log_path_keeps_the_socket_beside_it(self) -> None:
        spec = qemu.QemuSpec(accel=qemu.TCG_MT, log=Path("/tmp/x/boot.log"))
        self.assertEqual(qemu.qmp_socket(spec), Path("/tmp/x/boot.qmp"))

    def test_long_log_path_moves_the_socket_to_tmp(self) -> None:
        deep = Path("/tmp") / ("d" * 60) / ("e" * 60) / "boot.log"
        spec = qemu.QemuSpec(accel=qemu.TCG_MT, log=deep)
        sock = qemu.qmp_socket(spec)
        self.assertLess(len(str(sock)), 100)
        self.assertEqual(sock, qemu.qmp_socket(spec))  # stable: every user of it agrees
        other = qemu.QemuSpec(accel=qemu.TCG_MT, log=deep.with_name("other.log"))
        self.assertNotEqual(sock, qemu.qmp_socket(other))


if __name__ == "__main__":
    unittest.main()
