"""The batch benchmark harness runs end to end (small N) and prints every figure it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "benchmarks" / "bench_batch.py"

pytestmark = pytest.mark.slow


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(HARNESS), *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_speed_prints_rates_and_ratios_for_each_path():
    out = run(
        "speed", "--n", "400", "--runs", "1", "--single-n", "40", "--profile", "plain", "acute"
    )
    timed_reference = "reference algorithm not timed" not in out  # Node.js or the package absent
    paths = {"batch", "single"} | ({"reference"} if timed_reference else set())
    for profile in ("plain", "acute"):
        rows = re.findall(
            rf"^{profile}\s+\S+%\s+(\w+)\s+([\d,]+)\s+(\S+) *(\S*)$", out, re.MULTILINE
        )
        assert {path for path, *_ in rows} == paths, out
        assert all(int(rate.replace(",", "")) > 0 for _, rate, *_ in rows)
        if "reference" in paths:
            assert all(ratio.endswith("x") for _, _, ratio, _ in rows)
            # The batch's ratio is taken pass by pass against the reference: with its range.
            spread = {path: spread for path, _, _, spread in rows}["batch"]
            assert re.fullmatch(r"[\d.]+-[\d.]+x", spread), out
    assert "plain 400, with NT 0, with flags 0" in out  # the plain profile: one group


def test_memory_reports_wall_time_and_peak_rss(tmp_path):
    out = run("memory", "--rows", "3000", "--distinct", "500", "--chunk-size", "1000",
              "--file", str(tmp_path / "exams.parquet"), "--output", str(tmp_path / "out.parquet"))  # fmt: skip
    assert "classified 3,000 exam(s), failed 0" in out
    assert re.search(r"peak memory \(max RSS of the main process\) [\d,]+ MiB", out), out
