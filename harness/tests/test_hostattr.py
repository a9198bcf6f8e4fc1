"""Tests of capos.hostattr (host-side attribution windows) and of qemu.run's
window recording: parsing, arithmetic, a fake QEMU that serves QMP and
prints window markers, and one real short boot."""
from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from capos import hostattr, qemu  # noqa: E402

# `info jit` of QEMU 10.0.2 (multi-threaded TCG), captured on the project's
# machine about 4 s into a capOS -smp 2 boot.
INFO_JIT = """\
Accelerator settings:
one-insn-per-tb: off

Translation buffer state:
gen code size       9087939/1073659904
TB count            15191
TB avg target size  15 max=547 bytes
TB avg host size    357 bytes (expansion ratio: 22.4)
cross page TB count 23 (0%)
direct jump count   8276 (54%) (2 jumps=6335 41%)
TB hash buckets     5980/8192 (73.00% head buckets used)
TB hash occupancy   32.34% avg chain occ. Histogram: [0,10)%|\u2586\u2581\u2588\u2581 \u2585\u2581\u2583\u2581\u2581|[90,100]%
TB hash avg chain   1.018 buckets. Histogram: 1|\u2588\u2581|2

Statistics:
TB flush count      0
TB invalidate count 4316
TLB full flushes    0
TLB partial flushes 31819
TLB elided flushes  483669
[TCG profiler not compiled]
"""

TASK_STAT = ("4176 (CPU 1/TCG) S 1 4170 4170 0 -1 4194368 0 0 0 0 731 12 0 0 20 0 9 0 60149 "
             "3133440 418 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 -1 1 0 0 0 0 0")
HZ = os.sysconf("SC_CLK_TCK")


class Parsing(unittest.TestCase):
    def test_task_stat_fields_after_a_name_with_spaces_and_parens(self) -> None:
        self.assertEqual(hostattr.parse_task_stat(TASK_STAT), (731, 12))
        odd = TASK_STAT.replace("(CPU 1/TCG)", "(a) b) (c)")
        self.assertEqual(hostattr.parse_task_stat(odd), (731, 12))
        with self.assertRaises(ValueError):
            hostattr.parse_task_stat("12 (x) S 1 2")
        with self.assertRaises(ValueError):
            hostattr.parse_task_stat("no name here")

    def test_schedstat(self) -> None:
        self.assertEqual(hostattr.parse_schedstat("35662668 5648396 88\n"), (35662668, 5648396, 88))
        with self.assertRaises(ValueError):
            hostattr.parse_schedstat("12 34")

    def test_online_cpus(self) -> None:
        stat = "cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\ncpu1 0 1 2 3 4 5 6 7 0 0\nintr 5\n"
        self.assertEqual(hostattr.online_cpus(stat), 2)

    def test_info_jit_of_qemu_10(self) -> None:
        jit = hostattr.parse_info_jit(INFO_JIT)
        self.assertEqual(jit["tb_flush_count"], 0)
        self.assertEqual(jit["tb_invalidate_count"], 4316)
        self.assertEqual(jit["tlb_full_flushes"], 0)
        self.assertEqual(jit["tlb_partial_flushes"], 31819)
        self.assertEqual(jit["tlb_elided_flushes"], 483669)
        self.assertEqual(jit["tb_count"], 15191)
        self.assertEqual(jit["cross_page_tb_count"], 23)   # one space after a long name
        self.assertEqual((jit["gen_code_size"], jit["gen_code_size_total"]), (9087939, 1073659904))
        self.assertEqual(jit["tb_avg_target_size_max"], 547)
        self.assertEqual(jit["direct_jump_count_2_jumps"], 6335)
        self.assertEqual((jit["tb_hash_buckets"], jit["tb_hash_buckets_total"]), (5980, 8192))
        # Fractions and percentages are not integers; settings are not counters.
        for absent in ("tb_hash_occupancy", "tb_hash_avg_chain", "one_insn_per_tb"):
            self.assertNotIn(absent, jit)
        for key in hostattr.CUMULATIVE_TCG:
            self.assertIn(key, jit)

    def test_info_jit_without_tcg_is_empty(self) -> None:
        # KVM: HMP prints the error of x-query-jit.
        self.assertEqual(hostattr.parse_info_jit("Error: JIT information is only available with accel=tcg\r\n"), {})
        self.assertEqual(hostattr.parse_info_jit("{'class': 'GenericError', 'desc': 'x'}"), {})

    def test_markers(self) -> None:
        self.assertEqual(hostattr.parse_marker("[bench-window] begin process-2\r"), ("begin", "process-2"))
        self.assertEqual(hostattr.parse_marker("[bench-window] end t1"), ("end", "t1"))
        self.assertEqual(hostattr.parse_marker("[  1.2] x[bench-window] begin a"), ("begin", "a"))
        self.assertIsNone(hostattr.parse_marker("[bench-window] begin"))
        self.assertIsNone(hostattr.parse_marker("[bench-window] begin a b"))
        self.assertIsNone(hostattr.parse_marker("[bench-window] start a"))


def sample(t: float, busy: int, qemu_ticks: int | None, own: float, vcpu: dict[int, float],
           wait: dict[int, float] | None = None, tcg: dict[str, int] | None = None, cpus: int = 2,
           expected: int | None = None) -> hostattr.Sample:
    return hostattr.Sample(t=t, host_busy_ticks=busy, host_cpus=cpus, qemu_ticks=qemu_ticks, own_cpu_s=own,
                           vcpu_cpu_s=vcpu, vcpu_wait_s=wait or {}, tcg=tcg,
                           expected_vcpus=len(vcpu) if expected is None else expected)


class Arithmetic(unittest.TestCase):
    def test_window_deltas_and_other_host_work(self) -> None:
        a = sample(10.0, 1000, 500, 1.0, {0: 5.0, 1: 6.0}, {0: 0.1, 1: 0.2},
                   {"tb_flush_count": 1, "tlb_full_flushes": 10, "tb_count": 900})
        # 10 s of wall on 2 CPUs: host busy 19 s, of which QEMU 17 s and the harness 0.5 s.
        b = sample(20.0, 1000 + 19 * 100, 500 + 17 * 100, 1.5, {0: 13.0, 1: 14.5}, {0: 0.4, 1: 0.2},
                   {"tb_flush_count": 1, "tlb_full_flushes": 25, "tb_count": 800, "new_only": 3})
        w = hostattr.make_window("work", a, b, hz=100)
        self.assertAlmostEqual(w.wall_s, 10.0)
        self.assertEqual(w.vcpu_cpu_s, {0: 8.0, 1: 8.5})
        self.assertEqual({k: round(v, 6) for k, v in w.vcpu_wait_s.items()}, {0: 0.3, 1: 0.0})
        self.assertAlmostEqual(w.qemu_cpu_s, 17.0)
        self.assertAlmostEqual(w.harness_cpu_s, 0.5)
        self.assertAlmostEqual(w.other_host_s, 1.5)
        self.assertAlmostEqual(w.other_host_frac, 1.5 / 20.0)
        self.assertEqual(w.tcg, {"tb_flush_count": 0, "tlb_full_flushes": 15, "tb_count": -100})
        self.assertAlmostEqual(w.min_vcpu_share or 0, 0.8)
        line = w.describe()
        for part in ("work", "wall 10.00s", "vcpu 8.00/8.50s (min 80.0%)", "qemu 17.00s", "other host 7.5%",
                     "tlb-full=15"):
            self.assertIn(part, line)
        self.assertNotIn("\n", line)

    def test_negative_other_work_is_clamped_in_the_fraction(self) -> None:
        a = sample(0.0, 0, 0, 0.0, {})
        b = sample(1.0, 100, 120, 0.0, {})   # tick rounding: QEMU above the host's busy time
        w = hostattr.make_window("x", a, b, hz=100)
        self.assertAlmostEqual(w.other_host_s, -0.2)
        self.assertEqual(w.other_host_frac, 0.0)
        self.assertIsNone(w.min_vcpu_share)
        self.assertEqual(w.tcg, {})

    def test_missing_qemu_or_vcpu_figures(self) -> None:
        a = sample(0.0, 0, None, 0.0, {0: 1.0, 1: 1.0})
        b = sample(2.0, 400, 150, 0.0, {0: 2.5}, expected=2)
        w = hostattr.make_window("x", a, b, hz=100)
        self.assertEqual(w.qemu_cpu_s, 0.0)
        self.assertEqual(w.vcpu_cpu_s, {0: 1.5})
        self.assertFalse(a.complete)                      # no QEMU figure
        self.assertFalse(b.complete)                      # a vCPU thread missing


class FakeProc:
    """A /proc tree in a temporary directory with one QEMU pid and its threads."""

    def __init__(self, root: Path, pid: int, tids: list[int], schedstat: bool) -> None:
        self.root, self.pid, self.tids, self.schedstat = root, pid, tids, schedstat
        (root / str(pid)).mkdir(parents=True)
        for tid in tids:
            (root / str(pid) / "task" / str(tid)).mkdir(parents=True)

    def set(self, busy: int, qemu_ticks: int, per_thread: dict[int, tuple[int, int]]) -> None:
        """per_thread: tid -> (run ns or ticks, wait ns)."""
        (self.root / "stat").write_text(f"cpu  {busy} 0 0 5000 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n"
                                        f"cpu1 0 0 0 0 0 0 0 0 0 0\n")
        (self.root / str(self.pid) / "stat").write_text(TASK_STAT.replace("731 12", f"{qemu_ticks} 0"))
        for tid, (run, wait) in per_thread.items():
            d = self.root / str(self.pid) / "task" / str(tid)
            if self.schedstat:
                (d / "schedstat").write_text(f"{run} {wait} 7\n")
            (d / "stat").write_text(TASK_STAT.replace("731 12", f"{run if not self.schedstat else 0} 0"))


class Sampling(unittest.TestCase):
    def test_schedstat_is_preferred_and_jit_is_asked_after_proc(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            fp = FakeProc(Path(d), 70, [71, 72], schedstat=True)
            fp.set(100, 10, {71: (2_000_000_000, 5_000_000), 72: (500_000_000, 0)})
            order: list[str] = []
            clock = mock.Mock(side_effect=lambda: order.append("clock") or 3.0)

            def hmp(cmd: str) -> str:
                order.append(cmd)
                return INFO_JIT

            s = hostattr.Sampler(70, {0: 71, 1: 72}, hmp, proc=Path(d), clock=clock, own_cpu=lambda: 0.0).sample()
            self.assertEqual(s.vcpu_cpu_s, {0: 2.0, 1: 0.5})
            self.assertEqual(s.vcpu_wait_s, {0: 0.005, 1: 0.0})
            self.assertEqual((s.host_busy_ticks, s.host_cpus, s.qemu_ticks), (100, 2, 10))
            self.assertEqual(order, ["clock", "info jit"])
            self.assertEqual(s.tcg and s.tcg["tb_invalidate_count"], 4316)
            self.assertTrue(s.complete)

    def test_stat_ticks_without_schedstat(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            fp = FakeProc(Path(d), 70, [71], schedstat=False)
            fp.set(100, 10, {71: (3 * HZ, 0)})
            s = hostattr.Sampler(70, {0: 71}, proc=Path(d)).sample()
            self.assertEqual(s.vcpu_cpu_s, {0: 3.0})
            self.assertEqual(s.vcpu_wait_s, {})
            self.assertEqual(s.tcg, {})

    def test_shared_thread_counted_once_and_gone_threads_leave_the_sample_incomplete(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            fp = FakeProc(Path(d), 70, [71], schedstat=True)
            fp.set(100, 10, {71: (1_000_000_000, 0)})
            sm = hostattr.Sampler(70, {0: 71, 1: 71, 2: 99}, proc=Path(d))
            self.assertEqual(sm.threads, {0: 71, 2: 99})
            s = sm.sample(jit=False)
            self.assertEqual(s.vcpu_cpu_s, {0: 1.0})
            self.assertIsNone(s.tcg)
            self.assertFalse(s.complete)

    def test_a_failing_monitor_is_not_asked_again(self) -> None:
        calls: list[str] = []

        def hmp(cmd: str) -> str:
            calls.append(cmd)
            raise TimeoutError("no answer")

        with tempfile.TemporaryDirectory() as d:
            sm = hostattr.Sampler(70, {}, hmp, proc=Path(d))
            self.assertEqual(sm.sample().tcg, {})
            self.assertEqual(sm.sample().tcg, {})
            self.assertEqual(calls, ["info jit"])


class ScriptedSampler(hostattr.Sampler):
    """Each sample() advances a fake clock by 1 s and every counter by fixed steps."""

    def __init__(self) -> None:
        super().__init__(1, {0: 10, 1: 11})
        self.hz = 100
        self.n = 0
        self.jit_calls = 0

    def sample(self, jit: bool = True) -> hostattr.Sample:
        self.n += 1
        tcg = None
        if jit:
            self.jit_calls += 1
            tcg = {"tb_flush_count": self.jit_calls}
        return sample(float(self.n), 150 * self.n, 140 * self.n, 0.0,
                      {0: 0.7 * self.n, 1: 0.6 * self.n}, tcg=tcg)


class Markers(unittest.TestCase):
    def test_windows_from_a_serial_stream(self) -> None:
        sm = ScriptedSampler()
        seen: list[str] = []
        rec = hostattr.Recorder(sm, report=lambda w: seen.append(w.label))
        sm.clock = lambda: float(sm.n)
        rec.start()                                       # sample 1
        text = "[capos] boot ok cpus=2 mem=255\n[bench-window] beg"
        rec.feed(text)                                    # an incomplete line is not a marker yet
        self.assertEqual(sm.n, 1)
        text += "in one\n[bench-window] end stray\n"       # sample 2 (begin), 3 (end without begin)
        rec.feed(text)
        rec.feed(text)                                    # the same lines are not seen twice
        self.assertEqual(sm.n, 3)
        text += "work\n[bench-window] begin two\n[bench-window] end one\n[bench-window] end two\n"
        rec.feed(text)                                    # samples 4, 5, 6
        wins = rec.finish(alive=True)                     # sample 7
        self.assertEqual([w.label for w in wins], ["one", "two", "boot"])
        self.assertEqual(seen, ["one", "two", "boot"])
        one, two, boot = wins
        self.assertAlmostEqual(one.wall_s, 3.0)           # samples 2 -> 5
        self.assertAlmostEqual(two.wall_s, 2.0)           # samples 4 -> 6
        self.assertAlmostEqual(one.vcpu_cpu_s[0], 2.1)
        self.assertAlmostEqual(one.qemu_cpu_s, 4.2)
        self.assertEqual(one.tcg, {"tb_flush_count": 3})
        self.assertAlmostEqual(boot.wall_s, 6.0)          # samples 1 -> 7
        self.assertEqual(boot.tcg, {"tb_flush_count": 6})

    def test_boot_window_ends_at_the_last_complete_sample_when_qemu_is_gone(self) -> None:
        sm = ScriptedSampler()
        sm.clock = lambda: float(sm.n) + 0.5
        rec = hostattr.Recorder(sm, period_s=0.2)
        rec.start()
        rec.poll()
        rec.poll()
        wins = rec.finish(alive=False)
        self.assertEqual([w.label for w in wins], ["boot"])
        self.assertAlmostEqual(wins[0].wall_s, 2.0)
        self.assertEqual(wins[0].tcg, {})                 # the last sample did not ask `info jit`
        self.assertEqual(sm.n, 3)

    def test_no_second_sample_no_boot_window(self) -> None:
        sm = ScriptedSampler()
        rec = hostattr.Recorder(sm)
        rec.start()
        self.assertEqual(rec.finish(alive=False), [])


# A stand-in for qemu-system-x86_64: two busy "vCPU" threads, a QMP server
# answering query-cpus-fast and `info jit`, window markers on the serial file.
FAKE_QEMU = textwrap.dedent('''\
    import json, os, socket, sys, threading, time
    args = sys.argv[1:]
    log = args[args.index("-serial") + 1][len("file:"):]
    sock_path = args[args.index("-qmp") + 1][len("unix:"):].split(",")[0]
    mode = os.environ.get("FAKE_QEMU_MODE", "exit")
    tids = []
    def spin():
        tids.append(threading.get_native_id())
        x = 0
        while True:
            x += 1
    for _ in range(2):
        threading.Thread(target=spin, daemon=True).start()
    while len(tids) < 2:
        time.sleep(0.001)
    jit_calls = [0]
    def serve():
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(sock_path)
        srv.listen(1)
        while True:
            c, _ = srv.accept()
            f = c.makefile("rw")
            f.write(json.dumps({"QMP": {"version": {}}}) + "\\n"); f.flush()
            for line in f:
                cmd = json.loads(line)
                name = cmd["execute"]
                if name == "query-cpus-fast":
                    ret = [{"cpu-index": i, "thread-id": t} for i, t in enumerate(tids)]
                elif name == "human-monitor-command":
                    jit_calls[0] += 1
                    ret = "TB flush count      %d\\nTLB full flushes    %d\\n" % (jit_calls[0], 10 * jit_calls[0])
                else:
                    ret = {}
                f.write(json.dumps({"event": "NOISE"}) + "\\n")
                f.write(json.dumps({"return": ret}) + "\\n"); f.flush()
    threading.Thread(target=serve, daemon=True).start()
    def say(s):
        with open(log, "a") as f:
            f.write(s + "\\r\\n")
    time.sleep(0.3)
    say("[capos] boot ok cpus=2 mem=255")
    say("[bench-window] begin spin")
    time.sleep(0.6)
    say("[bench-window] end spin")
    time.sleep(0.3)
    if mode == "exit":
        say("[fake] bye")
        os._exit(33 >> 1)
    say("[fake] waiting")
    time.sleep(30)
    ''')


class FakeQemuRun(unittest.TestCase):
    def _run(self, mode: str, until: str | None) -> qemu.RunResult:
        d = Path(self.tmp.name)
        fake = d / "fake-qemu"
        fake.write_text(f"#!{sys.executable}\n" + FAKE_QEMU)
        fake.chmod(0o755)
        spec = qemu.QemuSpec(accel=qemu.TCG_MT, smp=2, log=d / f"{mode}.log", timeout=20.0)
        with mock.patch.dict(os.environ, {"CAPOS_QEMU": str(fake), "FAKE_QEMU_MODE": mode}):
            res = qemu.run(spec, (lambda text: "seen" if until in text else None) if until else None)
        self.assertEqual(qemu.processes_with_arg(str(spec.log)), [])
        self.assertFalse(qemu.qmp_socket(spec).exists())
        return res

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def _check_spin(self, res: qemu.RunResult) -> hostattr.Window:
        self.assertEqual([w.label for w in res.windows], ["spin", "boot"], res.text)
        w = res.window("spin")
        assert w is not None
        self.assertGreater(w.wall_s, 0.5)
        self.assertLess(w.wall_s, 1.0)
        self.assertEqual(sorted(w.vcpu_cpu_s), [0, 1])
        for v in w.vcpu_cpu_s.values():
            self.assertGreater(v, 0.0)
            self.assertLessEqual(v, w.wall_s * 1.05)
        self.assertEqual(w.tcg, {"tb_flush_count": 1, "tlb_full_flushes": 10})
        return w

    def test_markers_in_a_boot_that_ends_itself(self) -> None:
        res = self._run("exit", None)
        self.assertEqual(res.exit_code, 16)
        self._check_spin(res)
        boot = res.windows[-1]
        self.assertGreater(boot.wall_s, 0.6)
        self.assertEqual(sorted(boot.vcpu_cpu_s), [0, 1])

    def test_markers_in_a_boot_the_caller_stops(self) -> None:
        res = self._run("wait", "[fake] waiting")
        self.assertEqual(res.matched, "seen")
        self._check_spin(res)
        boot = res.windows[-1]
        self.assertEqual(boot.tcg["tb_flush_count"], 3)   # begin, end, final sample
        self.assertGreaterEqual(boot.qemu_cpu_s, max(boot.vcpu_cpu_s.values()) - 0.02)

    def test_reported_lines(self) -> None:
        d = Path(self.tmp.name)
        fake = d / "fake-qemu"
        fake.write_text(f"#!{sys.executable}\n" + FAKE_QEMU)
        fake.chmod(0o755)
        spec = qemu.QemuSpec(accel=qemu.TCG_MT, smp=2, log=d / "r.log", timeout=20.0, report_windows=True)
        out: list[str] = []
        with mock.patch.dict(os.environ, {"CAPOS_QEMU": str(fake), "FAKE_QEMU_MODE": "exit"}), \
                mock.patch("builtins.print", side_effect=lambda *a, **k: out.append(" ".join(map(str, a)))):
            qemu.run(spec)
        self.assertEqual([line.split(":")[0] for line in out], ["[host-window] spin", "[host-window] boot"])

    def test_no_attribution_no_qmp(self) -> None:
        spec = qemu.QemuSpec(accel=qemu.TCG_MT, attribution=False, log=Path("/tmp/x.log"))
        self.assertNotIn("-qmp", qemu.build_command(spec, "qemu-system-x86_64", None))
        self.assertIn("-qmp", qemu.build_command(qemu.QemuSpec(accel=qemu.TCG_MT, log=Path("/tmp/x.log")),
                                                 "qemu-system-x86_64", None))


BUILD = Path(os.environ.get("CAPOS_BUILD_DIR", "/nonexistent"))


@unittest.skipUnless((BUILD / "iso" / "capos.iso").exists(), "needs CAPOS_BUILD_DIR with a built ISO")
class RealBoot(unittest.TestCase):
    def test_boot_window_of_a_real_boot(self) -> None:
        # The default manifest never exits: the timeout ends the boot, QEMU still running.
        with tempfile.TemporaryDirectory() as d:
            spec = qemu.QemuSpec(accel=qemu.TCG_MT, smp=2, iso=BUILD / "iso" / "capos.iso", cmdline="",
                                 log=Path(d) / "attr.log", timeout=4.0)
            t0 = time.monotonic()
            res = qemu.run(spec)
            self.assertLess(time.monotonic() - t0, 20.0)
            self.assertEqual(qemu.processes_with_arg(str(spec.log)), [])
        self.assertTrue(res.timed_out)
        self.assertEqual([w.label for w in res.windows], ["boot"])
        w = res.windows[0]
        self.assertGreater(w.wall_s, 2.0)
        self.assertLessEqual(w.wall_s, res.elapsed)
        self.assertEqual(sorted(w.vcpu_cpu_s), [0, 1])
        for v in w.vcpu_cpu_s.values():
            self.assertGreater(v, 0.0)
            self.assertLessEqual(v, w.wall_s * 1.05)
        # QEMU's total holds its vCPU threads (process time is in clock ticks).
        self.assertGreaterEqual(w.qemu_cpu_s + 2.0 / HZ, sum(w.vcpu_cpu_s.values()) * 0.95)
        self.assertLessEqual(w.other_host_frac, 1.0)
        # Multi-threaded TCG: translation counters moved during the boot.
        for key in hostattr.CUMULATIVE_TCG:
            self.assertIn(key, w.tcg)
        self.assertGreater(w.tcg["tb_invalidate_count"] + w.tcg["tlb_partial_flushes"], 0)
        # Watching the serial log stays a small share of one host CPU.
        self.assertLess(w.harness_cpu_s, 0.05 * w.wall_s, w.describe())
        print(f"\n{w.describe()} harness {w.harness_cpu_s:.3f}s", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
