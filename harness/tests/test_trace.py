"""Tests of capos.trace: parsing kernel trace lines and the Chrome/Perfetto JSON."""
from __future__ import annotations

import json
import tempfile
import unittest
from pathlib import Path

from capos import trace

LOG = """[capos] boot
[strace] T 0 1000 A 0 5 0 1 2 0
[strace] T 0 2000 S 0 0 9 3 0 0
[strace] T 0 2500 E 2 5 10 4 3 0
[strace] T 0 2600 P 0 5 10 0 0 0
[strace] T 1 3000 D 1 5 10 24000000 0 1
[strace] T 0 4000 S 0 0 10 4 0 0
[strace] T 0 6000 S 0 0 0 0 0 0
[strace] T 0 6100 K 0 0 10 6 4 0
[strace] tsc_hz=1000000
"""


class TraceTest(unittest.TestCase):
    def test_parse(self) -> None:
        recs, hz = trace.parse(LOG)
        self.assertEqual(hz, 1_000_000)
        self.assertEqual(len(recs), 8)
        self.assertEqual(recs[0].kind, "A")
        self.assertEqual([r.tsc for r in recs], sorted(r.tsc for r in recs))

    def test_chrome_json_has_a_slice_per_run_and_named_cpus(self) -> None:
        recs, hz = trace.parse(LOG)
        doc = trace.to_chrome(recs, hz or 1)
        ev = doc["traceEvents"]
        runs = [e for e in ev if e["ph"] == "X"]
        self.assertEqual([(e["name"], e["ts"], e["dur"]) for e in runs],
                         [("thread 9", 1000.0, 2000.0), ("thread 10", 3000.0, 2000.0)])
        names = {e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
        self.assertIn("CPU 0", names)
        self.assertIn("CPU 1", names)
        decisions = [e for e in ev if e.get("cat") == "decision"]
        self.assertEqual(decisions[0]["name"], "assign (applied)")

    def test_main_writes_json(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            log = Path(d) / "serial.log"
            log.write_text(LOG)
            out = Path(d) / "t.json"
            self.assertEqual(trace.main([str(log), "-o", str(out)]), 0)
            self.assertIn("traceEvents", json.loads(out.read_text()))
            empty = Path(d) / "empty.log"
            empty.write_text("nothing\n")
            self.assertEqual(trace.main([str(empty), "-o", str(out)]), 1)


if __name__ == "__main__":
    unittest.main()
