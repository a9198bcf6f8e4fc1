"""harness/tests/test_bench.py — bench.py's plan order, paired boots from synthetic serial logs, host
attribution matching, the adaptive stopping rule and --gate's exit codes (no QEMU)."""
import argparse
import contextlib
import dataclasses
import io
import sys
import tempfile
import time
import unittest
from unittest import mock
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench  # noqa: E402
from capos import hostload, resultline, stats  # noqa: E402
from tests.test_stats import paired_boot as stats_paired_boot  # noqa: E402

PROC = ("[smp-process-scale] cpus=2 workers={w} range=2..16777216 primes=1077871 checksum=0x829abeafa2f78f12 "
        "elapsed={e} total={t} verified=true")


@dataclass
class FakeWindow:
    """Stand-in for hostattr.Window (same fields bench.py reads)."""
    label: str
    wall_s: float
    vcpu_cpu_s: dict[int, float]
    other_host_frac: float
    tcg: dict[str, int] = field(default_factory=dict)
    vcpu_wait_s: dict[int, float] = field(default_factory=dict)


def paired_log(speed: float, base: int = 10_000_000, blocks: int = 2, kstats: bool = True) -> str:
    lines = ["[smp-env] os=capos cpus=2 tsc_hz=2500000000 cycle_source=rdtsc"]
    for r, w in enumerate((1, 2, 2, 1) * blocks):
        work = base if w == 1 else int(base / speed)
        lab = f"process-r{r}-w{w}"
        lines += [f"[bench-window] begin {lab}", f"[bench-window] end {lab}"]
        if kstats:
            lines += [f"[kstats] scope={lab} cpu=0 ticks={10 + r} ipis=1", f"[kstats] scope={lab} cpu=1 ticks=7 ipis=2"]
        lines.append(PROC.format(w=w, e=work, t=work + 1000))
    return "\n".join(lines + ["[utest] smp-bench 8 passed, 0 failed"])


def windows_for(text: str, share: float = 0.99, other: float = 0.01) -> list[FakeWindow]:
    out = []
    for line in text.splitlines():
        if line.startswith("[bench-window] end "):
            lab = line.split()[-1]
            w = 1 if lab.endswith("w1") else 2
            out.append(FakeWindow(lab, 4.0, {0: 4.0 * share, 1: 4.0 * share if w == 2 else 0.02}, other,
                                  {"tb_flush_count": 1}, {0: 0.01, 1: 0.02}))
    return out + [FakeWindow("boot", 60.0, {0: 50.0, 1: 30.0}, other)]


def outcome(text: str, windows: list[FakeWindow]) -> bench.Outcome:
    recs = resultline.results(text)
    return bench.Outcome(recs, bench.check_paired(recs, 2), 40.0, Path("x.log"), text, list(windows), 2_500_000_000)


class Plan(unittest.TestCase):
    def test_interleaves_oses_and_counts(self) -> None:
        plan = bench.make_plan(["capos", "linux"], ["kernel"], ["process", "thread"], [1, 2], runs=2, paired=3)
        self.assertEqual(len(plan), 2 * 2 * 3 + 2 * 2 * 2 * 2)
        first = [(b.os, b.design, b.cpus) for b in plan if b.workload == "process" and b.index == 1]
        self.assertEqual(first, [("capos", "paired", 2), ("linux", "paired", 2), ("capos", "per-count", 1),
                                 ("linux", "per-count", 1), ("capos", "per-count", 2), ("linux", "per-count", 2)])
        second = [(b.os, b.design, b.cpus) for b in plan if b.workload == "process" and b.index == 2]
        self.assertEqual(second, [("linux", "paired", 2), ("capos", "paired", 2), ("linux", "per-count", 2),
                                  ("capos", "per-count", 2), ("linux", "per-count", 1), ("capos", "per-count", 1)])
        third = [b for b in plan if b.index == 3]
        self.assertTrue(all(b.design == "paired" for b in third))
        self.assertEqual(len({b.tag for b in plan}), len(plan))  # every log has its own name

    def test_paired_capos_uses_kernel_placement_and_manifest(self) -> None:
        plan = bench.make_plan(["capos"], ["fair-share"], ["thread"], [1], runs=1, paired=1)
        paired = [b for b in plan if b.design == "paired"][0]
        self.assertEqual(paired.policy, "kernel")
        self.assertEqual(bench.capos_cmdline("thread", 2, paired.policy, paired=True), "manifest=thread-scale-paired")
        self.assertEqual(bench.capos_cmdline("process", 1, "fair-share"), "manifest=process-scale-fair-share")
        self.assertEqual(paired.tag, "capos-thread-paired1")

    def test_policy_specs_are_row_series_with_boot_time_arguments(self) -> None:
        specs = ["fair-share:slice_ms=2", "fair-share:slice_ms=8", "fair-share"]
        plan = bench.make_plan(["capos"], specs, ["process"], [2], runs=1, paired=0)
        self.assertEqual([b.policy for b in plan], specs)  # each spec keeps its arguments as its label
        self.assertEqual(len({b.tag for b in plan}), 3)
        self.assertEqual(plan[0].tag, "capos-fair-share_slice_ms-2-process-smp2-run1")
        # One manifest for all three: the arguments go on the kernel command line.
        self.assertEqual(bench.capos_cmdline("process", 2, specs[0]),
                         "manifest=process-scale-fair-share placement=slice_ms=2")
        self.assertEqual(bench.capos_cmdline("process", 2, specs[2]), "manifest=process-scale-fair-share")
        self.assertEqual(bench.capos_cmdline("thread", 2, "round-robin:a=1,b=2"),
                         "manifest=thread-scale-round-robin placement=a=1,b=2")

    def test_bad_specs_are_refused_before_booting(self) -> None:
        self.assertIsNone(bench.check_spec("fair-share:slice_ms=2,x=y"))
        for bad in ("fair share", "kernel:x=1", "fair-share:slice_ms", "fair-share:a=1,,b=2", "fair-share:a=1 b=2"):
            self.assertIsNotNone(bench.check_spec(bad), bad)
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            bench.parse_args(["--build-dir", "b", "--policy", "fair-share:slice_ms"])
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            bench.parse_args(["--build-dir", "b", "--policy", "fair-share", "fair-share"])

    def test_a_policy_run_counts_only_with_its_arguments(self) -> None:
        served = "[placement] fair-share v1 serving epoch 1 on 2 cpus (deadline 1000000 us) args=slice_ms=2\n"
        self.assertIsNone(bench.check_policy_served(served, "fair-share:slice_ms=2"))
        self.assertIn("not 'slice_ms=8'", bench.check_policy_served(served, "fair-share:slice_ms=8") or "")
        self.assertIn("not ''", bench.check_policy_served(served, "fair-share") or "")
        plain = "[placement] fair-share v1 serving epoch 1 on 2 cpus (deadline 1000000 us)\n"
        self.assertIsNone(bench.check_policy_served(plain, "fair-share"))
        refused = "[placement] fair-share: arguments refused: unknown key 'slise_ms' (fair-share takes slice_ms=1..200)\n"
        self.assertIn("refused its arguments", bench.check_policy_served(refused, "fair-share:slise_ms=2") or "")

    def test_spending_levels(self) -> None:
        self.assertAlmostEqual(sum(1 - bench.spending_level(k) for k in range(1, 10_000)), 0.05, places=3)
        self.assertGreater(bench.spending_level(2), bench.spending_level(1))
        self.assertGreater(bench.spending_level(1), 0.95)

    def test_defaults(self) -> None:
        a = bench.parse_args(["--build-dir", "b"])
        self.assertEqual((a.paired, a.runs, a.cpus, a.adaptive_budget), (3, 3, [1, 2], 14.0))
        self.assertEqual(bench.parse_args(["--build-dir", "b", "--adaptive-budget", "0"]).adaptive_budget, 0)


class PairedBoot(unittest.TestCase):
    def test_done_marker_and_check(self) -> None:
        text = paired_log(1.9)
        self.assertIsNotNone(bench.capos_done(text))
        self.assertIsNone(bench.capos_done(text.rsplit("\n", 1)[0]))
        recs = resultline.results(text)
        self.assertIsNone(bench.check_paired(recs, 2))
        self.assertIn("expected 8", bench.check_paired(recs[:7], 2) or "")
        self.assertIn("not as many", bench.check_paired([r for r in recs if r.workers == 2] * 2, 2) or "")
        self.assertIn("1 or 2 workers", bench.check_paired([dataclasses.replace(r, cpus=4) for r in recs], 2) or "")

    def test_samples_match_windows_and_counters(self) -> None:
        text = paired_log(1.9)
        o = outcome(text, windows_for(text))
        b = bench.Boot("capos", "kernel", "process", stats.PAIRED, 2, 1)
        ss = bench.samples_from(b, o, "tcg-mt", 0.004)
        self.assertEqual([s.parallelism for s in ss], [1, 2, 2, 1, 1, 2, 2, 1])
        self.assertEqual([s.seq for s in ss], list(range(8)))
        self.assertEqual({s.boot for s in ss}, {"capos-process-paired1"})
        self.assertEqual(ss[0].total, ss[0].work + 1000)
        self.assertEqual(ss[3].counters["guest.ticks"], 13 + 7)
        self.assertEqual(ss[3].counters["guest.cpu1.ipis"], 2)
        self.assertEqual(ss[3].counters["tcg.tb_flush_count"], 1)
        self.assertEqual(ss[3].counters["host.vcpu1_wait_s"], 0.02)
        self.assertAlmostEqual(ss[0].vcpu_share or 0, 0.99)   # 1 worker: the busy vCPU counts, the idle one not
        self.assertAlmostEqual(ss[1].vcpu_share or 0, 0.99)
        self.assertEqual(ss[0].boot_other_host, 0.004)
        pb = stats.paired_boots(ss)[0]
        self.assertAlmostEqual(pb.speedup, 1.9, places=3)
        self.assertTrue(pb.abba and pb.vcpu_checked)

    def test_old_guest_without_windows(self) -> None:
        text = "\n".join(l for l in paired_log(1.9, kstats=False).splitlines() if "[bench-window]" not in l)
        ss = bench.samples_from(bench.Boot("linux", "", "process", stats.PAIRED, 2, 1), outcome(text, []),
                                "tcg-mt", None)
        self.assertEqual(len(ss), 8)
        self.assertTrue(all(s.window_wall_s is None and not s.counters for s in ss))
        self.assertFalse(stats.paired_boots(ss)[0].vcpu_checked)


class RealLog(unittest.TestCase):
    """A Linux paired boot's serial lines as the guest prints them (capos.paired=1, hi=300000)."""

    def test_linux_paired_log(self) -> None:
        text = (Path(__file__).parent / "data" / "linux-paired1-process.log").read_text()
        recs = resultline.results(text)
        self.assertIsNone(bench.check_paired(recs, 1))
        _, _, err = bench.linux_baseline.evaluate(text, "process", 1, paired=1)
        self.assertIsNone(err)
        ss = bench.samples_from(bench.Boot("linux", "", "process", stats.PAIRED, 2, 1),
                                bench.Outcome(recs, None, 9.0, Path("l.log"), text), "tcg-mt", 0.0)
        self.assertEqual([s.parallelism for s in ss], [1, 2, 2, 1])
        self.assertTrue(all(s.total is not None and s.total >= s.work for s in ss))
        self.assertEqual(ss[3].counters["guest.switches"], 14)      # the cpu=all line
        self.assertEqual(ss[3].counters["guest.cpu1.user_ms"], 20)
        pb, = stats.paired_boots(ss)
        self.assertTrue(pb.abba)
        self.assertFalse(pb.vcpu_checked)   # no host windows given: said, not assumed


class FakeBench(bench.Bench):
    """Bench whose boots come from synthetic logs: speed per (os, workload) as a list, consumed in order."""

    def __init__(self, speeds: dict[tuple[str, str], list[float]], out: Path, **args: object) -> None:
        ns = argparse.Namespace(memory="512M", timeout=1.0, runs=0, oses=["capos", "linux"],
                                workloads=["process"], **args)
        super().__init__(ns, bench.qemu.TCG_MT, Path("iso"), Path("initrd"), out, None)
        self.speeds = speeds
        self.now = 0.0
        self.clock = lambda: self.now   # each fake boot takes 40 s of this clock

    def _meter(self) -> object:
        class Quiet:
            def stop(self) -> hostload.ForeignLoad:
                return hostload.ForeignLoad(seconds=0.1, wall=40.0, cpus=2)
        return Quiet()

    def _boot_once(self, boot: bench.Boot, log: Path) -> bench.Outcome:
        self.now += 40.0
        sp = self.speeds[(boot.os, boot.workload)].pop(0)
        text = paired_log(sp)
        return outcome(text, windows_for(text))


class Integration(unittest.TestCase):
    def test_boots_to_gate(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            fb = FakeBench({("capos", "process"): [1.95, 1.951, 1.949], ("linux", "process"): [1.93, 1.931, 1.929]},
                           Path(d))
            with contextlib.redirect_stdout(io.StringIO()) as out:
                for b in bench.make_plan(["capos", "linux"], ["kernel"], ["process"], [1, 2], runs=0, paired=3):
                    fb.run(b, "t", time.monotonic(), None)
            self.assertIn("paired boot 1: speedup=1.9500x (8 runs)", out.getvalue())
            self.assertIn("share 99.0%", out.getvalue())
            self.assertIn("tcg tb-flush=1", out.getvalue())
            g, = fb.gates(0.95)
            self.assertEqual(g.verdict, stats.PASS, g.line())
            self.assertEqual(g.boots, (3, 3))
            self.assertEqual(bench.gate_exit([g], ["process"])[0], 0)
            self.assertEqual(bench.adaptive_targets([g]), [])


class Adaptive(unittest.TestCase):
    def start(self, d: str, capos: list[float], linux: list[float]) -> FakeBench:
        fb = FakeBench({("capos", "process"): capos, ("linux", "process"): linux}, Path(d))
        with contextlib.redirect_stdout(io.StringIO()):
            for b in bench.make_plan(["capos", "linux"], ["kernel"], ["process"], [], runs=0, paired=3):
                fb.run(b, "t", 0.0, None)
        return fb

    def test_adds_boots_until_decided(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            fb = self.start(d, [1.90, 2.00, 1.95] + [1.955, 1.945] * 10, [1.92, 1.93, 1.94] + [1.93] * 20)
            self.assertEqual(fb.gates(bench.spending_level(1))[0].verdict, stats.INCONCLUSIVE)
            with contextlib.redirect_stdout(io.StringIO()) as out:
                gates, look, level = bench.run_adaptive(fb, 0.0, 100 * 60, 3, ["process"])
            self.assertEqual(gates[0].verdict, stats.PASS, out.getvalue())
            self.assertGreater(look, 1)
            self.assertEqual(level, bench.spending_level(look))
            self.assertEqual(gates[0].boots, (3 + look - 1, 3 + look - 1))   # one boot per OS per look
            self.assertIn("adaptive process #4", out.getvalue())
            self.assertGreater(len(fb.speeds[("capos", "process")]), 0)     # stopped once decided

    def test_budget_stops_it(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            fb = self.start(d, [1.90, 2.00, 1.95, 1.95], [1.92, 1.93, 1.94, 1.93])
            with contextlib.redirect_stdout(io.StringIO()) as out:
                gates, look, _ = bench.run_adaptive(fb, 0.0, 5 * 60, 3, ["process"])  # 240 s spent + 80 s > 300 s
            self.assertEqual((gates[0].verdict, look), (stats.INCONCLUSIVE, 1))
            self.assertIn("would pass the 5-minute budget", out.getvalue())


THREAD = ("[smp-thread-scale] cpus={c} threads={w} blocks=262144 rounds=64 root=0x3087349e2c7db0b0 "
          "spawn_ready=10 work={e} shutdown=5 total={t} verified=true")


def guest_log(workload: str, cpus: int, paired: bool, speed: float, seed: int, linux: bool) -> str:
    """A serial log as either guest prints it, per-count or paired (2 ABBA blocks)."""
    rng = __import__("random").Random(seed)
    fmt = PROC.replace("cpus=2", "cpus={c}") if workload == "process" else THREAD
    lines = [f"[smp-env] os={'linux' if linux else 'capos'} cpus={cpus} tsc_hz=2500000000 cycle_source=rdtsc"]
    order = (1, 2, 2, 1) * 2 if paired else (cpus,)
    for r, w in enumerate(order):
        work = int(10_000_000 / (speed if w == 2 else 1.0) * (1 + rng.uniform(-0.002, 0.002)))
        lab = f"{workload}-{r}-w{w}"
        lines += [f"[bench-window] begin {lab}", f"[bench-window] end {lab}",
                  f"[{'linux-stats' if linux else 'kstats'}] scope={lab} cpu=all ticks={20 + r}",
                  fmt.format(c=cpus, w=w, e=work, t=work + 100)]
    lines.append("[linux-init] done status=ok" if linux else f"[utest] smp-bench {len(order)} passed, 0 failed")
    return "\n".join(lines)


class Main(unittest.TestCase):
    """bench.main() end to end with QEMU replaced by synthetic guests."""

    def test_main_writes_everything_and_gates(self) -> None:
        calls: list[str] = []
        seeds = iter(range(10_000))

        def fake_run(spec: object, until: object = None) -> bench.qemu.RunResult:
            linux = getattr(spec, "append", None) is not None
            line = spec.append if linux else spec.cmdline  # type: ignore[attr-defined]
            paired = "capos.paired=" in line or "-paired" in line
            workload = "process" if "process" in line else "thread"
            smp = spec.smp  # type: ignore[attr-defined]
            calls.append(f"{'linux' if linux else 'capos'}-{workload}-{'paired' if paired else smp}")
            speed = 1.93 if linux else 1.95
            text = guest_log(workload, spec.smp, paired, speed, next(seeds), linux)  # type: ignore[attr-defined]
            log = spec.log  # type: ignore[attr-defined]
            return bench.qemu.RunResult(exit_code=None, timed_out=False, log=log, text=text, elapsed=1.0,
                                        matched="done", windows=windows_for(text))

        with tempfile.TemporaryDirectory() as d, \
                mock.patch.object(bench.qemu, "run", fake_run), \
                mock.patch.object(bench.linux_baseline, "find_kernel", lambda k=None: Path("/vmlinuz")), \
                mock.patch.object(bench.linux_baseline, "pack_initramfs", lambda p, o: o), \
                mock.patch.object(bench.linux_baseline.Programs, "from_build", lambda b: None), \
                mock.patch.object(bench.report, "host_cores", lambda: 2), \
                mock.patch.object(bench.Bench, "_meter", lambda self: FakeBench._meter(self)), \
                mock.patch.dict("os.environ", {"CAPOS_BENCH_ARGS": ""}), \
                mock.patch.object(sys, "argv", ["bench.py", "--build-dir", d, "--iso", f"{d}/x.iso", "--accel",
                                                "tcg-mt", "--out", f"{d}/out", "--gate", "--adaptive-budget", "0"]), \
                contextlib.redirect_stdout(io.StringIO()) as out:
            code = bench.main()
            printed = out.getvalue()
            self.assertEqual(code, 0, printed[-3000:])
            self.assertEqual(len(calls), 12 + 24)
            self.assertEqual(calls[:6], ["capos-process-paired", "linux-process-paired", "capos-process-1",
                                         "linux-process-1", "capos-process-2", "linux-process-2"])
            self.assertRegex(printed[-2000:], r"\[bench\] gate process: PASS ratio 1\.01\d \[\d\.\d+, \d\.\d+\] "
                                              r"\(paired, 3\+3 boots, 95% interval")
            self.assertIn("[bench] gate thread: PASS", printed)
            self.assertIn("[bench] gate PASSED", printed)
            o = Path(d) / "out"
            for f in ("results.csv", "paired.csv", "attribution.csv", "summary.md"):
                self.assertTrue((o / f).exists(), f)
            rows = (o / "results.csv").read_text().splitlines()
            self.assertEqual(len(rows), 1 + 12 * 8 + 24)
            self.assertIn("guest.ticks", rows[0])
            self.assertEqual(len((o / "paired.csv").read_text().splitlines()), 1 + 12)
            md = (o / "summary.md").read_text()
            self.assertIn("## Guest attribution", md)
            self.assertIn("| capos | linux |", md)


class FromCsv(unittest.TestCase):
    def test_recomputes_report_and_gate(self) -> None:
        ss = []
        for i, (c, l) in enumerate(zip([1.95, 1.951, 1.949], [1.93, 1.931, 1.929])):
            ss += stats_paired_boot("capos", f"capos-process-paired{i}", c, seed=i)
            ss += stats_paired_boot("linux", f"linux-process-paired{i}", l, seed=50 + i)
        with tempfile.TemporaryDirectory() as d:
            src = Path(d) / "run"
            src.mkdir()
            bench.report.write_csv(ss, src / "results.csv", 2)
            with mock.patch.object(sys, "argv", ["bench.py", "--from-csv", str(src), "--out", f"{d}/re", "--gate"]), \
                    mock.patch.dict("os.environ", {"CAPOS_BENCH_ARGS": ""}), \
                    contextlib.redirect_stdout(io.StringIO()) as out:
                code = bench.main()
            self.assertEqual(code, 0, out.getvalue())
            self.assertIn("[bench] gate process: PASS", out.getvalue())
            self.assertNotIn("gate thread", out.getvalue())     # only the workloads in the file
            self.assertIn("## Paired design", (Path(d) / "re" / "summary.md").read_text())

    def test_needs_a_source(self) -> None:
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            bench.parse_args([])


def gate(verdict: str, reasons: tuple[str, ...] = (), wl: str = "process") -> stats.Gate:
    iv = stats.Interval(1.0, 0.97, 1.03)
    return stats.Gate(wl, "kernel", "tcg-mt", verdict, iv, iv, iv, (3, 3), reasons)


class HostExclusion(unittest.TestCase):
    def boots(self, host_bad: int) -> list[stats.PairedBoot]:
        out = []
        for os_, base in (("capos", 1.95), ("linux", 1.90)):
            for i in range(4):
                bad = os_ == "capos" and i < host_bad
                sp = 0.5 if bad else base + 0.01 * i
                out.append(stats.PairedBoot(os=os_, policy="kernel" if os_ == "capos" else "", workload="process",
                                            accel="tcg-mt", boot=f"{os_}-{i}", order=(1, 2, 2, 1, 1, 2, 2, 1),
                                            work_1=(1000,) * 4, work_2=(round(1000 / sp),) * 4,
                                            host=(("other host work 30.0% > 5% of host CPU (x)",) if bad else ()),
                                            vcpu_checked=True))
        return out

    def test_a_disturbed_boot_is_left_out_not_fatal(self) -> None:
        g = stats.gate_paired(self.boots(1), "process")
        self.assertEqual(g.boots, (3, 4))  # the disturbed capOS boot (speedup 0.5) does not count
        self.assertGreater(g.ratio.point, 1.0)
        self.assertTrue(any("1 boot(s) left out" in n for n in g.notes))
        self.assertFalse(any(r.startswith("host could not") for r in g.reasons))

    def test_summary_counts_the_boots_the_gate_uses(self) -> None:
        caps = [x for x in stats.paired_summaries(self.boots(1)) if x.os == "capos"]
        self.assertEqual(caps[0].boots, 3)
        self.assertGreater(caps[0].speedup.point, 1.9)  # the disturbed boot's 0.5 is not in the mean

    def test_too_few_clean_boots_is_inconclusive(self) -> None:
        g = stats.gate_paired(self.boots(3), "process")
        self.assertEqual(g.verdict, stats.INCONCLUSIVE)
        self.assertTrue(g.reasons[0].startswith("host could not deliver the cores in enough boots (1 clean capOS"))


class Decisions(unittest.TestCase):
    def test_adaptive_targets(self) -> None:
        gs = [gate(stats.INCONCLUSIVE, ("the interval contains 0.98",)),
              gate(stats.INCONCLUSIVE, ("host could not deliver the cores in enough boots (1 clean capOS, "
                                        "3 clean Linux; 2 each needed)",), "thread"),
              gate(stats.INCONCLUSIVE, ("no paired Linux boot",), "other")]
        # Disturbed boots are left out of the interval: a new boot may be clean, so the
        # second workload gets more boots too; a missing OS cannot be fixed by more boots.
        self.assertEqual(bench.adaptive_targets(gs), ["process", "thread"])
        self.assertEqual(bench.adaptive_targets([gate(stats.PASS), gate(stats.FAIL, (), "thread")]), [])

    def test_gate_exit(self) -> None:
        self.assertEqual(bench.gate_exit([gate(stats.PASS), gate(stats.PASS, (), "thread")], ["process", "thread"])[0], 0)
        code, msg = bench.gate_exit([gate(stats.PASS), gate(stats.INCONCLUSIVE, (), "thread")], ["process", "thread"])
        self.assertEqual(code, 2)
        self.assertIn("INCONCLUSIVE", msg)
        self.assertEqual(bench.gate_exit([gate(stats.FAIL), gate(stats.INCONCLUSIVE, (), "thread")],
                                         ["process", "thread"])[0], 1)
        self.assertEqual(bench.gate_exit([gate(stats.PASS)], ["process", "thread"])[0], 1)


if __name__ == "__main__":
    unittest.main()
