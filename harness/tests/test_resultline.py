"""harness/tests/test_resultline.py — parsing the benchmark result lines, good and malformed."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capos import resultline  # noqa: E402
from capos.resultline import ProcessScale, ResultLineError, ThreadScale  # noqa: E402

PROC = ("[smp-process-scale] cpus=2 workers=2 range=2..16777216 primes=1077871 "
        "checksum=0x829abeafa2f78f12 elapsed=12345 verified=true")
THREAD = ("[smp-thread-scale] cpus=4 threads=4 blocks=262144 rounds=64 root=0x3087349e2c7db0b0 "
          "spawn_ready=10 work=1000 shutdown=5 total=1015 verified=true")
ENV = "[smp-env] os=linux cpus=2 tsc_hz=2595000000 cycle_source=rdtsc"


class ParseGood(unittest.TestCase):
    def test_process_line(self) -> None:
        r = resultline.parse_line(PROC)
        self.assertEqual(r, ProcessScale(cpus=2, workers=2, lo=2, hi=16777216, primes=1077871,
                                         checksum=0x829abeafa2f78f12, elapsed=12345, verified=True))
        assert isinstance(r, ProcessScale)
        # An old line without total=: total is unknown, not a copy of work.
        self.assertEqual((r.work, r.total, r.parallelism, r.workload), (12345, None, 2, "process"))

    def test_process_line_with_total(self) -> None:
        r = resultline.parse_line(PROC.replace(" verified=", " total=20000 verified="))
        assert isinstance(r, ProcessScale)
        self.assertEqual((r.work, r.total, r.total_cycles), (12345, 20000, 20000))

    def test_thread_line(self) -> None:
        r = resultline.parse_line(THREAD)
        assert isinstance(r, ThreadScale)
        self.assertEqual((r.cpus, r.threads, r.blocks, r.rounds), (4, 4, 262144, 64))
        self.assertEqual(r.root, 0x3087349e2c7db0b0)
        self.assertEqual((r.spawn_ready, r.work, r.shutdown, r.total), (10, 1000, 5, 1015))
        self.assertTrue(r.verified)
        self.assertEqual(r.workload, "thread")

    def test_env_line(self) -> None:
        r = resultline.parse_line(ENV)
        self.assertEqual(r, resultline.Env(os="linux", cpus=2, tsc_hz=2595000000, cycle_source="rdtsc"))

    def test_untagged_and_prefixed(self) -> None:
        self.assertIsNone(resultline.parse_line("[    1.234] Freeing unused kernel memory"))
        self.assertIsNone(resultline.parse_line(""))
        # Serial noise before the tag and CRLF remnants are tolerated.
        self.assertIsInstance(resultline.parse_line("\x1b[0m" + PROC + "\r"), ProcessScale)

    def test_parse_text_keeps_order(self) -> None:
        text = "\n".join(["boot", ENV, PROC, "noise", THREAD, "[linux-init] done status=ok"])
        recs = resultline.parse_text(text)
        self.assertEqual([type(r).__name__ for r in recs], ["Env", "ProcessScale", "ThreadScale"])
        self.assertEqual(len(resultline.results(text)), 2)

    def test_unverified_is_parsed_not_rejected(self) -> None:
        r = resultline.parse_line(PROC.replace("verified=true", "verified=false"))
        assert isinstance(r, ProcessScale)
        self.assertFalse(r.verified)


class ParseMalformed(unittest.TestCase):
    def assertBad(self, line: str, fragment: str) -> None:
        with self.assertRaises(ResultLineError) as cm:
            resultline.parse_line(line, 7)
        self.assertIn(fragment, str(cm.exception))
        self.assertIn("line 7", str(cm.exception))

    def test_missing_field(self) -> None:
        self.assertBad(PROC.replace(" elapsed=12345", ""), "expected fields")

    def test_extra_field(self) -> None:
        self.assertBad(THREAD + " extra=1", "expected fields")

    def test_wrong_order(self) -> None:
        self.assertBad(PROC.replace("cpus=2 workers=2", "workers=2 cpus=2"), "expected cpus=")

    def test_bad_number(self) -> None:
        self.assertBad(PROC.replace("elapsed=12345", "elapsed=12a45"), "elapsed is not an unsigned integer")
        self.assertBad(PROC.replace("elapsed=12345", "elapsed=-5"), "unsigned")

    def test_bad_hex(self) -> None:
        self.assertBad(PROC.replace("checksum=0x829abeafa2f78f12", "checksum=829abeafa2f78f12"), "0x-hex")
        self.assertBad(THREAD.replace("root=0x3087349e2c7db0b0", "root=0x13087349e2c7db0b0"), "0x-hex")

    def test_bad_range(self) -> None:
        self.assertBad(PROC.replace("range=2..16777216", "range=2-16777216"), "range")
        self.assertBad(PROC.replace("range=2..16777216", "range=9..9"), "lo < hi")

    def test_bad_bool(self) -> None:
        self.assertBad(PROC.replace("verified=true", "verified=yes"), "true or false")

    def test_missing_equals(self) -> None:
        self.assertBad(PROC.replace("primes=1077871", "primes"), "expected primes=")

    def test_no_space_after_tag(self) -> None:
        self.assertBad(PROC.replace("] cpus", "]cpus"), "no space")

    def test_truncated_line(self) -> None:
        self.assertBad(THREAD[:60], "expected fields")

    def test_optional_total_misplaced_or_bad(self) -> None:
        self.assertBad(PROC.replace(" elapsed=12345", " total=20000 elapsed=12345"), "expected elapsed=")
        self.assertBad(PROC + " total=20000", "expected fields")
        self.assertBad(PROC.replace(" verified=", " total=2x verified="), "total is not an unsigned integer")
        self.assertBad(PROC.replace(" verified=", " total=1 total=2 verified="), "expected fields")

    def test_work_exceeds_total(self) -> None:
        self.assertBad(PROC.replace(" verified=", " total=100 verified="), "exceeds total")

    def test_zero_workers(self) -> None:
        self.assertBad(PROC.replace("workers=2", "workers=0"), "positive")

    def test_phases_exceed_total(self) -> None:
        self.assertBad(THREAD.replace("total=1015", "total=1000"), "exceed total")

    def test_parse_text_reports_line_number(self) -> None:
        with self.assertRaises(ResultLineError) as cm:
            resultline.parse_text("a\nb\n" + PROC.replace("cpus=2", "cpus=x"))
        self.assertEqual(cm.exception.lineno, 3)


if __name__ == "__main__":
    unittest.main()
