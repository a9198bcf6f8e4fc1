"""harness/tests/test_report.py — results.csv / paired.csv round trips, recomputing the gate from the CSVs,
summary sections and markings, attribution tables, plot."""
import csv
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capos import report, stats  # noqa: E402
from capos.stats import Sample  # noqa: E402
from tests.test_stats import paired_boot  # noqa: E402


def sample(os: str, wl: str, cpus: int, work: int, run: int = 1, accel: str = "tcg-mt") -> Sample:
    return Sample(os=os, workload=wl, cpus=cpus, parallelism=cpus, accel=accel, run=run, work=work,
                  total=work + 10 if wl == "thread" else None, verified=True, spawn_ready=3 if wl == "thread" else None,
                  shutdown=7 if wl == "thread" else None, tsc_hz=2_500_000_000, log=f"{os}-{wl}-{cpus}.log",
                  boot=f"{os}-{wl}-smp{cpus}-run{run}")


SAMPLES = [sample("linux", "process", 1, 1000), sample("linux", "process", 2, 520),
           sample("linux", "process", 4, 500), sample("capos", "thread", 1, 900),
           sample("capos", "thread", 2, 470), sample("linux", "thread", 1, 800), sample("linux", "thread", 2, 405)]


def paired_samples() -> list[Sample]:
    out: list[Sample] = []
    for i, sp in enumerate([1.95, 1.96, 1.955]):
        out += paired_boot("capos", f"capos-process-paired{i}", sp, seed=i)
    for i, sp in enumerate([1.93, 1.94, 1.935]):
        out += paired_boot("linux", f"linux-process-paired{i}", sp, seed=10 + i)
    # Guest and TCG counters on the capOS runs, as bench.py attaches them.
    return [Sample(**{**s.__dict__, "counters": {"guest.ticks": 100 + s.seq, "guest.cpu0.ticks": 50, "guest.cpu_ms": 3,
                                                  "tcg.tb_flush_count": 2}}) if s.os == "capos" else s
            for s in out]


class Csv(unittest.TestCase):
    def test_round_trip(self) -> None:
        ss = SAMPLES + paired_samples()
        with tempfile.TemporaryDirectory() as d:
            p = report.write_csv(ss, Path(d) / "results.csv", cores=2)
            header = p.read_text().splitlines()[0].split(",")
            self.assertEqual(header[:len(report.CSV_FIELDS)], report.CSV_FIELDS)
            self.assertIn("guest.ticks", header)
            self.assertIn("tcg.tb_flush_count", header)
            back = report.read_csv(p)
            self.assertEqual(back, ss)
            rows = list(csv.DictReader(p.read_text().splitlines()))
            self.assertEqual([r["oversubscribed"] for r in rows[:7]],
                             ["false", "false", "true", "false", "false", "false", "false"])
            self.assertEqual(rows[0]["total_cycles"], "")       # process scale without total=: empty, not work
            self.assertEqual({r["design"] for r in rows}, {"per-count", "paired"})
            paired = [r for r in rows if r["design"] == "paired"]
            self.assertEqual([r["workers"] for r in paired[:8]], list("12211221"))
            self.assertEqual([r["seq"] for r in paired[:4]], ["0", "1", "2", "3"])
            self.assertEqual(paired[1]["vcpu_share"], "0.9900")

    def test_reads_csv_from_before_the_paired_design(self) -> None:
        old = ("os,policy,workload,accel,cpus,parallelism,run,work_cycles,total_cycles,spawn_ready_cycles,"
               "shutdown_cycles,verified,oversubscribed,tsc_hz,log\n"
               "linux,,process,tcg-mt,2,2,1,520,520,,,true,false,,x.log\n")
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "results.csv"
            p.write_text(old)
            s, = report.read_csv(p)
            self.assertEqual((s.parallelism, s.design, s.work), (2, stats.PER_COUNT, 520))

    def test_gate_recomputed_from_the_csvs_alone(self) -> None:
        ss = paired_samples()
        boots = stats.paired_boots(ss)
        gate = stats.gate_paired(boots, "process")
        with tempfile.TemporaryDirectory() as d:
            paths = report.write_all(ss, [], Path(d), host_cores=2, paired_gates=[gate], boots=boots,
                                     summaries=stats.paired_summaries(boots))
            from_paired = report.read_paired_csv(paths["paired"])
            self.assertEqual(from_paired, boots)
            self.assertEqual(stats.gate_paired(from_paired, "process").ratio, gate.ratio)
            from_results = stats.paired_boots(report.read_csv(paths["csv"]))
            self.assertEqual(stats.gate_paired(from_results, "process"), gate)
            self.assertIn(gate.ratio.fmt(), paths["summary"].read_text())

    def test_attribution_csv(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            p = report.write_attribution_csv(paired_samples(), Path(d) / "attribution.csv")
            rows = list(csv.DictReader(p.read_text().splitlines()))
            ticks = [r for r in rows if r["os"] == "capos" and r["key"] == "guest.ticks" and r["workers"] == "1"]
            self.assertEqual(len(ticks), 1)
            # seq of the 1-worker runs over 3 boots: 0, 3, 4, 7 each -> ticks 100, 103, 104, 107 (x3)
            self.assertEqual((ticks[0]["runs"], ticks[0]["median"], ticks[0]["sum"]), ("12", "103.5", "1242"))
            share = [r for r in rows if r["os"] == "linux" and r["key"] == "host.vcpu_share" and r["workers"] == "2"]
            self.assertEqual(share[0]["median"], "0.99")


class Summary(unittest.TestCase):
    def test_accelerator_on_every_row_and_oversubscription(self) -> None:
        cases = stats.summarize(SAMPLES)
        md = report.summary_markdown(cases, cores=2)
        table = md.split("## Per-count rows")[1].split("## Claims")[0]
        rows = [l for l in table.splitlines() if l.startswith("| ") and "---" not in l][1:]
        self.assertEqual(len(rows), len(cases))
        for r in rows:
            self.assertIn("| tcg-mt |", r)
        four = [r for r in rows if "| 4 |" in r]
        self.assertEqual(len(four), 1)
        self.assertIn("oversubscribed", four[0])
        claims = md.split("## Claims")[1]
        self.assertNotIn("1→4", claims)  # oversubscribed: no claim
        self.assertIn("1→2", claims)
        self.assertIn("Linux in the same run", claims)

    def test_single_threaded_tcg_is_functional_only(self) -> None:
        cases = stats.summarize([sample("linux", "process", 1, 10, accel="tcg"),
                                 sample("linux", "process", 2, 5, accel="tcg")])
        md = report.summary_markdown(cases, cores=2)
        self.assertIn("functional only", md)
        self.assertIn("None: no case", md)

    def test_per_count_rows_show_intervals(self) -> None:
        ss = [sample(o, "thread", c, w + k, run=k) for k in range(3)
              for o, c, w in (("linux", 1, 800), ("linux", 2, 405), ("capos", 1, 900), ("capos", 2, 470))]
        cases = stats.summarize(ss, resamples=500)
        md = report.summary_markdown(cases, cores=2, gates=stats.gate_1_to_2(cases))
        row = next(l for l in md.splitlines() if l.startswith("| capos | – | thread | tcg-mt | 2 |"))
        self.assertRegex(row, r"x \[\d\.\d{3}, \d\.\d{3}\]")
        self.assertIn("not the gate", md)
        self.assertIn("thread", md.split("## Per-count comparison")[1])

    def test_paired_sections(self) -> None:
        ss = paired_samples()
        boots = stats.paired_boots(ss)
        gate = stats.gate_paired(boots, "process", resamples=1000)
        md = report.summary_markdown([], 2, paired_gates=[gate], boots=boots,
                                     summaries=stats.paired_summaries(boots, resamples=1000), samples=ss)
        self.assertIn("## Gate (paired design", md)
        self.assertIn(f"{gate.verdict} ratio {gate.ratio.fmt()}", md)
        self.assertIn("## Paired design", md)
        self.assertIn("capos-process-paired2", md)
        t1 = stats.paired_time_ratios(boots, "process")[0]
        self.assertIn("Work time, capOS/Linux", md)
        self.assertIn(f"| process | 1 | {t1.ratio.fmt()} | {t1.boots[0]}+{t1.boots[1]} | {t1.verdict} |", md)
        self.assertIn("## Host attribution per case", md)
        self.assertIn("## Guest attribution", md)
        guest = md.split("## Guest attribution")[1]
        self.assertIn("| ticks |", guest)
        self.assertNotIn("cpu0", guest)         # per-CPU values stay in the CSV
        self.assertIn("| cpu_ms |", guest)      # a key that merely starts with "cpu" is not per-CPU
        self.assertIn("## Each vCPU thread's host CPU time per run", md)
        self.assertIn("| linux | process | paired | linux-process-paired0 | 1 | 2 |", md)

    def test_no_attribution_is_said(self) -> None:
        md = report.summary_markdown(stats.summarize(SAMPLES), 2, samples=SAMPLES)
        self.assertIn("Not measured", md)
        self.assertIn("No `[kstats]`", md)

    def test_host_cores_positive(self) -> None:
        self.assertGreaterEqual(report.host_cores(), 1)


class Plot(unittest.TestCase):
    def test_write_all(self) -> None:
        cases = stats.summarize(SAMPLES)
        ss = paired_samples()
        boots = stats.paired_boots(ss)
        with tempfile.TemporaryDirectory() as d:
            paths = report.write_all(SAMPLES + ss, cases, Path(d), host_cores=2, boots=boots,
                                     summaries=stats.paired_summaries(boots, resamples=500))
            for k in ("csv", "paired", "attribution", "summary"):
                self.assertTrue(paths[k].exists(), k)
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                self.assertNotIn("png", paths)
                return
            self.assertGreater(paths["png"].stat().st_size, 1000)
            self.assertTrue(paths["svg"].read_text().lstrip().startswith("<?xml"))


if __name__ == "__main__":
    unittest.main()
