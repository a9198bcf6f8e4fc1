"""harness/tests/test_report.py — results.csv round trip, summary table markings, plot."""
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capos import report, stats  # noqa: E402
from capos.stats import Sample  # noqa: E402


def sample(os: str, wl: str, cpus: int, work: int, run: int = 1, accel: str = "tcg-mt") -> Sample:
    return Sample(os=os, workload=wl, cpus=cpus, parallelism=cpus, accel=accel, run=run, work=work,
                  total=work + 10, verified=True, spawn_ready=3 if wl == "thread" else None,
                  shutdown=7 if wl == "thread" else None, tsc_hz=2_500_000_000, log=f"{os}-{wl}-{cpus}.log")


SAMPLES = [sample("linux", "process", 1, 1000), sample("linux", "process", 2, 520),
           sample("linux", "process", 4, 500), sample("capos", "thread", 1, 900),
           sample("capos", "thread", 2, 470), sample("linux", "thread", 1, 800), sample("linux", "thread", 2, 405)]


class Csv(unittest.TestCase):
    def test_round_trip(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            p = report.write_csv(SAMPLES, Path(d) / "results.csv", cores=2)
            header = p.read_text().splitlines()[0].split(",")
            self.assertEqual(header, report.CSV_FIELDS)
            back = report.read_csv(p)
            self.assertEqual(back, SAMPLES)
            rows = p.read_text().splitlines()[1:]
            self.assertEqual(sum(1 for r in rows if ",true," in r and r.split(",")[4] == "4"), 1)
            over = [r.split(",")[report.CSV_FIELDS.index("oversubscribed")] for r in rows]
            self.assertEqual(over, ["false", "false", "true", "false", "false", "false", "false"])


class Summary(unittest.TestCase):
    def test_accelerator_on_every_row_and_oversubscription(self) -> None:
        cases = stats.summarize(SAMPLES)
        md = report.summary_markdown(cases, cores=2)
        rows = [l for l in md.splitlines() if l.startswith("| ") and "---" not in l][1:]
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

    def test_gate_section(self) -> None:
        cases = stats.summarize(SAMPLES)
        gates = stats.gate_1_to_2(cases)
        md = report.summary_markdown(cases, cores=2, gates=gates)
        self.assertIn("## Gate", md)
        self.assertIn("thread", md.split("## Gate")[1])

    def test_host_cores_positive(self) -> None:
        self.assertGreaterEqual(report.host_cores(), 1)


class Plot(unittest.TestCase):
    def test_write_all(self) -> None:
        cases = stats.summarize(SAMPLES)
        with tempfile.TemporaryDirectory() as d:
            paths = report.write_all(SAMPLES, cases, Path(d), host_cores=2)
            self.assertTrue(paths["csv"].exists() and paths["summary"].exists())
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                self.assertNotIn("png", paths)
                return
            self.assertGreater(paths["png"].stat().st_size, 1000)
            self.assertTrue(paths["svg"].read_text().lstrip().startswith("<?xml"))


if __name__ == "__main__":
    unittest.main()
